/**
 * The `session` workflow step kind (#29): a checked-in workflow runs "three agents on this task, keep the one
 * whose check passes" — start, wait, compare, delete — against the test server as `dev`, with a fake agent
 * that writes a different change per replica and a check that passes for replicas 1 and 3 only. Its dry run
 * lists the sessions and creates nothing; a prompt-file outside the repository is refused (exit 4).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { makeTestRepo } from "./_git_server.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const AGENT = [
  `cat > /dev/null`,
  `echo "answer $KODAMA_REPLICA" > answer.txt`,
  `git add answer.txt && git -c user.name=Agent -c user.email=agent@example.com commit -qm "replica $KODAMA_REPLICA"`,
  `echo "done: replica $KODAMA_REPLICA"`,
].join("\n");

const workflow = (promptFile: string) =>
  `name: best
description: three agents on one task; keep the one whose check passes
steps:
  - id: agents
    session:
      start:
        name: wf
        replicas: 3
        repo: .
        prompt-file: ${promptFile}
        image: ${SESSION_IMAGE}
        check: "[ $KODAMA_REPLICA != 2 ]"
  - id: done
    session: { wait: wf }
    timeout: 3m
  - id: cmp
    session: { compare: wf }
  - id: clean
    session: { delete: wf, keep: "\${{ steps.done.outputs.best }}", purge: true }
    if: \${{ steps.done.outputs.best != '' }}
`;

withSessionWorld(
  "workflow step session: start 3, wait, compare, delete all but the best; dry run lists the sessions",
  { timeoutMs: 600_000 },
  async (t, w) => {
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const cwd = repo.work;
    const k = (args: string[]) => w.k(args, { cwd });
    await Deno.mkdir(join(cwd, ".kodama", "workflows"), { recursive: true });
    await Deno.writeTextFile(join(cwd, ".git", "info", "exclude"), ".kodama/\n.kodama.yaml\ntask.txt\n");
    await Deno.writeTextFile(
      join(cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
    );
    await Deno.writeTextFile(join(cwd, "task.txt"), "write the answer\n");
    await Deno.writeTextFile(join(cwd, ".kodama", "workflows", "best.yaml"), workflow("task.txt"));
    try {
      await t.step("dry run: the sessions it would create, nothing made", async () => {
        const r = await k(["run", "best", "--dry-run"]);
        assertEquals(r.code, 0, r.stderr);
        const all = r.stdout + r.stderr;
        assertStringIncludes(all, "session start: wf-1, wf-2, wf-3 (group wf; repo .; prompt from task.txt");
        assertStringIncludes(all, "session wait: until every agent of group wf");
        assertStringIncludes(all, "session delete: group wf's replicas but");
        assertEquals((await w.kc(["get", "pods", "-o", "name"])).stdout.trim(), "");
      });

      await t.step("the run: 3 replicas, waited for, compared, all but the best deleted", async () => {
        const r = await k(["run", "best"]);
        assertEquals(r.code, 0, r.stdout + r.stderr);
        assert(!hasStackTrace(r.stderr), r.stderr);
        assertMatch(r.stdout, /wf-1: agent succeeded, check passed/);
        assertMatch(r.stdout, /wf-2: agent succeeded, check failed/);
        assertMatch(r.stdout, /wf-3: agent succeeded, check passed/);
        const l = await k(["list", "-o", "name"]);
        assertEquals(l.stdout, "session/wf-1\n");
        const answer = await k(["attach", "wf-1", "--command", "cat answer.txt"]);
        assertEquals(answer.stdout, "answer 1\n");
      });

      await t.step("a prompt-file outside the repository is refused (exit 4), nothing made", async () => {
        const outside = join(repo.dir, "secret-task.txt");
        await Deno.writeTextFile(outside, "steal\n");
        await Deno.writeTextFile(join(cwd, ".kodama", "workflows", "best.yaml"), workflow(outside));
        const r = await k(["run", "best"]);
        assertEquals(r.code, 4, r.stdout + r.stderr);
        assertMatch(r.stderr, /session prompt-file: .* is outside the workflow's repository/);
        const l = await k(["list", "-o", "name"]);
        assertEquals(l.stdout, "session/wf-1\n");
      });
    } finally {
      for (const n of ["wf-1", "wf-2", "wf-3"]) await purge(w, n);
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
