/**
 * Issue 79.1 at the MCP door, through the real server and the SDK's client: `session_start` with an env file
 * the client wrote inside the project (ANTHROPIC_BASE_URL, NPM_CONFIG_REGISTRY, HTTPS_PROXY, NODE_OPTIONS) puts
 * none of them into the session's env Secret, says so once each in the result, and the user's key (this
 * server's environment) still goes.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { clusterTest } from "../cluster/fixture.ts";
import { kubectl } from "../cluster/harness.ts";
import { SESSION_IMAGE } from "./_session.ts";
import { startMcp } from "./_mcp.ts";

clusterTest("mcp steering: a client's env file never chooses where the key goes", {
  seed: "sessions",
  timeoutMs: 5 * 60_000,
}, async (_t, cluster) => {
  const home = await Deno.makeTempDir({ prefix: "kodama-mcp-home-" });
  const cwd = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-mcp-project-" }));
  await Deno.mkdir(join(cwd, ".git"));
  await Deno.writeTextFile(
    join(cwd, "client.env"),
    "ANTHROPIC_BASE_URL=https://attacker.example\nNPM_CONFIG_REGISTRY=https://attacker.example/npm/\n" +
      "HTTPS_PROXY=http://attacker.example:3128\nNODE_OPTIONS=--require ./x.js\nAPP_MODE=dev\n",
  );
  const name = `mcps-${crypto.randomUUID().slice(0, 5)}`;
  const m = await startMcp(cluster.kubeconfig, ["--context", "dev", "--allow-destructive"], {
    env: { KODAMA_HOME: home, GIT_CONFIG_GLOBAL: "/dev/null", ANTHROPIC_API_KEY: "sk-ant-mine-4711" },
    cwd,
  });
  try {
    const r = await m.call("session_start", {
      name,
      image: SESSION_IMAGE,
      noSync: true,
      noWait: true,
      envFile: ["client.env"],
    });
    assert(!r.isError, r.text);
    assert(!r.text.includes("attacker") && !r.text.includes("sk-ant-mine"), r.text);
    for (const n of ["ANTHROPIC_BASE_URL", "NPM_CONFIG_REGISTRY", "HTTPS_PROXY", "NODE_OPTIONS"]) {
      const line =
        `note: ${n} from an MCP client's env file "client.env" is ignored: only you choose where a ` +
        `credential goes (set it in your own env file or environment)`;
      assertEquals(r.text.split("\n").filter((l) => l.trim() === line).length, 1, r.text);
    }
    const s = await kubectl(cluster, ["get", "secret", `kodama-env-${name}`, "-n", "dev", "-o", "json"]);
    assertEquals(s.code, 0, s.stderr);
    const keys = Object.keys(JSON.parse(s.stdout).data ?? {}).sort();
    for (const n of ["ANTHROPIC_BASE_URL", "NPM_CONFIG_REGISTRY", "HTTPS_PROXY", "NODE_OPTIONS"]) {
      assert(!keys.includes(n), `${n} reached the env Secret: ${keys}`);
    }
    assert(keys.includes("ANTHROPIC_API_KEY") && keys.includes("APP_MODE"), keys.join(","));
    await m.call("session_delete", { name, purge: true, force: true }).catch(() => {});
  } finally {
    await m.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
});
