/**
 * The sandbox and trust, end to end through `kodama run` against the test cluster: every probe is
 * refused by Deno with a one-line step error until the workflow declares the permission and is
 * trusted; scripts reach the cluster only through the host API.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

const PROBE = `import { defineStep } from "kodama/sdk";
export default defineStep(async ({ inputs, host }) => {
  const arg = String(inputs.arg ?? "");
  let out: Record<string, unknown>;
  switch (inputs.probe) {
    case "read": out = { bytes: (await Deno.readTextFile(arg)).length }; break;
    case "readdir": { let n = 0; for await (const _ of Deno.readDir(arg)) n++; out = { entries: n }; break; }
    case "env": out = { value: Deno.env.get(arg) }; break;
    case "fetch": out = { body: await (await fetch(arg)).text() }; break;
    case "spawn": out = { code: (await new Deno.Command(arg, { args: ["--version"], stdout: "null" }).output()).code }; break;
    case "cluster": {
      const pods = await host.listPods("drive");
      const r = await host.exec(pods[0], ["hostname"]);
      out = { pods: pods.map((p) => p.name), host: r.stdout.trim() };
      break;
    }
    default: throw new Error("unknown probe");
  }
  console.log(inputs.probe + " " + JSON.stringify(out));
  return out;
});
`;

function steps(url: string, home: string): string {
  const s = (id: string, probe: string, arg: string) =>
    `  - id: ${id}\n    if: always()\n    script: { module: ../scripts/probe.ts, with: { probe: ${probe}, arg: "${arg}" } }\n`;
  return "steps:\n" +
    s("read-kube", "read", `${home}/.config/gcloud/credentials.json`) +
    s("read-ssh", "readdir", `${home}/.ssh`) +
    s("read-env", "env", "SECRET_TOKEN") +
    s("fetch", "fetch", url) +
    s("spawn-curl", "spawn", "curl") +
    `  - id: local-curl\n    if: always()\n    local: { command: [curl, --version] }\n` +
    s("cluster", "cluster", "");
}

async function denoDir(): Promise<string> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(o.stdout)).denoDir;
}

clusterTest(
  "workflows: sandboxed script and local steps, permissions and trust",
  { seed: "demo" },
  async (t, cluster) => {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-sandbox-" });
    const home = join(tmp, "home");
    const repo = join(tmp, "repo");
    const ac = new AbortController();
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
      () => new Response("hello from the test server"),
    );
    const port = server.addr.port;
    const url = `http://127.0.0.1:${port}/`;
    const env = {
      KUBECONFIG: cluster.kubeconfig,
      HOME: home,
      KODAMA_HOME: join(home, ".kodama"),
      DENO_DIR: await denoDir(),
      SECRET_TOKEN: "s3cret",
    };
    try {
      await Deno.mkdir(join(home, ".kube"), { recursive: true });
      await Deno.mkdir(join(home, ".ssh"), { recursive: true });
      await Deno.copyFile(cluster.kubeconfig, join(home, ".kube", "config"));
      await Deno.mkdir(join(home, ".config", "gcloud"), { recursive: true });
      await Deno.writeTextFile(join(home, ".config", "gcloud", "credentials.json"), '{"token":"not real"}');
      await Deno.writeTextFile(join(home, ".ssh", "id_ed25519"), "not a real key\n");
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
      await Deno.writeTextFile(join(repo, ".kodama", "scripts", "probe.ts"), PROBE);
      const targets = "targets:\n  drive: { namespace: weka-operator-system, match: drive, select: all }\n";
      await Deno.writeTextFile(join(repo, ".kodama", "workflows", "denied.yaml"), targets + steps(url, home));
      const allowedFile = join(repo, ".kodama", "workflows", "allowed.yaml");
      const allowedText = targets +
        `permissions:\n  read: ["~/.config/gcloud/credentials.json", "~/.ssh"]\n  env: [SECRET_TOKEN]\n  net: ["127.0.0.1:${port}"]\n  run: [curl]\n` +
        steps(url, home);
      await Deno.writeTextFile(allowedFile, allowedText);

      await t.step("without permissions every probe is refused with a one-line step error", async () => {
        const r = await runKodama(["run", "denied"], { env, cwd: repo });
        assertEquals(r.code, 1, r.stderr);
        const want = [
          `✗ read-kube`,
          `denied: read access to "${home}/.config/gcloud/credentials.json" (add it to permissions.read)`,
          `✗ read-ssh`,
          `denied: read access to "${home}/.ssh" (add it to permissions.read)`,
          `✗ read-env`,
          `denied: env access to "SECRET_TOKEN" (add it to permissions.env)`,
          `✗ fetch`,
          `denied: net access to "127.0.0.1:${port}" (add it to permissions.net)`,
          `✗ spawn-curl`,
          `denied: run access to "curl" (add it to permissions.run)`,
          `✗ local-curl`,
          `denied: run access to "curl" (add it to permissions.run)`,
        ];
        for (let i = 0; i < want.length; i += 2) {
          const line = r.stderr.split("\n").find((l) => l.startsWith(want[i] + " "));
          assert(line, `no line for ${want[i]} in:\n${r.stderr}`);
          assertStringIncludes(line, want[i + 1]);
        }
        assertStringIncludes(
          r.stderr,
          `failed at step "read-kube": denied: read access to "${home}/.config/gcloud/credentials.json"`,
        );
        // the cluster is reachable through the host API only, scoped to the workflow's targets
        assertStringIncludes(
          r.stdout,
          `cluster {"pods":["weka-drive-0","weka-drive-1","weka-drive-2"],"host":"weka-drive-0"}`,
        );
        assertStringIncludes(r.stderr, "✓ cluster");
        assert(!hasStackTrace(r.stderr), r.stderr);
        assert(!r.stdout.includes("s3cret"));
      });

      await t.step(
        "a repo workflow with permissions is refused without a TTY and without --trust",
        async () => {
          const r = await runKodama(["run", "allowed"], { env, cwd: repo });
          assertEquals(r.code, 2, r.stderr);
          assertStringIncludes(
            r.stderr,
            "is not trusted; it asks for permissions: read: ~/.config/gcloud/credentials.json, ~/.ssh; env: SECRET_TOKEN",
          );
          assertStringIncludes(r.stderr, "--trust");
          assertEquals(r.stdout, "");
        },
      );

      await t.step("declared and trusted, the same probes succeed", async () => {
        const r = await runKodama(["run", "allowed", "--trust"], { env, cwd: repo });
        assertEquals(r.code, 0, r.stderr);
        const kubeBytes =
          (await Deno.readTextFile(join(home, ".config", "gcloud", "credentials.json"))).length;
        assertStringIncludes(r.stdout, `read {"bytes":${kubeBytes}}`);
        assertStringIncludes(r.stdout, `readdir {"entries":1}`);
        // the script read it (permissions.env); kodama prints values from the environment as ***
        assertStringIncludes(r.stdout, `env {"value":"***"}`);
        assert(!r.stdout.includes("s3cret"), r.stdout);
        assertStringIncludes(r.stdout, `fetch {"body":"hello from the test server"}`);
        assertStringIncludes(r.stdout, `spawn {"code":0}`);
        assertStringIncludes(r.stdout, "curl ");
        // trusted now: runs again without --trust
        const again = await runKodama(["run", "allowed"], { env, cwd: repo });
        assertEquals(again.code, 0, again.stderr);
      });

      await t.step("after editing a trusted workflow it asks again", async () => {
        await Deno.writeTextFile(allowedFile, allowedText + "# an innocent-looking edit\n");
        const r = await runKodama(["run", "allowed"], { env, cwd: repo });
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "(changed since you trusted it)");
        // editing the script it runs counts as an edit too
        await runKodama(["run", "allowed", "--trust"], { env, cwd: repo });
        await Deno.writeTextFile(join(repo, ".kodama", "scripts", "probe.ts"), PROBE + "// edited\n");
        const r2 = await runKodama(["run", "allowed"], { env, cwd: repo });
        assertEquals(r2.code, 2, r2.stderr);
      });
    } finally {
      ac.abort();
      await server.finished;
      await Deno.remove(tmp, { recursive: true });
    }
  },
);
