/**
 * `kodama session pr NAME`: the session's branch to the forge, as a pull/merge request. In order:
 *
 *  1. the forge and repository from the local repository's push remote (forgeurl.ts; the user's
 *     `forge.hosts` config), and its token from the user's environment or `agent keys` (never a repository's);
 *  2. the token checked with the API (the repository's page, which also gives its default branch): refused
 *     is exit 4 and nothing is pushed;
 *  3. `session fetch`'s own fetch (src/session/git/fetch.ts fetchInto) into `kodama/NAME`;
 *  4. that commit pushed to the remote's `kodama/NAME`, with the user's git credentials (src/session/git/push.ts);
 *  5. the open request of that head updated (its description; its title with --title), else one opened, its
 *     description built from the latest agent run (body.ts).
 *
 * All local git runs in door git (doorgit.ts): no hook and no program the repository's config names runs.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeSessions, KubeStreams } from "../../kube/seam.ts";
import { ExitCode, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { checkBranch } from "../../session/git/git.ts";
import { specOf } from "../../session/spec/spec.ts";
import { safeLine } from "../../ui/color.ts";
import { checkWord, execCapture, listRuns } from "../runs/agentrun.ts";
import { type AgentRun, PROLOGUE } from "../runs/agent.ts";
import { runOutcome } from "../outcome/runtruth.ts";
import { type ForgeHostConfig, forgeOf, type ForgeRepo, tokenVars } from "./forgeurl.ts";
import { defaultTitle, maskSecrets, prBody, type ReplicaFacts, type RunFacts } from "./body.ts";
import { formatTokens } from "../outcome/truth.ts";
import { forgeApi, forgeCall, type PullRequest } from "./api.ts";
import { checkDoorForge, prPod } from "./prdoor.ts";
import RUNFILE_SH from "../pod/runfile.sh" with { type: "text" };

const RUNFILE_SCRIPT = [...PROLOGUE, RUNFILE_SH].join("\n");

export interface PrOptions {
  base?: string;
  draft?: boolean;
  ready?: boolean;
  title?: string;
  /** move kodama/NAME and push even when they have commits the session's branch lacks (a rewritten history) */
  force?: boolean;
  /** GitLab: resolve each discussion it replies on (replies.ts) */
  resolve?: boolean;
  output?: "text" | "json";
  cwd: string;
  out: Sink;
  err: Sink;
  /** `forge.hosts` of the user's config */
  hosts?: Record<string, ForgeHostConfig>;
  /** where tokens come from: the environment, then the `agent keys` store (GitHub) */
  env?: (name: string) => string | undefined;
  storedGithub?: () => Promise<string | undefined>;
  /** through a door (MCP, web UI): only a forge of the user's `forge.hosts` (prdoor.ts checkDoorForge) */
  door?: boolean;
}

export interface PrResult {
  url: string;
  number: number;
  action: "opened" | "updated";
}

/** The forge's token and the variable it came from; exit 2 naming the variable when there is none. */
export async function forgeToken(
  f: ForgeRepo,
  env: (name: string) => string | undefined,
  storedGithub?: () => Promise<string | undefined>,
): Promise<{ token: string; from: string }> {
  const vars = tokenVars(f.type, f.host.replace(/:\d+$/, ""));
  for (const v of vars) {
    const t = env(v)?.trim();
    if (t) return { token: t, from: v };
  }
  if (f.type === "github" && storedGithub) {
    const t = (await storedGithub())?.trim();
    if (t) return { token: t, from: "the agent keys store (github)" };
  }
  throw usageError(
    `session pr: no token for ${f.host}: set ${vars.slice(0, -1).join(", ")}${vars.length > 1 ? " or " : ""}${
      vars.at(-1)
    }`,
    f.type === "github"
      ? `a token that may open pull requests on ${f.path}; or store one: kodama agent keys set github`
      : `a token that may open ${f.type === "gitlab" ? "merge" : "pull"} requests on ${f.path}`,
  );
}

/** `session pr NAME`: push the session's branch and open or update its request; prints one line or JSON. */
export async function prCommand(kube: KubeSessions, name: string, o: PrOptions): Promise<number> {
  if (o.draft && o.ready) throw usageError("session pr: --draft and --ready cannot be given together");
  if (o.base !== undefined) checkBranch(o.base, "--base");
  if (o.title !== undefined && !o.title.trim()) throw usageError("session pr: --title is empty");
  // a best-of-N group's name: its judge's rank 1 (judgecmd.ts; exit 3 without a judgement)
  name = await (await import("../group/judgecmd.ts")).prSession(kube, name, o.err);
  const [{ withDoorGit }, { localRoot, fetchInto }, { pushRemoteOf, pushCommit }] = await Promise.all([
    import("../../session/git/doorgit.ts"),
    import("../../session/git/fetch.ts"),
    import("../../session/git/push.ts"),
  ]);
  const r = await withDoorGit(o.cwd, async () => {
    const root = await localRoot(o.cwd, "session pr");
    const { url } = await pushRemoteOf(root);
    const forge = forgeOf(url, o.hosts);
    if (o.door) checkDoorForge(forge, o.hosts);
    const { token, from } = await forgeToken(forge, o.env ?? ((n) => Deno.env.get(n)), o.storedGithub);
    const api = forgeApi(forge, token, from);
    // the token first: refused, nothing is fetched or pushed
    const repo = await api.repository();
    const branch = `kodama/${name}`;
    // a stopped session: one line naming what to run first (prdoor.ts)
    const pod = await prPod(kube, kube.namespace, name);
    const fetched = await fetchInto(kube, kube.namespace, name, {
      root,
      local: branch,
      // --force: a rewritten history moves kodama/NAME too (never a checked-out branch: branchmove.ts)
      move: {
        force: o.force,
        elsewhere: `fetch it into another branch first: kodama session fetch ${name} --branch NEW`,
        forceWith: `kodama session pr ${name} --force`,
      },
    });
    const facts = await latestRun(kube, pod);
    // the branch the session started from (`start --base-branch`), else the forge's default; a commit (a
    // start from a detached HEAD, as CI checks out) is no branch to merge into
    const started = specOf(pod)?.git?.base;
    const fromBranch = started && !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(started) ? started : undefined;
    const base = o.base ?? fromBranch ?? repo.defaultBranch;
    if (!base) {
      throw usageError(
        `session pr: ${forge.host} did not say ${forge.path}'s default branch`,
        "give --base BRANCH",
      );
    }
    await pushCommit(root, {
      url,
      commit: fetched.h.head,
      branch,
      force: o.force,
      forceWith: `kodama session pr ${name} --force`,
    });
    o.err.write(`pushed ${fetched.h.head.slice(0, 12)} to ${forge.webUrl} as ${branch}\n`);
    const group = await groupFacts(kube, pod, o.err);
    const body = prBody({ session: name, branch, run: facts, ...(group ? { group } : {}), secrets: [token] });
    const open = await api.openFor(branch);
    let pr: PullRequest;
    if (open) {
      pr = await api.update(open.number, {
        body,
        ...(o.title !== undefined ? { title: maskSecrets(o.title, [token]) } : {}),
        ...(o.base !== undefined && o.base !== open.base ? { base: o.base } : {}),
        ...(o.draft || o.ready ? { draft: !!o.draft } : {}),
      });
      if ((o.draft || o.ready) && forge.type === "github" && pr.draft !== !!o.draft) {
        o.err.write(
          `note: GitHub's REST API cannot make an open pull request ${o.draft ? "a draft" : "ready"}: ` +
            `gh pr ${o.draft ? "ready --undo" : "ready"} ${pr.number}\n`,
        );
      }
    } else {
      pr = await api.create({
        head: branch,
        base,
        title: maskSecrets(o.title ?? defaultTitle(name, facts?.prompt), [token]),
        body,
        draft: !!o.draft,
      });
    }
    // the threads a --from-pr run was given whose file a newer commit changed: answered (replies.ts)
    const { answerThreads } = await import("./replies.ts");
    const answered = await answerThreads(name, {
      root,
      head: fetched.h.head,
      namespace: kube.namespace,
      forge,
      number: pr.number,
      call: forgeCall(forge, token, from),
      resolve: o.resolve,
      err: o.err,
    }).catch((e) => {
      // the request is made: a record that cannot be read or written is said, not a failure
      o.err.write(`note: no replies on review threads: ${safeLine((e as Error).message).slice(0, 200)}\n`);
      return 0;
    });
    if (answered) {
      o.err.write(`replied on ${answered} review thread${answered === 1 ? "" : "s"} it addressed\n`);
    }
    return { url: pr.url, number: pr.number, action: open ? "updated" : "opened" } satisfies PrResult;
  });
  o.out.write(
    o.output === "json"
      ? JSON.stringify(r) + "\n"
      : `pull request #${r.number}: ${safeLine(r.url)} (${r.action})\n`,
  );
  return ExitCode.OK;
}

/** One of a run's own files, its first `bytes` (runfile.sh); "" when it has none. */
async function runFile(kube: KubeStreams, pod: V1Pod, id: string, file: string, bytes: number) {
  const r = await execCapture(kube, pod, [
    "sh",
    "-c",
    RUNFILE_SCRIPT,
    "kodama-runfile",
    id,
    file,
    String(bytes),
  ]);
  return r.code === 0 ? r.stdout : "";
}

/** What the description tells of the session's latest run, or undefined when it has none. */
async function latestRun(kube: KubeSessions, pod: V1Pod): Promise<RunFacts | undefined> {
  const runs = await listRuns(kube, pod);
  const run: AgentRun | undefined = runs.at(-1);
  if (!run) return undefined;
  const [prompt, check, summary] = await Promise.all([
    runFile(kube, pod, run.id, "prompt", 8192),
    run.check ? runFile(kube, pod, run.id, "check", 1024) : Promise.resolve(""),
    run.truth?.final ? Promise.resolve("") : runFile(kube, pod, run.id, "summary", 8192),
  ]);
  const t = run.truth;
  return {
    id: run.id,
    outcome: runOutcome(run),
    ...(t?.agent ? { agent: t.agent } : {}),
    ...(run.models?.length ? { models: run.models } : t?.models?.length ? { models: t.models } : {}),
    turns: t?.turns,
    inputTokens: t?.inputTokens,
    outputTokens: t?.outputTokens,
    costUsd: t?.costUsd,
    commits: t?.commits,
    filesChanged: t?.filesChanged,
    durationSeconds: run.durationSeconds,
    ...(run.check ? { check: checkWord(run.check), checkCommand: check.trim() || undefined } : {}),
    prompt: prompt || undefined,
    final: t?.final ?? (summary || undefined),
  };
}

/** A replica's group compared (compare.ts gatherGroup), or undefined: a single session, or unreadable. */
async function groupFacts(
  kube: KubeSessions,
  pod: V1Pod,
  err: Sink,
): Promise<{ name: string; replicas: ReplicaFacts[] } | undefined> {
  const g = specOf(pod)?.group;
  if (!g) return undefined;
  try {
    const { gatherGroup } = await import("../group/compare.ts");
    const rows = await gatherGroup(kube, kube.namespace, g.name);
    return {
      name: g.name,
      replicas: rows.map((r) => ({
        name: r.name,
        outcome: r.outcome?.text ?? r.agent?.state ?? r.status,
        ...(r.check
          ? { check: r.check.state === "failed" ? `failed (${r.check.exitCode})` : r.check.state }
          : {}),
        commits: r.commits,
        files: r.diffstat?.files,
        insertions: r.diffstat?.insertions,
        deletions: r.diffstat?.deletions,
        ...(r.truth && (r.truth.inputTokens !== undefined || r.truth.outputTokens !== undefined)
          ? { tokens: formatTokens(r.truth) }
          : {}),
        costUsd: r.truth?.costUsd,
      })),
    };
  } catch (e) {
    err.write(`note: group ${g.name} could not be compared: ${(e as Error).message.split("\n")[0]}\n`);
    return undefined;
  }
}
