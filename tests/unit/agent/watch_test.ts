// The runner's watchdog (src/agent/runs/watch.ts), run for real with sh: an agent that prints nothing is ended as
// stalled, one that only retries its model API as unreachable; one that works is left alone; git facts.
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { NOTIFY_JS, parseRuns, RUNNER_JS, RUNNER_SCRIPT } from "../../../src/agent/runs/agent.ts";
import { renderRuns } from "../../../src/agent/runs/agentrun.ts";
import { formatRepoFacts, parseGitLine, runFacts } from "../../../src/agent/outcome/truth.ts";

async function runAgent(
  agent: string,
  stall: number,
  o: {
    git?: boolean;
    before?: Record<string, string>;
    sh?: string[];
    repos?: string[];
    empty?: boolean;
    /** the pod's KODAMA_REPOS (default: the repositories made, as kodama sets it for a session with several) */
    kodamaRepos?: string;
  } = {},
) {
  const ws = await Deno.makeTempDir({ prefix: "kodama-watch-" });
  const run = `${ws}/.kodama/runs/1`;
  await Deno.mkdir(run, { recursive: true });
  await Deno.writeTextFile(`${run}/prompt`, "do it\n");
  const git = (...a: string[]) =>
    new Deno.Command("git", { args: a, cwd: ws, stdout: "null", stderr: "null" }).output();
  if (o.git) {
    await git("init", "-q");
    await git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "init");
  }
  for (const r of o.repos ?? []) {
    await Deno.mkdir(`${ws}/${r}`);
    const g = (...a: string[]) =>
      new Deno.Command("git", { args: ["-C", `${ws}/${r}`, ...a], stdout: "null", stderr: "null" }).output();
    await g("init", "-q");
    if (o.empty) continue;
    await g("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "init");
  }
  for (const [f, text] of Object.entries(o.before ?? {})) await Deno.writeTextFile(`${ws}/${f}`, text);
  const [shell, ...shArgs] = o.sh ?? ["sh"];
  const out = await new Deno.Command(shell, {
    args: [...shArgs, "-c", RUNNER_SCRIPT, "kodama-run", run, RUNNER_JS, NOTIFY_JS, "sh", "-c", agent],
    cwd: ws,
    env: {
      KODAMA_WORKSPACE: ws,
      KODAMA_STALL_SECONDS: String(stall),
      GIT_CONFIG_GLOBAL: "/dev/null",
      ...(o.kodamaRepos ?? o.repos?.join(" ") ? { KODAMA_REPOS: o.kodamaRepos ?? o.repos!.join(" ") } : {}),
    },
    stdout: "null",
    stderr: "null",
  }).output();
  assertEquals(out.code, 0);
  const read = (f: string) => Deno.readTextFile(`${run}/${f}`).then((s) => s.trim()).catch(() => undefined);
  const r = {
    exit: await read("exit"),
    endedBy: await read("ended-by"),
    log: (await read("log")) ?? "",
    git: await read("git"),
  };
  await Deno.remove(ws, { recursive: true });
  return r;
}

Deno.test("watchdog: silent agent → stalled; retrying only → unreachable; working → left alone", async () => {
  const retry = `{"type":"error","message":"Reconnecting... waiting for network (Connection failed)"}`;
  const [silent, retrying, working] = await Promise.all([
    runAgent("echo started; sleep 30", 2),
    runAgent(`echo '{"type":"turn.started"}'; while :; do echo '${retry}'; sleep 0.3; done`, 3),
    // progress every half second for 4 s: never stalled with a 2 s limit
    runAgent(`i=0; while [ $i -lt 8 ]; do echo "step $i"; sleep 0.5; i=$((i+1)); done`, 2),
  ]);
  assertEquals(silent.endedBy, "stalled");
  assertEquals(silent.exit === "0", false);
  assertStringIncludes(silent.log, "kodama: the agent made no progress for 2s (agent.stallTimeout): ended");
  assertEquals(retrying.endedBy, "unreachable");
  assertStringIncludes(retrying.log, "kodama: the agent only retried its model API for 3s");
  assertEquals(working.endedBy, undefined);
  assertEquals(working.exit, "0");
  assertEquals(runFacts(undefined, silent.endedBy, undefined)?.endedBy, "stalled");
});

Deno.test("watchdog: the Gemini CLI's stderr retries (each with its stack trace) are not progress", async () => {
  const attempt =
    "Attempt 1 failed. Retrying with backoff... Error: exception TypeError: fetch failed sending request";
  const r = await runAgent(
    `echo '{"type":"init","model":"auto"}'; while :; do echo '${attempt}' >&2; echo '    at async retryWithBackoff (file:///x.js:1:2)' >&2; sleep 0.3; done`,
    3,
  );
  assertEquals(r.endedBy, "unreachable");
  assertStringIncludes(r.log, "kodama: the agent only retried its model API for 3s");
});

Deno.test("runner: the run's commits and changed files since it started, for its truth", async () => {
  const r = await runAgent(
    "echo a > a.txt && git add a.txt && git -c user.name=a -c user.email=a@b commit -qm a && echo b > b.txt",
    0,
    { git: true },
  );
  assertEquals(r.exit, "0");
  assertEquals(r.git, "1 2");
  assertEquals(runFacts(r.git, undefined, undefined), {
    toolCalls: 0,
    denied: 0,
    commits: 1,
    filesChanged: 2,
  });
  assert(r.endedBy === undefined);
});

// issue 66: a file sync brought in before the run (untracked, or a tracked file changed) is not the agent's
for (const sh of [["dash"], ["busybox", "sh"]]) {
  Deno.test(`runner (${sh.join(" ")}): files in the tree before the run are not counted as its changes`, async () => {
    const before = { "synced.txt": "from the laptop\n" };
    const idle = await runAgent("true", 0, { git: true, before, sh });
    assertEquals(idle.git, "0 0");
    assertEquals(runFacts(idle.git, undefined, undefined)?.filesChanged, 0);
    const busy = await runAgent("echo more >> synced.txt && echo n > new.txt", 0, { git: true, before, sh });
    assertEquals(busy.git, "0 2");
  });
}

// issue 81: a session with several repositories has no repository at /workspace: each one's commits and files
for (const sh of [["dash"], ["busybox", "sh"]]) {
  Deno.test(`runner (${sh.join(" ")}): several repositories, each one's commits and files and the sums`, async () => {
    const agent = [
      "cd api && echo a > a.txt && git add a.txt && git -c user.name=a -c user.email=a@b commit -qm a",
      "echo b > b.txt && git add b.txt && git -c user.name=a -c user.email=a@b commit -qm b && echo c > c.txt",
      "cd ../web && echo w > w.txt",
      // not a repository name kodama gives: never counted
      "cd .. && mkdir 'odd name' && git -C 'odd name' init -q && echo x > 'odd name/x'",
    ].join(" && ");
    const r = await runAgent(agent, 0, { repos: ["api", "web", "docs"], sh });
    assertEquals(r.exit, "0");
    assertEquals(r.git, "2 4 api=2/3 docs=0/0 web=0/1");
    const t = runFacts(r.git, undefined, undefined);
    assertEquals(t?.commits, 2);
    assertEquals(t?.filesChanged, 4);
    assertEquals(t?.repositories, [
      { name: "api", commits: 2, filesChanged: 3 },
      { name: "docs", commits: 0, filesChanged: 0 },
      { name: "web", commits: 0, filesChanged: 1 },
    ]);
  });
}

Deno.test("runner: nested repositories of a session with one or none are not its own (no KODAMA_REPOS)", async () => {
  // its changes outside them would otherwise read as `succeeded (no changes)`
  const r = await runAgent("echo top > top.txt && cd api && echo a > a.txt", 0, {
    repos: ["api"],
    kodamaRepos: "",
  });
  assertEquals(r.exit, "0");
  assertEquals(r.git, undefined);
  // a pattern is a name, never a glob over the workspace
  const g = await runAgent("cd api && echo a > a.txt", 0, { repos: ["api"], kodamaRepos: "*" });
  assertEquals(g.git, undefined);
});

Deno.test("runner: repositories with no commit at the start: nothing known, not `0 0`", async () => {
  const r = await runAgent("cd api && echo a > a.txt", 0, { repos: ["api"], empty: true });
  assertEquals(r.exit, "0");
  assertEquals(r.git, undefined);
});

Deno.test("parseGitLine: the sums, each repository's, and nothing else", () => {
  assertEquals(parseGitLine("1 2"), { commits: 1, filesChanged: 2 });
  assertEquals(parseGitLine("3 4 api=1/2 web=2/2")?.repositories?.map((r) => r.name), ["api", "web"]);
  // a token that is no repository's fact is dropped: a path, a hidden name, a missing number
  assertEquals(parseGitLine("3 4 ../x=1/2 .kodama=1/1 web=2 a/b=1/1 ok=1/1")?.repositories, [
    { name: "ok", commits: 1, filesChanged: 1 },
  ]);
  assertEquals(parseGitLine("x 2 api=1/1"), undefined);
  assertEquals(parseGitLine(""), undefined);
  assertEquals(formatRepoFacts(parseGitLine("3 4 api=1/2 web=2/2")?.repositories), "api 1c/2f, web 2c/2f");
});

Deno.test("agent status: a REPOSITORIES column once a run counted several repositories", () => {
  const runs = parseRuns(
    "1\texited\t0\t2026-01-01T00:00:00Z\t2026-01-01T00:01:00Z\t9\t0\t\t\t2 4 api=2/3 web=0/1\t\t\t\n",
  );
  assertEquals(runs[0].truth?.commits, 2);
  const out = renderRuns(runs);
  assertStringIncludes(out, "REPOSITORIES");
  assertStringIncludes(out, "api 2c/3f, web 0c/1f");
  assert(!renderRuns(parseRuns("1\texited\t0\t\t\t9\t0\t\t\t2 4\t\t\t\n")).includes("REPOSITORIES"));
});
