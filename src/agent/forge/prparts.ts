/**
 * What `session pr` of one repository (pr.ts) and of several (prrepos.ts) share: the options and result, the
 * forge's token, the request written (opened or updated), the branch a repository started from, and the
 * session's latest run as the description tells it.
 */
import type { PathDoor } from "../../session/lifecycle/startio.ts";
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeSessions, KubeStreams } from "../../kube/seam.ts";
import { usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { checkWord, execCapture, listRuns } from "../runs/agentrun.ts";
import { type AgentRun, PROLOGUE } from "../runs/agent.ts";
import { runOutcome } from "../outcome/runtruth.ts";
import { type ForgeHostConfig, type ForgeRepo, tokenVars } from "./forgeurl.ts";
import { maskSecrets, type RunFacts } from "./body.ts";
import type { ForgeApi, PullRequest } from "./api.ts";
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
  /**
   * through a door (MCP, web UI): only a forge of the user's `forge.hosts` (prdoor.ts checkDoorForge), and a
   * session's recorded repositories only where the door lets them through (prrepos.ts)
   */
  door?: PathDoor;
  /** a session with several repositories: this one only (its directory name: prrepos.ts) */
  repo?: string;
}

export interface PrResult {
  url: string;
  number: number;
  action: "opened" | "updated";
  /** a session with several repositories: each request written (the fields above are the first's) */
  requests?: { repository: string; url: string; number: number; action: "opened" | "updated" }[];
}

/**
 * The request of `branch` written: the open one updated (its description; its title, base and draft state
 * when given), else one opened. Secrets are masked out of a given title.
 */
export async function writeRequest(
  api: ForgeApi,
  forge: ForgeRepo,
  w: { open?: PullRequest; branch: string; base: string; body: string; title: string },
  o: Pick<PrOptions, "title" | "base" | "draft" | "ready" | "err"> & { secrets: string[] },
): Promise<PullRequest> {
  const { open } = w;
  if (!open) {
    return await api.create({
      head: w.branch,
      base: w.base,
      title: maskSecrets(o.title ?? w.title, o.secrets),
      body: w.body,
      draft: !!o.draft,
    });
  }
  const pr = await api.update(open.number, {
    body: w.body,
    ...(o.title !== undefined ? { title: maskSecrets(o.title, o.secrets) } : {}),
    ...(o.base !== undefined && o.base !== open.base ? { base: o.base } : {}),
    ...(o.draft || o.ready ? { draft: !!o.draft } : {}),
  });
  if ((o.draft || o.ready) && forge.type === "github" && pr.draft !== !!o.draft) {
    o.err.write(
      `note: GitHub's REST API cannot make an open pull request ${o.draft ? "a draft" : "ready"}: ` +
        `gh pr ${o.draft ? "ready --undo" : "ready"} ${pr.number}\n`,
    );
  }
  return pr;
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

/** The branch a repository started from, or undefined for a commit (a detached HEAD, as CI checks out). */
export const startBranch = (started?: string) =>
  started && !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(started) ? started : undefined;

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
export async function latestRun(kube: KubeSessions, pod: V1Pod): Promise<RunFacts | undefined> {
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
