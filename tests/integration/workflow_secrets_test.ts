/**
 * Values from Kubernetes Secrets never reach a run's output in clear (issue 10): a target pod that
 * reads a Secret through env and a mounted file, an `exec` step and a script's `host.exec` that
 * print them, a streaming command that prints one in two writes, a step name built from one — all
 * `***`, while later steps still see the real value. A Secret kodama cannot read is named once.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { busyboxPod } from "./_helpers.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { clusterTest } from "../cluster/fixture.ts";

const PASSWORD = "S3cr3t-Pa55-9f1e";
const TOKEN = "tok-ABCDEF-123456";
const NS = "dev";

clusterTest(
  "workflow output: values of the Secrets the target pods use are redacted, also split across writes",
  { seed: "sessions" },
  async (t, cluster) => {
    const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
    const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-secrets-" });
    const repo = join(tmp, "repo");
    const env = { KUBECONFIG: cluster.kubeconfig, KODAMA_HOME: join(tmp, "home") };
    const write = (rel: string, text: string) => Deno.writeTextFile(join(repo, ".kodama", rel), text);
    const run = (args: string[]) => runKodama(["run", ...args], { env, cwd: repo });
    const secret = `sandbox-creds-${crypto.randomUUID().slice(0, 6)}`;
    const podName = `sandbox-secret-user-${crypto.randomUUID().slice(0, 6)}`;
    const b64 = (s: string) => btoa(s);
    try {
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
      await kube.request(
        { verb: "create", resource: "secrets", namespace: NS },
        "POST",
        `/api/v1/namespaces/${NS}/secrets`,
        {
          body: {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: secret },
            data: { password: b64(PASSWORD), token: b64(TOKEN) },
          },
        },
      );
      const p = busyboxPod(podName, { labels: { test: "workflow-secrets" } });
      p.spec!.containers[0].env = [{
        name: "PASSWORD",
        valueFrom: { secretKeyRef: { name: secret, key: "password" } },
      }];
      p.spec!.containers[0].volumeMounts = [{ name: "creds", mountPath: "/etc/creds", readOnly: true }];
      p.spec!.volumes = [{ name: "creds", secret: { secretName: secret } }];
      await kube.createObject("pods", NS, p);
      await waitForPods(kube, { namespace: NS, selector: "test=workflow-secrets" }, {
        for: "ready",
        timeoutMs: 60_000,
      });

      await write(
        "scripts/peek.ts",
        `export default async ({ host }) => {
  const [pod] = await host.listPods("p");
  const r = await host.exec(pod, ["cat", "/etc/creds/token"]);
  console.log("script saw " + r.stdout.trim());
  return { token: r.stdout.trim() };
};
`,
      );
      await write(
        "workflows/leak.yaml",
        `targets:
  p: { namespace: ${NS}, pod: ${podName} }
steps:
  - id: env
    exec: { target: p, command: [sh, -c, 'echo "pw=$PASSWORD"; echo "file=$(cat /etc/creds/token)"'] }
  - id: split
    # fixed: the secret in two writes a second apart, so it reaches the redactor split (the test, not a wait)
    exec: { target: p, command: [sh, -c, 'printf "%s" "\${PASSWORD%%Pa55*}"; sleep 1; printf "%s\\n" "Pa55\${PASSWORD#*Pa55}"'] }
  - id: peek
    script: { module: ../scripts/peek.ts }
  - name: "named \${{ steps.peek.outputs.token }}"
    if: contains(steps.env.outputs.stdout, 'Pa55-9f1e')
    exec: { target: p, command: [echo, "outputs keep the real value"] }
  - exec: { target: p, command: [sh, -c, 'echo "b64=$(printf %s "$PASSWORD" | base64)"; echo "$PASSWORD" >&2; exit 3'] }
`,
      );
      await t.step("exec, host.exec, a split write, a step name, stderr and an error: all ***", async () => {
        const r = await run(["leak"]);
        assertEquals(r.code, 3, r.stderr);
        for (const s of [PASSWORD, TOKEN, "S3cr3t", "9f1e", b64(PASSWORD)]) {
          assert(!r.stdout.includes(s) && !r.stderr.includes(s), `${s} leaked:\n${r.stdout}\n${r.stderr}`);
        }
        assertStringIncludes(r.stdout, "pw=***\nfile=***\n");
        assertStringIncludes(r.stdout, "***\n"); // the split one
        assertStringIncludes(r.stdout, "script saw ***\n");
        assertStringIncludes(r.stdout, "outputs keep the real value\n");
        assertStringIncludes(r.stderr, "named ***");
        assertStringIncludes(r.stdout, "b64=***\n");
        assert(!hasStackTrace(r.stderr), r.stderr);
      });

      await t.step("a local command that streams a secret in two writes: still ***", async () => {
        await write(
          "workflows/stream.yaml",
          `permissions: { run: [sh] }
targets:
  p: { namespace: ${NS}, pod: ${podName} }
steps:
  - id: env
    exec: { target: p, command: [sh, -c, 'printf %s "$PASSWORD"'] }
  - local:
      # fixed: the secret in two writes a second apart, so it reaches the redactor split (the test, not a wait)
      command: [sh, -c, 'printf "%s" "\${PW%%Pa55*}"; sleep 1; printf "%s|\\n" "Pa55\${PW#*Pa55}"; printf "%s" "$PW" >&2']
    env: { PW: "\${{ steps.env.outputs.stdout }}" }
`,
        );
        const r = await run(["stream", "--trust"]);
        assertEquals(r.code, 0, r.stderr);
        for (const s of [PASSWORD, "S3cr3t", "9f1e"]) {
          assert(!r.stdout.includes(s) && !r.stderr.includes(s), `${s} leaked:\n${r.stdout}\n${r.stderr}`);
        }
        assertStringIncludes(r.stdout, "***|\n");
      });

      await t.step("a Secret kodama cannot read is named once; the run goes on", async () => {
        const missing = `${secret}-gone`;
        const other = busyboxPod(`${podName}-opt`, { labels: { test: "workflow-secrets-opt" } });
        other.spec!.containers[0].env = [{
          name: "X",
          valueFrom: { secretKeyRef: { name: missing, key: "x", optional: true } },
        }];
        await kube.createObject("pods", NS, other);
        await waitForPods(kube, { namespace: NS, selector: "test=workflow-secrets-opt" }, {
          for: "ready",
          timeoutMs: 60_000,
        });
        await write(
          "workflows/opt.yaml",
          `targets:\n  o: { namespace: ${NS}, pod: ${podName}-opt }\nsteps:\n  - exec: { target: o, command: [echo, ran] }\n  - exec: { target: o, command: [echo, again] }\n`,
        );
        const r = await run(["opt"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "ran\nagain\n");
        assertEquals(r.stderr.split(`cannot read Secret ${NS}/${missing}`).length, 2, r.stderr);
      });
    } finally {
      for (const name of [podName, `${podName}-opt`]) {
        await kube.deleteObject("pods", NS, name, { gracePeriodSeconds: 0 }).catch(() => {});
      }
      await kube.request(
        { verb: "delete", resource: "secrets", namespace: NS, name: secret },
        "DELETE",
        `/api/v1/namespaces/${NS}/secrets/${secret}`,
      ).catch(() => {});
      kube.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);
