/**
 * Best of N with a judge, black-box as `dev` in `dev`: three replicas (a fake agent per replica, the
 * repository's agent.command) make different diffs, replica 2's check fails; `start --replicas 3 --judge
 * claude` then runs the real Claude Code (against the model stand-in, which answers the ranking) in session
 * j-judge. Its prompt holds the passing replicas' diffs only; its pod holds the judged branches as refs, no
 * remote, no env-file secret; `compare` shows RANK and REASON and the judge's cost, `adopt --best` takes rank
 * 1; a judge that ranks a failing replica is refused (the table still shown); the usage errors.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { openUi, purge, withSessionWorld } from "./_session.ts";
import { startMcp } from "./_mcp.ts";
import { type StandIn, startStandIn } from "../agents/_standin.ts";
import { CLAUDE, missing } from "../agents/_clis.ts";
import { DEMO_AGENT_IMAGE } from "../cluster/demo_agents.ts";

/** Replica 1 "good 1" (one commit), 2 "bad 2" + extra.txt (its check fails), 3 "good 3" in two commits. */
const AGENT = [
  `cat > /dev/null`,
  `c() { git add -A . && git -c user.name=Agent -c user.email=agent@example.com commit -qm "$1"; }`,
  `case "$KODAMA_REPLICA" in`,
  `1) echo "good 1" > result.txt; c "replica 1" ;;`,
  `2) echo "bad 2" > result.txt; printf 'x\\ny\\n' > extra.txt; c "replica 2" ;;`,
  `*) echo "draft" > result.txt; c "draft"; echo "good $KODAMA_REPLICA" > result.txt; c "final" ;;`,
  `esac`,
].join("\n");
const CHECK = "cat result.txt; grep -q good result.txt";
const KEY = "sk-ant-standin-judge-5521";
/** in the user's env file: every replica's env Secret has it, the judge's must not */
const LEAK = "ghp_judgeMustNotSee9431";

const answer = (ranking: { replica: string; reason: string }[]) =>
  `I read both diffs.\n\n\`\`\`json\n${JSON.stringify({ ranking })}\n\`\`\`\n`;

withSessionWorld(
  "best of N with a judge: start --judge, RANK and REASON, the judge's pod reads only, adopt --best",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 12 * 60_000 },
  async (t, w) => {
    const api: StandIn = await startStandIn([[{
      text: answer([
        { replica: "j-3", reason: "final answer, clean history\x1b[2J" },
        { replica: "j-1", reason: "minimal, correct" },
      ]),
    }]]);
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const cwd = repo.work;
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const k = (args: string[]) => w.k(args, { cwd, env });
    const envFile = join(w.home, "secrets.env");
    await Deno.writeTextFile(envFile, `GITHUB_TOKEN=${LEAK}\nTEAM_SECRET=${LEAK}\n`);
    await Deno.writeTextFile(
      join(w.home, "config.yaml"),
      `env:\n  dotenvFiles: [${JSON.stringify(envFile)}]\n`,
    );
    await Deno.writeTextFile(join(cwd, ".git", "info", "exclude"), ".kodama.yaml\n");
    await Deno.writeTextFile(
      join(cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n  check: ${JSON.stringify(CHECK)}\n`,
    );
    let heads: Record<string, string> = {};
    try {
      await t.step("usage errors: exit 2, one line, nothing made", async () => {
        for (
          const [args, msg] of [
            [
              ["start", "u", "-p", "t", "--judge", "claude"],
              /--judge ranks a group's replicas: it needs --replicas/,
            ],
            [["start", "u", "-p", "t", "--replicas", "2", "--judge", "custom"], /invalid --judge "custom"/],
            [["start", "u", "-p", "t", "--replicas", "2", "--judge", "claude:a b"], /invalid --judge model/],
            [
              ["start", "u", "--replicas", "2", "--judge", "codex"],
              /--judge ranks the agents' work: it needs --prompt/,
            ],
            [
              ["compare", "u", "--judge", "codex", "--diff"],
              /--judge ranks the replicas: it cannot be combined with --diff/,
            ],
            [["compare", "u", "--judge", "nope"], /invalid --judge "nope"/],
          ] as [string[], RegExp][]
        ) {
          const r = await k(args);
          assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
          assertMatch(r.stderr, msg);
          assert(!hasStackTrace(r.stderr), r.stderr);
        }
        // the judge's agent is checked before any replica starts: codex has no key here (exit 4)
        const nokey = await k([
          "start",
          "u",
          "--repo",
          repo.bare,
          "--replicas",
          "2",
          "-p",
          "t",
          "--judge",
          "codex",
        ]);
        assertEquals(nokey.code, 4, nokey.stderr);
        assertMatch(nokey.stderr, /codex check .*no key is set: no replica was started/);
        assertEquals((await k(["list", "-o", "name"])).stdout, "");
        const none = await k(["adopt", "u", "--best"]);
        assertEquals(none.code, 3, none.stderr);
        assertMatch(none.stderr, /group u has no judgement: run compare u --judge PRESET first/);
      });

      await t.step(
        "start --replicas 3 --judge claude: replicas end, the judge ranks those that passed",
        async () => {
          const r = await k([
            "start",
            "j",
            "--repo",
            repo.bare,
            "--image",
            DEMO_AGENT_IMAGE,
            "--replicas",
            "3",
            "--prompt",
            "make result.txt good",
            "--judge",
            "claude",
          ]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, "session/j-1 ready\nsession/j-2 ready\nsession/j-3 ready\nj-3\n");
          assertStringIncludes(r.stderr, "judge: j-1, j-3 passed; j-judge (claude) ranks them");
          assertStringIncludes(r.stderr, "judged: 1. j-3, 2. j-1; not ranked: j-2 (check failed (1))\n");
          assert(!r.stderr.includes(KEY) && !r.stderr.includes(LEAK), r.stderr);
          // one model request of the judge: the task, the passing replicas' diffs, the failing one named only
          const asked = api.mainRequests().map((q) => q.text).join("\n");
          assertStringIncludes(asked, "make result.txt good");
          assertStringIncludes(asked, "+good 1");
          assertStringIncludes(asked, "+good 3");
          assertStringIncludes(asked, "Not to be ranked (they did not pass): j-2 (check failed (1))");
          assert(!asked.includes("+bad 2"), "the failing replica's diff is not judged");
        },
      );

      await t.step("compare: RANK and REASON, unranked j-2, the judge's cost; -o json", async () => {
        const r = await k(["compare", "j"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /^REPLICA\s+RANK\s+AGENT\s+.*CHECK\s+REASON$/m);
        assertMatch(r.stdout, /^j-1\s+2\s+.*passed\s+minimal, correct$/m);
        assertMatch(r.stdout, /^j-2\s+-\s+.*failed \(1\)\s+not ranked: check failed \(1\)$/m);
        assertMatch(r.stdout, /^j-3\s+1\s+.*passed\s+final answer, clean history \[2J$/m);
        assertMatch(
          r.stdout,
          /^judged \S+ by j-judge \(claude\), run 1: cost (\$\d+\.\d\d|<\$0\.01|not reported)/m,
        );
        assert(!r.stdout.includes("\x1b"), "no escape from the judge reaches the terminal");
        const j = JSON.parse((await k(["compare", "j", "-o", "json"])).stdout);
        assertEquals(j.items.map((i: { rank?: number }) => i.rank ?? null), [2, null, 1]);
        assertEquals(j.items[2].reason, "final answer, clean history [2J");
        assertEquals(j.judgement.judge.session, "j-judge");
        assertEquals(j.judgement.judge.preset, "claude");
        heads = Object.fromEntries(j.items.map((i: { name: string; head: string }) => [i.name, i.head]));
      });

      await t.step(
        "the judge's pod: the judged branches as refs, no remote, no env-file secret",
        async () => {
          const refs = await k([
            "attach",
            "j-judge",
            "--command",
            "git for-each-ref --format='%(refname)'; git remote",
          ]);
          assertEquals(refs.code, 0, refs.stderr);
          assertMatch(refs.stdout, /^refs\/remotes\/replicas\/j-1$/m);
          assertMatch(refs.stdout, /^refs\/remotes\/replicas\/j-3$/m);
          assert(!/j-2/.test(refs.stdout), refs.stdout);
          // nothing else of the replicas' pods (their other branches), nothing of the origin's
          for (const ref of refs.stdout.trim().split("\n").filter((l) => l.startsWith("refs/"))) {
            assertMatch(
              ref,
              /^refs\/(heads\/(judge-base|kodama\/j-judge-\d{14})|remotes\/replicas\/j-[13])$/,
            );
          }
          assert(!/^origin$/m.test(refs.stdout), refs.stdout);
          // it tries to rewrite a replica's branch and push it: there is nowhere to push to, in any spelling
          const push = await k([
            "attach",
            "j-judge",
            "--command",
            `git update-ref refs/remotes/replicas/j-3 HEAD && git push origin HEAD:refs/heads/kodama/j-3; echo "push=$?"; ` +
            `git push --all; echo "all=$?"; env | grep -c ${LEAK}; true`,
          ]);
          assertMatch(push.stdout + push.stderr, /push=(?!0)\d+/);
          assertMatch(push.stdout + push.stderr, /all=(?!0)\d+/);
          assertMatch(push.stdout + push.stderr, /^0$/m);
          // its env Secret: the claude preset's variables only; a replica's has the env file's too
          const keys = async (s: string) =>
            Object.keys(JSON.parse((await w.kc(["get", "secret", s, "-o", "json"])).stdout).data ?? {})
              .sort();
          const judge = await keys("kodama-env-j-judge");
          assert(judge.includes("ANTHROPIC_API_KEY"), judge.join(","));
          assert(!judge.includes("GITHUB_TOKEN") && !judge.includes("TEAM_SECRET"), judge.join(","));
          assert((await keys("kodama-env-j-1")).includes("TEAM_SECRET"));
          const git = await w.kc(["get", "secret", "kodama-git-j-judge", "-o", "name"]);
          assert(git.code !== 0, "the judge has no git credentials Secret");
          // the replicas did not move
          const now = JSON.parse((await k(["compare", "j", "-o", "json"])).stdout);
          assertEquals(
            Object.fromEntries(now.items.map((i: { name: string; head: string }) => [i.name, i.head])),
            heads,
          );
        },
      );

      await t.step("one replica passed: ranked 1 without a judge (no session, no cost)", async () => {
        const r = await k([
          "start",
          "o",
          "--repo",
          repo.bare,
          "--image",
          DEMO_AGENT_IMAGE,
          "--replicas",
          "2",
          "-p",
          "t",
        ]);
        assertEquals(r.code, 0, r.stderr);
        const before = api.mainRequests().length;
        const c = await k(["compare", "o", "--judge", "claude", "--timeout", "3m"]);
        assertEquals(c.code, 0, c.stderr);
        assertStringIncludes(c.stderr, "judge: only o-1 passed: it is ranked 1 without a judge");
        assertMatch(c.stdout, /^o-1\s+1\s+.*the only replica that passed$/m);
        assertMatch(c.stdout, /^o-2\s+-\s+.*not ranked: check failed \(1\)$/m);
        assertMatch(c.stdout, /^judged \S+ by no judge \(one replica passed\)$/m);
        assertEquals(api.mainRequests().length, before, "no model was asked");
        assertEquals(
          (await w.kc(["get", "pods", "-l", "kodama.dev/session=o-judge", "-o", "name"])).stdout,
          "",
        );
        assertEquals((await k(["delete", "o", "--group", "-f", "--purge"])).code, 0);
      });

      await t.step(
        "the doors: MCP's compare and the web UI's group show RANK and REASON; MCP adopt best",
        async () => {
          const m = await startMcp(w.c.kubeconfig, ["--context", "dev"], { cwd });
          try {
            const c = await m.call("compare", { name: "j" });
            assert(!c.isError, c.text);
            assertEquals(c.data.replicas.map((r: { rank?: number }) => r.rank ?? null), [2, null, 1]);
            assertEquals(c.data.replicas[2].reason, "final answer, clean history [2J");
            assertMatch(c.text, /^REPLICA\s+RANK\s+/m);
            assertMatch(c.text, /^judged \S+ by j-judge \(claude\)/m);
            const a = await m.call("adopt", { name: "j", best: true, branch: "mcp-best" });
            assert(!a.isError, a.text);
            assertEquals(a.data.branch, "mcp-best");
            assertStringIncludes(a.text, "the judge ranked j-3 first");
            assertEquals(await gitIn(["show", "mcp-best:result.txt"], cwd), "good 3");
            const notGroup = await m.call("adopt", { name: "no-such", best: true });
            assert(notGroup.isError, notGroup.text);
            assertMatch(notGroup.text, /no judgement/);
          } finally {
            await m.close();
          }
          const ui = await openUi(w.spawn(["ui"]));
          try {
            const res = await fetch(`${ui.origin}/api/groups/j`, {
              headers: { authorization: ui.authorization },
            });
            const g = await res.json();
            assertEquals(res.status, 200);
            assertEquals(g.items.map((r: { rank?: number }) => r.rank ?? null), [2, null, 1]);
            assertEquals(g.judgement.judge.session, "j-judge");
            assert(!JSON.stringify(g).includes(KEY), "no key in what the page reads");
          } finally {
            await ui.close();
          }
        },
      );

      await t.step("adopt j --best: the rank-1 replica's commits as kodama/j", async () => {
        const r = await k(["adopt", "j", "--best"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "kodama/j\n");
        assertStringIncludes(r.stderr, "the judge ranked j-3 first");
        assertEquals(await gitIn(["show", "kodama/j:result.txt"], cwd), "good 3");
      });

      await t.step(
        "judging again: j-judge exists (2); a judge that ranks a failing replica is refused (1)",
        async () => {
          const again = await k(["compare", "j", "--judge", "claude"]);
          assertEquals(again.code, 2, again.stderr);
          assertMatch(again.stderr, /session j-judge exists already/);
          assertEquals((await k(["delete", "j-judge", "--purge", "-f"])).code, 0);
          api.push([{
            text: answer([
              { replica: "j-2", reason: "pick me" },
              { replica: "j-1", reason: "x" },
              { replica: "j-3", reason: "y" },
            ]),
          }]);
          const bad = await k(["compare", "j", "--judge", "claude"]);
          assertEquals(bad.code, 1, bad.stderr);
          assertMatch(bad.stdout, /^REPLICA\s+AGENT\s+/m);
          assertMatch(
            bad.stderr,
            /the judge's answer is not a ranking: ranking entry 1 names "j-2", which was not judged/,
          );
          assert(!hasStackTrace(bad.stderr), bad.stderr);
          // a judge's session left from before: a new judged group is refused before any replica starts
          const left = await k(["start", "j", "--replicas", "2", "-p", "t", "--judge", "claude"]);
          assertEquals(left.code, 2, left.stderr);
          assertMatch(
            left.stderr,
            /session j-judge exists already: the judge of group j would need its name/,
          );
          // the whole group deleted: its judgement goes with it, and the judge's session it names
          const del = await k(["delete", "j", "--group", "-f", "--purge"]);
          assertEquals(del.code, 0, del.stderr);
          assertMatch(del.stdout, /^deleted j-1, j-2, j-3, j-judge \(with their volumes\)$/m);
          assertEquals((await k(["list", "-o", "name"])).stdout.includes("j-judge"), false);
          assertEquals(
            (await w.kc(["get", "configmap", "kodama-judgement-j", "-o", "name"])).code !== 0,
            true,
          );
        },
      );
    } finally {
      for (const n of ["j-1", "j-2", "j-3", "j-judge", "o-1", "o-2"]) await purge(w, n);
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
