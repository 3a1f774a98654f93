/**
 * Best of N, black-box as `dev` in `dev`: `start --replicas 3` with a fake agent (agent.command in the
 * repository's .kodama.yaml) that writes a different change per replica (KODAMA_REPLICA) and a check that
 * passes for some replicas and fails for others; `compare` (table, json, --wait, --diff, --diff A B),
 * `adopt`, `list` grouping, `delete --group --keep`, a replica whose agent variant does not exist, and the
 * usage errors.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { gitIn, makeTestRepo, podReachableRepo } from "./_git_server.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

/**
 * The fake agent. Replica 1 writes "good 1" (1 file, +1); replica 2 "bad 2" and extra.txt (2 files, +3);
 * replica 3 "good 3" in two commits and a final message in $KODAMA_SUMMARY_FILE. It waits for .go first
 * (so a running agent is seen without timing).
 */
export const GROUP_AGENT = [
  `p=$(cat)`,
  `echo "agent $KODAMA_REPLICA of $KODAMA_GROUP: $p"`,
  `echo .go >> .git/info/exclude`,
  `while [ ! -f .go ]; do sleep 0.2; done`,
  `c() { git add -A . && git -c user.name=Agent -c user.email=agent@example.com commit -qm "$1"; }`,
  `case "$KODAMA_REPLICA" in`,
  `1) echo "good 1" > result.txt; c "replica 1" ;;`,
  `2) echo "bad 2" > result.txt; printf 'x\\ny\\n' > extra.txt; c "replica 2" ;;`,
  `*) echo "draft" > result.txt; c "draft"; echo "good $KODAMA_REPLICA" > result.txt; c "final"; echo "chose the final answer" > "$KODAMA_SUMMARY_FILE" ;;`,
  `esac`,
  `echo "agent: last line of replica $KODAMA_REPLICA"`,
].join("\n");

const CHECK = "cat result.txt; grep -q good result.txt";

withSessionWorld(
  "best of N: start --replicas, compare, --diff, adopt, list, delete --group --keep, a failed replica",
  { timeoutMs: 900_000 },
  async (t, w) => {
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    // what the session pods clone: the bare repository here; on a real cluster, a git daemon they reach
    const served = await podReachableRepo(repo, onRealCluster);
    const cwd = repo.work;
    const k = (args: string[]) => w.k(args, { cwd });
    // .go is ignored by git (the agents' commits leave it out); .kodama.yaml is the repo's (untracked)
    await Deno.writeTextFile(join(cwd, ".git", "info", "exclude"), ".go\n.kodama.yaml\n");
    await Deno.writeTextFile(
      join(cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(GROUP_AGENT)}]\n  check: ${JSON.stringify(CHECK)}\n`,
    );
    try {
      await t.step("usage errors: exit 2, one line, nothing made", async () => {
        for (
          const [args, msg] of [
            [["--replicas", "17"], /--replicas must be a whole number from 1 to 16/],
            [["--replicas", "0"], /--replicas must be a whole number from 1 to 16/],
            [["--replicas", "two"], /--replicas must be a whole number/],
            [
              ["--replicas", "2", "--agent-variant", "3=x", "-p", "t"],
              /--agent-variant 3: there are replicas 1 to 2/,
            ],
            [["--replicas", "2", "--agent-variant", "x", "-p", "t"], /invalid --agent-variant "x"/],
            [["--agent-variant", "1=x", "-p", "t"], /--agent-variant needs --replicas/],
            [["--replicas", "2", "--sync", "."], /--sync cannot be used with --replicas/],
            [["--replicas", "2", "--branch", "b"], /--branch cannot be used with --replicas/],
            [
              ["--replicas", "2", "--check", "true"],
              /--check runs when the agent has ended: it needs --prompt/,
            ],
          ] as [string[], RegExp][]
        ) {
          const r = await k(["start", "u", "--image", SESSION_IMAGE, ...args]);
          assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
          assertMatch(r.stderr, msg);
          assert(!hasStackTrace(r.stderr), r.stderr);
        }
        // (a v1.24 API server makes each namespace's service-account token Secret itself)
        const made = (await w.kc(["get", "pods,pvc,secrets", "-o", "name"])).stdout.trim().split("\n")
          .filter((l) => l && !/^secret\/default-token-/.test(l));
        assertEquals(made, []);
        const del = await k(["delete", "u", "--keep", "u-1", "-f"]);
        assertEquals(del.code, 2);
        assertMatch(del.stderr, /--keep needs --group/);
        const cmp = await k(["compare", "nope"]);
        assertEquals(cmp.code, 3, cmp.stderr);
        assertMatch(cmp.stderr, /group "nope" not found in namespace dev/);
      });

      await t.step("--dry-run lists every replica's objects with the group's labels", async () => {
        const r = await k([
          "start",
          "d",
          "--replicas",
          "2",
          "--image",
          SESSION_IMAGE,
          "--dry-run",
          "-o",
          "json",
        ]);
        assertEquals(r.code, 0, r.stderr);
        const pods = JSON.parse(r.stdout).items.filter((o: { kind: string }) => o.kind === "Job");
        assertEquals(pods.map((p: { metadata: { name: string } }) => p.metadata.name), [
          "kodama-d-1",
          "kodama-d-2",
        ]);
        assertEquals(pods[1].metadata.labels["kodama.dev/group"], "d");
        assertEquals(pods[1].metadata.labels["kodama.dev/replica"], "2");
      });

      await t.step("a group of 3 starts on 3 branches, one line per replica", async () => {
        const r = await k([
          "start",
          "g",
          "--repo",
          served.url,
          "--image",
          SESSION_IMAGE,
          "--replicas",
          "3",
          "--prompt",
          "make result.txt good",
        ]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "session/g-1 ready\nsession/g-2 ready\nsession/g-3 ready\n");
        for (const i of [1, 2, 3]) {
          assertMatch(r.stderr, new RegExp(`^g-${i}  ready, agent run 1 started$`, "m"));
        }
        assertStringIncludes(r.stderr, "kodama compare g -w");
        const l = await k(["list"]);
        assertEquals(l.code, 0, l.stderr);
        assertMatch(l.stdout, /^NAME\s+GROUP\s+NAMESPACE\s+STATUS/);
        const rows = l.stdout.trim().split("\n").slice(1);
        const branches = rows.map((row) => row.split(/\s+/)[5]);
        assertEquals(rows.map((row) => row.split(/\s+/).slice(0, 2).join(" ")), ["g-1 g", "g-2 g", "g-3 g"]);
        branches.forEach((b, i) => assertMatch(b, new RegExp(`^kodama/g-${i + 1}-\\d{14}$`)));
        const j = JSON.parse((await k(["list", "-o", "json"])).stdout);
        assertEquals(j.items.map((s: { status: { group: string; replica: number } }) => s.status.replica), [
          1,
          2,
          3,
        ]);
      });

      await t.step("compare while the agents run: 3 rows, agent running, check pending", async () => {
        const r = await k(["compare", "g"]);
        assertEquals(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assertMatch(lines[0], /^REPLICA\s+AGENT\s+DURATION\s+COMMITS\s+FILES\s+\+\/-\s+CHECK\s+SUMMARY$/);
        assertEquals(lines.length, 4);
        for (const l of lines.slice(1)) {
          assertMatch(l, /^g-\d\s+running\s+\S+\s+0\s+0\s+\+0\/-0\s+pending\s+agent \d of g/);
        }
        // let them go
        for (const i of [1, 2, 3]) {
          assertEquals((await k(["attach", `g-${i}`, "--command", "touch .go"])).code, 0);
        }
      });

      await t.step("compare --wait -o json: diffstats and check results per replica", async () => {
        const r = await k(["compare", "g", "--wait", "--timeout", "2m", "-o", "json"]);
        // replica 2's check failed: --wait says so with its exit code
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, "1 of 3 replicas failed: g-2 (check failed (1))");
        const doc = JSON.parse(r.stdout);
        assertEquals(doc.kind, "GroupComparison");
        const [a, b, c] = doc.items;
        assertEquals([a.name, b.name, c.name], ["g-1", "g-2", "g-3"]);
        for (const x of [a, b, c]) assertEquals(x.agent.state, "succeeded");
        assertEquals(a.commits, 1);
        assertEquals(a.diffstat, { files: 1, insertions: 1, deletions: 0, paths: ["result.txt"] });
        assertEquals(a.check, { state: "passed", exitCode: 0, tail: "good 1" });
        assertEquals(b.diffstat, {
          files: 2,
          insertions: 3,
          deletions: 0,
          paths: ["extra.txt", "result.txt"],
        });
        assertEquals(b.check, { state: "failed", exitCode: 1, tail: "bad 2" });
        assertEquals(c.commits, 2);
        assertEquals(c.check.state, "passed");
        assertEquals(c.summary, "chose the final answer");
        // without a final message: the agent's last lines
        assertEquals(a.summary, "agent 1 of g: make result.txt good\nagent: last line of replica 1");
        const table = (await k(["compare", "g"])).stdout;
        assertMatch(
          table,
          /^g-1\s+succeeded\s+\S+\s+1\s+1\s+\+1\/-0\s+passed\s+agent: last line of replica 1$/m,
        );
        assertMatch(table, /^g-2\s+succeeded\s+\S+\s+1\s+2\s+\+3\/-0\s+failed \(1\)\s+/m);
        assertMatch(table, /^g-3\s+succeeded\s+\S+\s+2\s+1\s+\+1\/-0\s+passed\s+chose the final answer$/m);
        // -w: the table, then again on each change, until every agent and check has ended (here: at once)
        const watch = await k(["compare", "g", "-w", "--timeout", "1m"]);
        assertEquals(watch.code, 1, watch.stderr);
        assertEquals(watch.stdout.match(/^REPLICA /gm)?.length, 1);
        assertEquals(watch.stdout, table);
        const yaml = await k(["compare", "g", "-o", "yaml"]);
        assertStringIncludes(yaml.stdout, "kind: GroupComparison");
      });

      await t.step("--diff A B shows where two replicas' changes differ; --diff each one's", async () => {
        const r = await k(["compare", "g", "--diff", "g-1", "g-2"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "--- g-1/result.txt\n+++ g-2/result.txt\n");
        assertStringIncludes(r.stdout, "-good 1\n+bad 2\n");
        assertStringIncludes(r.stdout, "--- /dev/null\n+++ g-2/extra.txt\n");
        assertMatch(r.stderr, /2 of 2 changed files differ between g-1 and g-2/);
        const same = await k(["compare", "g", "--diff", "1", "3"]);
        assertEquals(same.code, 0, same.stderr);
        assertStringIncludes(same.stdout, "-good 1\n+good 3\n");
        const each = await k(["compare", "g", "--diff"]);
        assertEquals(each.code, 0, each.stderr);
        const heads = [...each.stdout.matchAll(/^==> (g-\d) \(kodama\/g-\d-\d{14}\) <==$/gm)].map((m) =>
          m[1]
        );
        assertEquals(heads, ["g-1", "g-2", "g-3"]);
        assertStringIncludes(each.stdout, "+bad 2\n");
        const bad = await k(["compare", "g", "--diff", "g-1", "zz"]);
        assertEquals(bad.code, 2);
        assertMatch(bad.stderr, /--diff zz: not a replica of group g/);
        const stray = await k(["compare", "g", "g-1"]);
        assertEquals(stray.code, 2);
      });

      await t.step(
        "adopt brings the replica's commits in as kodama/g; another replica needs --force",
        async () => {
          const r = await k(["adopt", "g-1"]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, "kodama/g\n");
          assertEquals(await gitIn(["show", "kodama/g:result.txt"], cwd), "good 1");
          assertEquals(await gitIn(["log", "-1", "--format=%s", "kodama/g"], cwd), "replica 1");
          const other = await k(["adopt", "g-3"]);
          assertEquals(other.code, 2, other.stderr);
          assertMatch(other.stderr, /kodama\/g has commits that g-3's branch lacks/);
          assertEquals(await gitIn(["show", "kodama/g:result.txt"], cwd), "good 1");
          const forced = await k(["adopt", "g-3", "--force"]);
          assertEquals(forced.code, 0, forced.stderr);
          assertEquals(await gitIn(["show", "kodama/g:result.txt"], cwd), "good 3");
          const notReplica = await k(["adopt", "nope"]);
          assertEquals(notReplica.code, 3);
        },
      );

      await t.step(
        "delete --group --keep: no question; volumes go only with --purge, as for every delete; one line",
        async () => {
          const badKeep = await k(["delete", "g", "--group", "--keep", "x-1"]);
          assertEquals(badKeep.code, 2);
          assertMatch(badKeep.stderr, /--keep x-1: not a replica of group g/);
          const noGroup = await k(["delete", "g", "--keep", "g-3", "-f"]);
          assertEquals(noGroup.code, 2);
          assertMatch(noGroup.stderr, /--keep needs --group/);
          // no terminal and no --force: discarding needs no question; without --purge the volumes stay
          const kept = await k(["delete", "g", "--group", "--keep", "g-2", "--keep", "g-3"]);
          assertEquals(kept.code, 0, kept.stderr);
          assertEquals(kept.stdout, "deleted g-1 (volumes kept); kept g-2, g-3\n");
          const left = await w.kc(["get", "pvc", "-o", "name"]);
          assertMatch(left.stdout, /kodama-workspace-g-1$/m);
          assertEquals((await k(["delete", "g-1", "--purge", "-f"])).code, 0);
          const r = await k(["delete", "g", "--group", "--keep", "g-3", "--purge"]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, "deleted g-2 (with their volumes); kept g-3\n");
          const l = await k(["list", "-o", "name"]);
          assertEquals(l.stdout, "session/g-3\n");
          const pods = await w.kc(["get", "pods", "-o", "name"]);
          assertEquals(pods.stdout.trim(), `pod/${await podOf(w, "g-3")}`);
          const pvcs = await w.kc(["get", "pvc", "-l", "kodama.dev/group=g", "-o", "name"]);
          assert(!/-g-[12]\b/.test(pvcs.stdout), pvcs.stdout);
          const all = await w.kc(["get", "pvc", "-o", "name"]);
          assert(!/kodama-(workspace|claude-home)-g-[12]$/m.test(all.stdout), all.stdout);
          // the whole group without --keep still asks first
          const ask = await k(["delete", "g", "--group"]);
          assertEquals(ask.code, 2);
          assertMatch(ask.stderr, /not deleting group g without confirmation: no terminal to ask on/);
        },
      );

      await t.step("a replica whose agent variant does not exist is failed; the other finishes", async () => {
        const r = await k([
          "start",
          "h",
          "--repo",
          served.url,
          "--image",
          SESSION_IMAGE,
          "--replicas",
          "2",
          "--prompt",
          "task",
          "--check",
          "true",
          "--agent-variant",
          "2=no-such-agent --fast",
        ]);
        assertEquals(r.code, 1, r.stderr);
        assert(!hasStackTrace(r.stderr), r.stderr);
        assertMatch(r.stderr, /^h-1 {2}ready, agent run 1 started$/m);
        assertMatch(
          r.stderr,
          /^h-2 {2}FAILED: cannot start the agent in session h-2: no-such-agent is not in the image/m,
        );
        assertMatch(r.stderr, /1 of 2 replicas failed/);
        assertEquals((await k(["attach", "h-1", "--command", "touch .go"])).code, 0);
        const c = await k(["compare", "h", "--wait", "--timeout", "2m", "-o", "json"]);
        assertEquals(c.code, 1, c.stderr);
        assertStringIncludes(c.stderr, "1 of 2 replicas failed: h-2 (failed (127))");
        const [one, two] = JSON.parse(c.stdout).items;
        assertEquals(one.agent.state, "succeeded");
        assertEquals(one.check.state, "passed");
        assertEquals(two.agent, {
          run: "1",
          state: "failed",
          exitCode: 127,
          durationSeconds: two.agent.durationSeconds,
        });
        assertEquals(two.check.state, "skipped");
        const table = (await k(["compare", "h"])).stdout;
        assertMatch(table, /^h-2\s+failed \(127\)\s+/m);
        const again = await k(["start", "h", "--replicas", "2", "--image", SESSION_IMAGE]);
        assertEquals(again.code, 2);
        assertMatch(again.stderr, /group "h" already exists in namespace dev: h-1, h-2/);
      });
    } finally {
      for (const n of ["g-1", "g-2", "g-3", "h-1", "h-2"]) await purge(w, n);
      await served.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
