/**
 * `start NAME --replace` keeps what was recorded (issue 66.2), black-box on the test server: a session
 * started `--repo . --no-sync` with a commit on its branch in the pod, replaced with only a changed env file,
 * keeps sync off, its pod on the session branch with that commit, the laptop's tree as it was, and takes
 * the new variable.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

withSessionWorld(
  "sessions: start --replace keeps the recorded repo, branch and --no-sync; a changed env file is taken",
  { ignore: onRealCluster, timeoutMs: 5 * 60_000 },
  async (_t, w) => {
    const dir = await Deno.makeTempDir({ prefix: "kodama-repo-" });
    const repo = await makeTestRepo(dir);
    const env1 = join(dir, "one.env"), env2 = join(dir, "two.env");
    await Deno.writeTextFile(env1, "FOO=first\n");
    await Deno.writeTextFile(env2, "FOO=second\n");
    const status = () => gitIn(["status", "--porcelain"], repo.work);
    try {
      const before = await status();
      const s = await w.k(
        ["start", "r", "--repo", ".", "--no-sync", "--image", SESSION_IMAGE, "--env-file", env1],
        { cwd: repo.work },
      );
      assertEquals(s.code, 0, s.stderr);
      // the agent's commit on the session branch, in the pod
      const c = await w.sh(
        "r",
        "echo work > agent.txt && git add agent.txt && git -c user.name=a -c user.email=a@b commit -qm agent-work && git branch --show-current",
      );
      assertEquals(c.code, 0, c.stderr);
      const branch = c.stdout.trim();
      assertMatch(branch, /^kodama\/r-/);

      const r = await w.k(["start", "r", "--replace", "--env-file", env2], { cwd: repo.work });
      assertEquals(r.code, 0, r.stderr);
      assert(!hasStackTrace(r.stderr), r.stderr);
      assertMatch(
        r.stderr,
        /^replacing session r: kept --repo \S+, branch kodama\/r-\S+, --no-sync, image /m,
      );
      assertStringIncludes(r.stderr, "(give a flag to change one)");
      assertStringIncludes(r.stderr, "workspace kept (no new clone)");

      const pod = await w.sh("r", 'git branch --show-current; git log -1 --format=%s; echo "$FOO"');
      assertEquals(pod.code, 0, pod.stderr);
      assertEquals(pod.stdout, `${branch}\nagent-work\nsecond\n`);
      // sync stayed off: nothing synced, nothing brought back into the local tree
      assert(!(await exists(join(w.home, "sync", "r", "sync.json"))), "a sync was set up");
      assertEquals(await status(), before);
      assert(!(await exists(join(repo.work, "agent.txt"))));
      const l = await w.k(["list"]);
      assertMatch(l.stdout, new RegExp(`^r\\s+.*${branch.replace("/", "\\/")}`, "m"));
    } finally {
      await purge(w, "r");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
