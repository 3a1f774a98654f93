/**
 * The session file `~/.kodama/sessions/NAME.yaml` carries the contract's fields (seeds/002: repo, branch,
 * baseBranch, autoBranch, podName, workspacePVC, claudeHomePVC, commitHash, sync, status, createdAt,
 * updatedAt, resources), and `status`/`updatedAt` follow what every command that looks at the session sees.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { parse } from "yaml";
import { onRealCluster } from "../cluster/harness.ts";
import { makeTestRepo } from "./_git_server.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

// deno-lint-ignore no-explicit-any
type State = Record<string, any>;

withSessionWorld(
  "session file: the contract's fields, kept current by the commands that look",
  { timeoutMs: 300_000 },
  async (t, w) => {
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const file = join(w.home, "sessions", "st.yaml");
    const read = async () => parse(await Deno.readTextFile(file)) as State;
    const synced = await Deno.makeTempDir({ prefix: "kodama-synced-" });
    await Deno.writeTextFile(join(synced, "notes.txt"), "hi\n");
    try {
      await t.step("start --repo --base-branch --sync: every field of the contract", async () => {
        const r = await w.k([
          "start",
          "st",
          "--repo",
          repo.bare,
          "--base-branch",
          "main",
          "--sync",
          synced,
          "--sync-mode",
          "one-way-local",
          "--image",
          SESSION_IMAGE,
          "--cpu",
          "500m",
          "--memory",
          "1Gi",
        ]);
        assertEquals(r.code, 0, r.stderr);
        const s = await read();
        assertEquals(s.name, "st");
        assertEquals(s.namespace, "dev");
        assertEquals(s.repo, repo.bare);
        assertMatch(s.branch, /^kodama\/st-\d{14}$/);
        assertEquals(s.baseBranch, "main");
        assertEquals(s.autoBranch, true);
        assertEquals(s.commitHash, repo.main);
        assertEquals(s.podName, "kodama-st");
        assertEquals(s.workspacePVC, "kodama-workspace-st");
        assertEquals(s.claudeHomePVC, "kodama-claude-home-st");
        assertEquals(s.sync, { enabled: true, localPath: synced, mode: "one-way-local" });
        assertEquals(s.status, "Running");
        assertEquals(s.resources, { cpu: "500m", memory: "1Gi" });
        // who started it, as the API server says (SelfSubjectReview), else the client certificate's CN
        assertEquals(s.owner, "dev");
        const l = await w.k(["list"]);
        assertMatch(l.stdout, /^NAME\s+NAMESPACE\s+STATUS\s+SYNC\s+BRANCH\s+READY\s+OWNER\s+AGE$/m);
        assertMatch(l.stdout, /^st\s+dev\s+Running\s+.*\s1\/1\s+dev\s+\S+$/m);
        // the test server answers as kube-apiserver does: the real kubectl agrees (a real cluster before
        // v1.26 has no SelfSubjectReview: kodama then took the certificate's CN, checked above)
        const who = await w.kc(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
        if (!(onRealCluster && /selfsubjectreviews API is not enabled/.test(who.stderr))) {
          assertEquals(who.stdout, "dev", who.stderr);
        }
        assertMatch(s.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assertMatch(s.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert(s.updatedAt >= s.createdAt);
      });

      await t.step("sync stop: sync.enabled false, the path and mode kept", async () => {
        const r = await w.k(["sync", "stop", "st"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals((await read()).sync, { enabled: false, localPath: synced, mode: "one-way-local" });
      });

      await t.step(
        "a session's Job removed behind kodama's back: `list` records Stopped and a new updatedAt",
        async () => {
          const before = await read();
          // updatedAt has a one-second resolution
          const was = before.updatedAt;
          // its Job and pod (a pod alone the Job brings back: issue 80)
          const d = await w.kc(["delete", "job", "kodama-st", "--cascade=foreground", "--wait=true"]);
          assertEquals(d.code, 0, d.stderr);
          // wait for a second boundary so the new stamp can differ
          while (new Date().toISOString().replace(/\.\d+Z$/, "Z") === was) {
            await new Promise((r) => setTimeout(r, 100));
          }
          const l = await w.k(["list"]);
          assertEquals(l.code, 0, l.stderr);
          const s = await read();
          assertEquals(s.status, "Stopped");
          assert(s.updatedAt > was, `${s.updatedAt} <= ${was}`);
          assertEquals(s.commitHash, repo.main);
        },
      );

      await t.step("resume and `session get` keep it current: Running", async () => {
        const r = await w.k(["resume", "st"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals((await read()).status, "Running");
        const g = await w.k(["session", "get", "st"]);
        assertEquals(g.code, 0, g.stderr);
        assertEquals((await read()).status, "Running");
      });
    } finally {
      await purge(w, "st");
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
      await Deno.remove(synced, { recursive: true }).catch(() => {});
    }
  },
);
