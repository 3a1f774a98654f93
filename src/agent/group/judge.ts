/**
 * A judge for best of N (`start --replicas N --judge PRESET[:MODEL]`, `compare GROUP --judge …`): once every
 * replica's agent and check have ended, a reviewer agent ranks the replicas that passed.
 *
 *   1. the group, gathered until settled (compare.ts); the replicas that passed are judged — agent succeeded,
 *      check passed (or no check) — the others are listed, unranked;
 *   2. each judged replica's diff (one exec each, read only) and the task (its first run's prompt);
 *   3. a repository in a temporary directory on this machine, into which each judged replica's branch is
 *      fetched (`session fetch`'s own bundle over exec: nothing is written in a replica) as the read-only
 *      ref `refs/remotes/replicas/NAME`, its checked-out branch at the commit the replicas started from;
 *   4. session GROUP-judge, started as any session with a prompt (launch.ts: the same start, gateway and
 *      metering as every run) from that directory, with `agentEnvOnly`: its env Secret holds the judge
 *      preset's own variables and nothing else of the env files — no git token, no other key. The clone has
 *      no remote: nothing it does reaches a replica or a forge;
 *   5. its run waited for, its final answer read (its log) and parsed by judgeparse.ts (an allow-list of the
 *      judged names); the ranking, with each replica's judged commit and the judge's cost, stored
 *      (judgestore.ts). A bad answer stores nothing and is exit 1, naming what was wrong.
 *
 * With one replica passing there is nothing to compare: it is ranked 1 without a judge (no cost).
 */
import type { Kube } from "../../kube/client.ts";
import type { KubeSessions } from "../../kube/seam.ts";
import type { Config } from "../../config/schema.ts";
import { ExitCode, KodamaError, timeoutError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { quote } from "../../base/text/escape.ts";
import { isPresetName } from "../../config/agentnames.ts";
import type { StartIO } from "../../session/lifecycle/startio.ts";
import type { SessionView } from "../../session/state/status.ts";
import { validateSessionName } from "../../session/spec/names.ts";
import { gatherGroup, type ReplicaRow, settled } from "./compare.ts";
import { groupMembers } from "./group.ts";
import { JudgeAnswerError, parseJudgement } from "./judgeparse.ts";
import { type JudgedReplica, judgePrompt } from "./judgeprompt.ts";
import { type Judgement, judgeSession, saveJudgement } from "./judgestore.ts";
import { execCapture } from "../runs/agentrun.ts";
import { LOGS_SCRIPT, PROLOGUE } from "../runs/agent.ts";
import RUNFILE_SH from "../pod/runfile.sh" with { type: "text" };

const RUNFILE_SCRIPT = [...PROLOGUE, RUNFILE_SH].join("\n");

export interface JudgeChoice {
  preset: string;
  model?: string;
}

/** `--judge PRESET[:MODEL]` -> the preset and model; exit 2 for anything but a preset. Pure. */
export function parseJudgeFlag(v: string): JudgeChoice {
  const m = /^([a-z]+)(?::(.+))?$/.exec(v.trim());
  if (!m || !isPresetName(m[1])) {
    throw usageError(
      `invalid --judge ${quote(v)}: expected PRESET[:MODEL], a preset of kodama agent presets`,
      "e.g. --judge codex or --judge claude:opus (a custom command cannot judge: its answer has no known form)",
    );
  }
  const model = m[2]?.trim();
  if (model !== undefined && !/^[\w.:/@+-]{1,100}$/.test(model)) {
    throw usageError(`invalid --judge model ${quote(model)}: letters, digits and . : / @ + - _ only`);
  }
  return { preset: m[1], ...(model ? { model } : {}) };
}

/** The judge's session of a group. */
export { judgeSession };

/** Which replicas are judged, and why the others are not. Pure. */
export function splitForJudge(rows: ReplicaRow[]): {
  judged: ReplicaRow[];
  unranked: { replica: string; why: string }[];
} {
  const judged: ReplicaRow[] = [];
  const unranked: { replica: string; why: string }[] = [];
  for (const r of rows) {
    const why = r.status !== "Running"
      ? `not running (${r.status})`
      : !r.agent
      ? "no agent run"
      : r.agent.state !== "succeeded"
      ? `agent ${r.agent.state}`
      : r.check && r.check.state !== "passed"
      ? `check ${r.check.state === "failed" ? `failed (${r.check.exitCode})` : r.check.state}`
      : !r.head || !r.base
      ? "no commit to judge"
      : undefined;
    if (why) unranked.push({ replica: r.name, why });
    else judged.push(r);
  }
  return { judged, unranked };
}

/** The judge's answer in its log: its last successful result's text, else its last message. Pure. */
export async function answerOf(log: string): Promise<string | undefined> {
  const { parseStream } = await import("../outcome/stream.ts");
  let result: string | undefined;
  let message: string | undefined;
  for (const e of parseStream(log)) {
    if (e.kind === "result" && e.ok && e.text !== undefined) result = e.text;
    if (e.kind === "message") message = e.text;
  }
  return result ?? message;
}

export interface JudgeOptions {
  judge: JudgeChoice;
  cfg: Config;
  /** the task, when the caller has it (start); else the first judged replica's first prompt */
  task?: string;
  /** how long to wait for the replicas, then for the judge (ms; 0 or unset: no limit) */
  timeoutMs?: number;
  /** tests: how often the group is looked at while it settles (default 2 s) */
  intervalMs?: number;
  io: StartIO;
  signal?: AbortSignal;
}

/** Wait until every replica's agent and check have ended; the rows then. */
async function settledRows(kube: KubeSessions, ns: string, group: string, o: JudgeOptions) {
  const deadline = o.timeoutMs ? Date.now() + o.timeoutMs : Infinity;
  for (;;) {
    const rows = await gatherGroup(kube, ns, group);
    if (settled(rows)) return rows;
    if (Date.now() > deadline) {
      throw timeoutError(
        `timed out: agents of group ${group} still running; nothing was judged`,
        `judge later: kodama compare ${group} --judge ${o.judge.preset}`,
      );
    }
    if (o.signal?.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 2000));
  }
}

/** The replica's first run's prompt (runfile.sh), "" when it cannot be read. */
async function taskOf(kube: KubeSessions, v: SessionView): Promise<string> {
  if (!v.pod) return "";
  const r = await execCapture(kube, v.pod, [
    "sh",
    "-c",
    RUNFILE_SCRIPT,
    "kodama-runfile",
    "1",
    "prompt",
    "16384",
  ])
    .catch(() => undefined);
  return r?.code === 0 ? r.stdout : "";
}

/** The replica's diff against its base (read only), "" when there is none. */
async function diffOf(kube: KubeSessions, v: SessionView): Promise<string> {
  const { DIFF_SCRIPT } = await import("../../session/git/fetch.ts");
  const r = await execCapture(kube, v.pod!, ["sh", "-c", DIFF_SCRIPT, "kodama-diff"]);
  if (r.code !== 0) {
    throw new KodamaError(
      `cannot read ${v.name}'s diff: ${r.stderr.trim().split("\n")[0] || `exit ${r.code}`}`,
    );
  }
  return r.stdout;
}

/**
 * The repository the judge clones: each judged replica's branch as refs/remotes/replicas/NAME, the checked-out
 * branch `judge-base` at the replicas' base. The caller removes the directory.
 */
async function judgeRepo(kube: KubeSessions, ns: string, judged: ReplicaRow[], dir: string): Promise<void> {
  const [{ localGit }, { fetchInto }] = await Promise.all([
    import("../../session/git/gitrun.ts"),
    import("../../session/git/fetch.ts"),
  ]);
  const git = async (args: string[]) => {
    const r = await localGit(args, dir);
    if (!r.ok) throw new KodamaError(`judge: git ${args[0]} failed: ${r.err.split("\n")[0]}`);
    return r.out;
  };
  await git(["init", "-q", "-b", "judge-base"]);
  for (const r of judged) {
    const local = `judge-fetch/${r.name}`;
    const f = await fetchInto(kube, ns, r.name, {
      root: dir,
      local,
      move: { elsewhere: "", forceWith: "" },
    });
    await git(["update-ref", `refs/remotes/replicas/${r.name}`, f.h.head]);
    await git(["update-ref", "-d", `refs/heads/${local}`]);
    // what else the replica's pod offered (its other branches) is not the judge's to see
    const extra = (await git(["for-each-ref", "--format=%(refname)", `refs/remotes/kodama/${r.name}/`]))
      .split("\n").filter(Boolean);
    for (const ref of extra) await git(["update-ref", "-d", ref]);
  }
  await git(["update-ref", "refs/heads/judge-base", judged[0].base!]);
}

/** The judge's run: its answer and its figures. */
async function judgeRun(kube: KubeSessions, ns: string, name: string, o: JudgeOptions) {
  const [{ agentWait }, { listRuns, runningPod }] = await Promise.all([
    import("../runs/say.ts"),
    import("../runs/agentrun.ts"),
  ]);
  const [w] = await agentWait(kube, ns, name, { timeoutMs: o.timeoutMs ?? 0, signal: o.signal });
  const pod = await runningPod(kube, ns, name);
  const run = (await listRuns(kube, pod)).at(-1);
  const log = await execCapture(kube, pod, ["sh", "-c", LOGS_SCRIPT, "kodama-logs", w.run, "0"]);
  const answer = (log.code === 0 ? await answerOf(log.stdout) : undefined) ?? run?.truth?.final;
  return { w, run, answer };
}

/** The judge's prompt: the task, and each judged replica's facts and diff (read from its pod). */
async function promptFor(
  kube: KubeSessions,
  judged: ReplicaRow[],
  unranked: { replica: string; why: string }[],
  view: (name: string) => SessionView,
  task?: string,
): Promise<string> {
  const [text, diffs] = await Promise.all([
    task !== undefined ? Promise.resolve(task) : taskOf(kube, view(judged[0].name)),
    Promise.all(judged.map((r) => diffOf(kube, view(r.name)))),
  ]);
  const input: JudgedReplica[] = judged.map((r, i) => ({
    name: r.name,
    files: r.diffstat?.files,
    insertions: r.diffstat?.insertions,
    deletions: r.diffstat?.deletions,
    paths: r.diffstat?.paths,
    check: r.check ? r.check.state : "- (no check)",
    ...(r.check?.tail ? { checkTail: r.check.tail } : {}),
    diff: diffs[i],
  }));
  return judgePrompt({
    task: text,
    judged: input,
    unranked: unranked.map((u) => ({ name: u.replica, why: u.why })),
  });
}

/**
 * Session NAME (GROUP-judge) with the prompt as its first run: the one start of any session with a prompt,
 * from the temporary repository of the judged branches, with the judge preset's own variables only.
 */
async function startJudge(
  kube: Kube,
  ns: string,
  name: string,
  judged: ReplicaRow[],
  image: string | undefined,
  prompt: string,
  o: JudgeOptions,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-judge-" });
  try {
    await judgeRepo(kube, ns, judged, dir);
    const { startWithAgent } = await import("../runs/launch.ts");
    // the judge's run has no check of its own (the replicas' agent.check is theirs)
    const cfg: Config = { ...o.cfg, agent: { ...o.cfg.agent, check: undefined } };
    const quiet: Sink = { write: () => {} };
    await startWithAgent(
      kube,
      {
        name,
        namespace: ns,
        ...(image ? { image } : {}),
        repo: dir,
        envFiles: [],
        envExclude: [],
        noSync: true,
        agentEnvOnly: true,
        agentName: o.judge.preset,
        ...(o.judge.model ? { settings: { model: o.judge.model } } : {}),
        prompt,
      },
      cfg,
      { ...o.io, out: quiet },
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Judge the group: the ranking stored and returned. Exit 1 when no replica passed, the judge's run failed or
 * its answer is not a ranking of the judged replicas; 2 when GROUP-judge exists already; 5 past the timeout.
 */
export async function judgeGroup(kube: Kube, ns: string, group: string, o: JudgeOptions): Promise<Judgement> {
  const name = validateSessionName(judgeSession(group));
  const members = await groupMembers(kube, ns, group);
  // the judge reads one repository's diff per replica: several are not judged yet
  if (members.some((v) => v.spec?.repos?.length)) {
    const { multiRepoRefusal } = await import("../../session/git/repos.ts");
    throw multiRepoRefusal(`--judge of group ${group}: replicas`, "compare them and adopt one yourself");
  }
  const { listSessions } = await import("../../session/state/cluster.ts");
  if ((await listSessions(kube, ns)).sessions.some((v) => v.name === name)) {
    throw usageError(
      `session ${name} exists already (an earlier judge of group ${group}, or a session of that name)`,
      `judge again once it is gone: kodama delete ${name} --purge -f`,
    );
  }
  const rows = await settledRows(kube, ns, group, o);
  const { judged, unranked } = splitForJudge(rows);
  const at = new Date().toISOString();
  const err: Sink = o.io.err;
  if (!judged.length) {
    throw new KodamaError(
      `group ${group}: no replica passed (${
        unranked.map((u) => `${u.replica}: ${u.why}`).join(", ")
      }); nothing to judge`,
      ExitCode.FAILED,
      `continue the failed ones: kodama agent run ${group} --continue`,
    );
  }
  if (judged.length === 1) {
    const only = judged[0];
    err.write(`judge: only ${only.name} passed: it is ranked 1 without a judge\n`);
    const j: Judgement = {
      group,
      at,
      judge: {},
      ranking: [{ replica: only.name, reason: "the only replica that passed", head: only.head }],
      unranked,
    };
    await saveJudgement(kube, ns, j);
    return j;
  }
  const view = (n: string) => members.find((m) => m.name === n)!;
  const same = members.filter((m) => m.spec?.agent?.preset === o.judge.preset).map((m) => m.name);
  if (same.length) {
    err.write(
      `note: the judge runs ${o.judge.preset}, as ${
        same.join(", ")
      } did: a judge of another preset shares fewer of their blind spots\n`,
    );
  }
  const prompt = await promptFor(kube, judged, unranked, view, o.task);
  err.write(
    `judge: ${judged.map((r) => r.name).join(", ")} passed; ${name} (${o.judge.preset}) ranks them\n`,
  );
  await startJudge(kube, ns, name, judged, view(judged[0].name).spec?.image, prompt, o);
  const { w, run, answer } = await judgeRun(kube, ns, name, o);
  if (w.state !== "succeeded") {
    throw new KodamaError(
      `the judge's run ${w.run} of ${name} ${w.text}: nothing was ranked`,
      ExitCode.FAILED,
      `see why: kodama agent logs ${name} ${w.run}`,
    );
  }
  let ranking;
  try {
    ranking = parseJudgement(answer ?? "", judged.map((r) => r.name));
  } catch (e) {
    if (!(e instanceof JudgeAnswerError)) throw e;
    throw new KodamaError(
      `the judge's answer is not a ranking: ${e.message}; nothing was ranked`,
      ExitCode.FAILED,
      `read it: kodama agent logs ${name} ${w.run}; judge again after kodama delete ${name} --purge -f`,
    );
  }
  const t = run?.truth;
  const j: Judgement = {
    group,
    at,
    judge: {
      session: name,
      preset: o.judge.preset,
      ...(o.judge.model ? { model: o.judge.model } : {}),
      run: w.run,
      ...(t?.costUsd !== undefined ? { costUsd: t.costUsd } : {}),
      ...(t?.inputTokens !== undefined ? { inputTokens: t.inputTokens } : {}),
      ...(t?.outputTokens !== undefined ? { outputTokens: t.outputTokens } : {}),
    },
    ranking: ranking.map((r) => ({ ...r, head: judged.find((x) => x.name === r.replica)!.head })),
    unranked,
  };
  await saveJudgement(kube, ns, j);
  return j;
}
