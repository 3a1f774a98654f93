/**
 * A trusted workflow runs exactly what was trusted (#61 point 4): a granted `local` step sources a pinned
 * repo file while a parallel `cp` step brings another version of it from a pod. The granted step reads the
 * pinned content (the pinned files are held against kodama's writes for its life: the copy is refused) or
 * fails — it never runs the pod's content.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest(
  "workflows: a parallel cp never changes what a granted step sources",
  { seed: "demo" },
  async (_t, c) => {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-pinrace-" });
    const env = { KUBECONFIG: c.kubeconfig, KODAMA_HOME: join(tmp, "home") };
    const repo = join(tmp, "repo");
    try {
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(join(repo, "tools"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
      await Deno.writeTextFile(join(repo, "tools", "lib.sh"), "VALUE=pinned-content\n");
      // the granted script says it started, waits for the copy to have been tried, then sources lib.sh
      await Deno.writeTextFile(
        join(repo, "tools", "build.sh"),
        'touch .started\nwhile [ ! -e .tried ]; do sleep 0.05; done\n. ./tools/lib.sh\necho "ran: $VALUE"\n',
      );
      const pod = ["exec", "-n", "weka-operator-system", "--pod", "weka-drive-0", "-c", "weka", "--"];
      const put = await runKodama([...pod, "sh", "-c", "echo 'VALUE=the-pods-content' > /tmp/evil-lib.sh"], {
        env,
        cwd: repo,
      });
      assertEquals(put.code, 0, put.stderr);
      await Deno.writeTextFile(
        join(repo, ".kodama", "workflows", "race.yaml"),
        `permissions: { run: [sh] }
targets:
  d: { namespace: weka-operator-system, match: weka-drive-0, container: weka, select: one }
steps:
  - parallel:
      steps:
        - local: { command: [sh, ./tools/build.sh] }
        - parallel:
            limit: 1
            steps:
              - local: { command: [sh, -c, "while [ ! -e .started ]; do sleep 0.05; done"] }
              - cp: { target: d, from: "pod:/tmp/evil-lib.sh", to: ./tools/lib.sh }
                continue-on-error: true
              - local: { command: [sh, -c, "touch .tried"] }
`,
      );
      const r = await runKodama(["run", "race", "--trust"], { env, cwd: repo, timeoutMs: 120_000 });
      assert(!hasStackTrace(r.stderr), r.stderr);
      const all = r.stdout + r.stderr;
      assert(!all.includes("ran: the-pods-content"), `the pod's content ran:\n${all}`);
      // the copy was held off while the granted step read the pinned file
      assertStringIncludes(all, "ran: pinned-content");
      assertStringIncludes(all, "a granted step of the workflow is reading it now");
      assertEquals(await Deno.readTextFile(join(repo, "tools", "lib.sh")), "VALUE=pinned-content\n");
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);
