/**
 * Ctrl-C during `kodama run` ends the run with 130 whatever kind of step it hits — cluster steps (exec
 * in one pod and fanned out, wait, logs -f), local, script, a called workflow and a parallel group — the
 * step is shown interrupted (never "ok"), later steps are skipped, and `always()` steps still run.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { DEMO } from "../cluster/harness.ts";
import { hasStackTrace, spawnKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

const [API0] = DEMO.apiPods;

/** The step under test, by kind: each blocks for far longer than the test waits. */
const BLOCKING: Record<string, string> = {
  "exec (one pod)": `exec: { target: one, command: [sleep, "60"] }`,
  "exec (fan-out)": `exec: { target: all, command: [sleep, "60"] }`,
  wait: `wait: { target: one, for: deleted }`,
  "logs (follow)": `logs: { target: one, follow: true }\n    timeout: 5m`,
  local: `local: { command: [sleep, "60"] }`,
  script: `script: { module: ../scripts/hang.ts }`,
  workflow: `workflow: { name: child }`,
  parallel: `parallel:
      steps:
        - exec: { target: one, command: [sleep, "60"] }
        - local: { command: [sleep, "60"] }`,
};

clusterTest(
  "Ctrl-C in every step kind ends kodama run with 130; always() steps still run",
  { seed: "demo" },
  async (t, cluster) => {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-int-" });
    const repo = join(tmp, "repo");
    const wfDir = join(repo, ".kodama", "workflows");
    const env = { KUBECONFIG: cluster.kubeconfig, KODAMA_HOME: join(tmp, "home") };
    try {
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(wfDir, { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
      await Deno.writeTextFile(
        join(repo, ".kodama", "scripts", "hang.ts"),
        "export default () => new Promise(() => {});\n",
      );
      await Deno.writeTextFile(
        join(wfDir, "child.yaml"),
        `targets:
  one: { namespace: prod, pod: ${API0} }
steps:
  - exec: { target: one, command: [sleep, "60"] }
`,
      );
      for (const [kind, step] of Object.entries(BLOCKING)) {
        await t.step(kind, async () => {
          const name = `int-${kind.replace(/\W+/g, "-").replace(/-$/, "")}`;
          await Deno.writeTextFile(
            join(wfDir, `${name}.yaml`),
            `targets:
  one: { namespace: prod, pod: ${API0} }
  all: { namespace: prod, match: api, select: all }
permissions:
  run: [sleep]
steps:
  - id: long
    ${step}
  - id: after
    exec: { target: one, command: [echo, after-ran] }
  - id: cleanup
    if: always()
    exec: { target: one, command: [echo, cleanup-ran] }
`,
          );
          const child = spawnKodama(["run", name, "--trust"], { env, cwd: repo });
          const errText = (async () => {
            let s = "";
            for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
              s += c;
              // the step is under way: Ctrl-C now
              if (s.includes("▶ long") && !s.includes("\u0000sent")) {
                s += "\u0000sent";
                setTimeout(() => child.kill("SIGINT"), 300);
              }
            }
            return s.replace("\u0000sent", "");
          })();
          const out = new Response(child.stdout).text();
          const { code } = await child.status;
          const stderr = await errText;
          const stdout = await out;
          assertEquals(code, 130, stderr);
          assertStringIncludes(stdout, "cleanup-ran");
          assert(!stdout.includes("after-ran"), stdout);
          assertStringIncludes(stderr, "✗ long");
          assertStringIncludes(stderr, "interrupted");
          assert(!stderr.includes("✓ long"), stderr);
          assertStringIncludes(stderr, "- after skipped");
          assertStringIncludes(stderr, "✓ cleanup");
          // quiet: no error line repeating what the display shows, no stack trace
          assert(!/^error: workflow/m.test(stderr), stderr);
          assert(!hasStackTrace(stderr), stderr);
        });
      }
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);
