/**
 * `kodama mcp` through the published MCP Inspector's CLI mode (`@modelcontextprotocol/inspector --cli`), a
 * client kodama did not write: `tools/list` and one `tools/call`, against the test server. `.ci/run`
 * installs `mcp-inspector`; elsewhere the test uses one on PATH or in KODAMA_MCP_INSPECTOR, else `npx -y`.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { clusterTest } from "../cluster/fixture.ts";
import { trackChild } from "../_timeout.ts";
import { CONFIG, MAIN } from "./_run.ts";

export const INSPECTOR = "@modelcontextprotocol/inspector@2.12.0";

function onPath(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/** The inspector's command line: an installed one, else npx (which downloads it once into npm's cache). */
function inspector(): string[] {
  const given = Deno.env.get("KODAMA_MCP_INSPECTOR") || onPath("mcp-inspector");
  return given ? [given] : ["npx", "-y", INSPECTOR];
}

async function inspect(
  kubeconfig: string,
  home: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const [cmd, ...pre] = inspector();
  const child = trackChild(
    new Deno.Command(cmd, {
      args: [
        ...pre,
        "--cli",
        ...args,
        "--",
        Deno.execPath(),
        "run",
        "-A",
        "--no-prompt",
        "--config",
        CONFIG,
        MAIN,
        "mcp",
        "--kubeconfig",
        kubeconfig,
      ],
      env: { NO_COLOR: "1", KODAMA_HOME: home, DENO_NO_UPDATE_CHECK: "1", npm_config_yes: "true" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  const o = await child.output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

clusterTest("mcp: the MCP Inspector CLI lists kodama's tools and calls one", {
  seed: "sessions",
  pods: 3,
  timeoutMs: 8 * 60_000,
}, async (t, cluster) => {
  const home = await Deno.makeTempDir({ prefix: "kodama-mcp-inspector-" });
  try {
    await t.step("tools/list", async () => {
      const r = await inspect(cluster.kubeconfig, home, ["--method", "tools/list"]);
      assertEquals(r.code, 0, r.err);
      const names = (JSON.parse(r.out).tools as { name: string }[]).map((x) => x.name);
      for (const n of ["pods_list", "pods_exec", "pods_logs", "session_start", "workflow_run"]) {
        assert(names.includes(n), `${n} in ${names.join(", ")}`);
      }
      assert(!names.includes("session_delete"), "the default tier has no session_delete");
    });
    await t.step("tools/call pods_list", async () => {
      const r = await inspect(cluster.kubeconfig, home, [
        "--method",
        "tools/call",
        "--tool-name",
        "pods_list",
        "--tool-arg",
        "namespace=load",
      ]);
      assertEquals(r.code, 0, r.err);
      const res = JSON.parse(r.out);
      assert(!res.isError, r.out);
      assertEquals(res.structuredContent.count, cluster.loadPods);
      assertEquals(res.structuredContent.pods[0].name, "load-000");
    });
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
