/**
 * Issue 79 defect 5, black-box: a repository's template that places the session pod on control-plane nodes
 * (a toleration of their taint, a node selector on their role) or chooses a priority class stops `start`
 * with exit 4 naming the key, before anything is created; the same placement by the user's flags starts.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { SESSION_IMAGE, withSessionWorld } from "./_session.ts";

withSessionWorld(
  "placement: a repository's template cannot choose control-plane nodes or a priority class",
  { ignore: onRealCluster, timeoutMs: 180_000 },
  async (t, w) => {
    const repo = await Deno.makeTempDir({ prefix: "kodama-cp-repo-" });
    await Deno.mkdir(join(repo, ".git"));
    await Deno.mkdir(join(repo, ".kodama", "templates"), { recursive: true });
    const start = (template: string, more: string[] = []) =>
      w.k([
        "start",
        "cp",
        "--template",
        template,
        "--image",
        SESSION_IMAGE,
        "--no-sync",
        "--dry-run",
        "-o",
        "yaml",
        ...more,
      ], { cwd: repo });
    try {
      const cases: [string, string, string][] = [
        ["cp", 'tolerations: ["node-role.kubernetes.io/control-plane:NoSchedule"]', "tolerations"],
        ["master", 'tolerations: ["node-role.kubernetes.io/master:NoExecute"]', "tolerations"],
        ["sel", 'nodeSelector: {node-role.kubernetes.io/control-plane: ""}', "nodeSelector"],
        ["crit", "priorityClass: system-node-critical", "priorityClass"],
        ["cluster", "priorityClass: system-cluster-critical", "priorityClass"],
      ];
      for (const [name, line] of cases) {
        await Deno.writeTextFile(
          join(repo, ".kodama", "templates", `${name}.yaml`),
          `scheduling:\n  ${line}\n`,
        );
      }
      await t.step("each is refused: exit 4, one line naming the key and value", async () => {
        for (const [name, , key] of cases) {
          const r = await start(name);
          assertEquals(r.code, 4, `${name}: ${r.stdout}${r.stderr}`);
          assertStringIncludes(r.stderr, `template "${name}" (the repository's) asks for ${key} "`);
          assert(!hasStackTrace(r.stderr), r.stderr);
          assertEquals(r.stdout, "");
        }
      });
      await t.step("the user's flags choose the same: the pod asks for it", async () => {
        const r = await start("crit", ["--priority-class", "system-node-critical"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "priorityClassName: system-node-critical");
      });
    } finally {
      await Deno.remove(repo, { recursive: true }).catch(() => {});
    }
  },
);
