/**
 * Files sync brought in are not the agent's changes (issue 66.3), black-box: a session that syncs this
 * project (an untracked file the clone lacks) runs an agent that changes nothing → `succeeded (no changes)`,
 * filesChanged 0; a run that then edits one file counts that one alone.
 */
import { assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { makeTestRepo, podReachableRepo } from "./_git_server.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

// does nothing unless the prompt says "edit": then one line into synced.txt (a file sync brought in)
const AGENT = `p=$(cat); case "$p" in edit*) echo more >> synced.txt ;; esac; echo agent: done`;

withSessionWorld(
  "agent runs: files sync brought in before a run are not counted as its changes",
  { ignore: onRealCluster, timeoutMs: 6 * 60_000 },
  async (_t, w) => {
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const served = await podReachableRepo(repo, onRealCluster);
    try {
      await Deno.writeTextFile(
        join(w.cwd, ".kodama.yaml"),
        `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
      );
      await Deno.writeTextFile(join(w.cwd, "synced.txt"), "from the laptop\n");
      const s = await w.k(["start", "n", "--repo", served.url, "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);
      const there = await w.sh("n", "cat synced.txt; git status --porcelain synced.txt");
      assertEquals(there.stdout, "from the laptop\n?? synced.txt\n", there.stderr);

      const run = async (prompt: string) => {
        const r = await w.k(["agent", "run", "n", "--prompt", prompt]);
        assertEquals(r.code, 0, r.stderr);
        const follow = await w.k(["agent", "logs", "n", r.stdout.trim(), "-f"]);
        assertEquals(follow.code, 0, follow.stderr);
        const j = JSON.parse((await w.k(["agent", "status", "n", "-o", "json"])).stdout);
        return j.items.find((i: { id: string }) => i.id === r.stdout.trim());
      };
      const idle = await run("look around");
      assertEquals(idle.state, "succeeded");
      assertEquals(idle.outcome.text, "succeeded (no changes)");
      assertEquals(idle.truth.filesChanged, 0);
      assertEquals(idle.truth.commits, 0);

      const busy = await run("edit it");
      assertEquals(busy.truth.filesChanged, 1);
      assertEquals(busy.outcome.text, "succeeded");
    } finally {
      await purge(w, "n");
      await Deno.remove(repo.bare, { recursive: true }).catch(() => {});
    }
  },
);
