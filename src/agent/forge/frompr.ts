/**
 * `agent run NAME --continue --from-pr` (and MCP's agent_run `fromPr`, the web UI's continue with `fromPr`):
 * the session's request found as `session pr` finds it — the local clone's push remote (door git), its forge
 * (the user's `forge.hosts`), the token from the user's environment or `agent keys` (never from a
 * repository, never from the caller of MCP or the web UI), the open request whose head is `kodama/NAME` —
 * then its feedback read (review.ts) and made into the continuation prompt (feedback.ts). The caller starts
 * the run with that prompt, then calls `record()`: the threads given to the agent are recorded for a later
 * `session pr` to answer (replies.ts).
 *
 * Nothing to act on (no unresolved thread, no change request, no failed check): undefined, and the caller
 * starts no run (exit 0). A session with several repositories: each one's request, in one prompt
 * (fromprrepos.ts).
 */
import type { KubeSessions } from "../../kube/seam.ts";
import { KodamaError, notFound } from "../../base/errors.ts";
import type { Config } from "../../config/schema.ts";
import { forgeApi, forgeCall } from "./api.ts";
import { type ForgeHostConfig, forgeOf } from "./forgeurl.ts";
import { forgeToken } from "./pr.ts";
import { DEFAULT_BUDGET, feedbackPrompt, MAX_BUDGET, MIN_BUDGET } from "./feedback.ts";
import { readFeedback } from "./review.ts";
import { recordHanded } from "./replies.ts";
import { usageError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";

const WHAT = "agent run --from-pr";

export interface FromPrOptions {
  /** the local clone of the session's repository */
  cwd: string;
  /** the session's namespace (default: the client's) */
  namespace?: string;
  /** `forge.hosts` of the user's config */
  hosts?: Record<string, ForgeHostConfig>;
  /** the feedback's most bytes (feedback.ts) */
  budget?: number;
  /** the user's own prompt: after the feedback, under "The user adds" */
  userPrompt?: string;
  env?: (name: string) => string | undefined;
  storedGithub?: () => Promise<string | undefined>;
  home?: string;
}

export interface FromPr {
  /** the continuation prompt; undefined when the request has nothing to act on (start no run) */
  prompt?: string;
  /** the request, for messages: `pull request #3`, `merge request !3` */
  request: string;
  threads: number;
  checks: number;
  /** GitHub: comments and reviews of people outside the repository, left out */
  outside?: number;
  /** what the forge would not give (its failed checks to a token without that access) */
  skipped?: string[];
  /** after the run started: the threads given to it recorded for `session pr` */
  record: () => Promise<void>;
}

/** `--from-pr-budget`: bytes, or with a K/KiB/M/MiB suffix; exit 2 outside 4 KiB … 1 MiB. */
export function parseBudget(v: string | number | undefined): number {
  if (v === undefined) return DEFAULT_BUDGET;
  const m = /^\s*(\d+)\s*(k|kb|kib|m|mb|mib)?\s*$/i.exec(String(v));
  const n = m ? Number(m[1]) * (m[2] ? (/^m/i.test(m[2]) ? 1024 * 1024 : 1024) : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < MIN_BUDGET || n > MAX_BUDGET) {
    throw usageError(
      `invalid --from-pr-budget ${JSON.stringify(String(v)).slice(0, 40)}: bytes from 4KiB to 1MiB`,
      "e.g. --from-pr-budget 64KiB",
    );
  }
  return n;
}

/** The forge's errors as this command's: `session pr:` in a shared message reads `agent run --from-pr:`. */
function relabel(e: unknown): unknown {
  if (!(e instanceof KodamaError) || !e.message.startsWith("session pr")) return e;
  return new KodamaError(e.message.replace(/^session pr\b/, WHAT), e.code, e.hint, { cause: e });
}

/** The feedback of the session's request as a continuation prompt (none when there is nothing to act on). */
export async function prepareFromPr(
  kube: KubeSessions,
  name: string,
  o: FromPrOptions,
): Promise<FromPr> {
  const [{ withDoorGit }, { localRoot }, { pushRemoteOf }, { runningPod }] = await Promise.all([
    import("../../session/git/doorgit.ts"),
    import("../../session/git/fetch.ts"),
    import("../../session/git/push.ts"),
    import("../../session/access/podexec.ts"),
  ]);
  // the session first: no such session is exit 3 before the forge is asked anything
  const namespace = o.namespace ?? kube.namespace;
  const pod = await runningPod(kube, namespace, name);
  // several repositories: each one's request, all in one prompt (fromprrepos.ts)
  const several = (await import("../../session/spec/spec.ts")).specOf(pod)?.repos?.length;
  const repos = several
    ? await (await import("../../session/git/repos.ts")).reposOf(name, namespace)
    : undefined;
  if (several && !repos) {
    throw usageError(
      `${WHAT}: session ${name} has several repositories, recorded on the machine that started it`,
      "run it there: its state file names each repository's clone",
    );
  }
  try {
    if (repos) {
      const { prepareFromPrRepos } = await import("./fromprrepos.ts");
      return await prepareFromPrRepos(name, repos, {
        ...o,
        namespace,
        budget: o.budget ?? DEFAULT_BUDGET,
      }) satisfies FromPr;
    }
    return await withDoorGit(o.cwd, async () => {
      const root = await localRoot(o.cwd, WHAT);
      const { url } = await pushRemoteOf(root);
      const forge = forgeOf(url, o.hosts);
      const { token, from } = await forgeToken(forge, o.env ?? ((n) => Deno.env.get(n)), o.storedGithub);
      const call = forgeCall(forge, token, from, WHAT);
      const api = forgeApi(forge, token, from, WHAT);
      await api.repository();
      const branch = `kodama/${name}`;
      const open = await api.openFor(branch);
      const kind = forge.type === "gitlab" ? "merge request" : "pull request";
      if (!open) {
        throw notFound(
          `${WHAT}: no open ${kind} of ${branch} on ${forge.host}/${forge.path}`,
          `open one first: kodama session pr ${name}`,
        );
      }
      const budget = o.budget ?? DEFAULT_BUDGET;
      const fb = await readFeedback(forge, call, open.number, budget);
      const built = feedbackPrompt(
        { number: open.number, url: open.url, kind, ...fb },
        { budget, userPrompt: o.userPrompt, secrets: [token] },
      );
      const request = `${kind} ${forge.type === "gitlab" ? "!" : "#"}${open.number}`;
      const outside = {
        ...(fb.outside ? { outside: fb.outside } : {}),
        ...(fb.skipped?.length ? { skipped: fb.skipped } : {}),
      };
      if (!built) return { request, threads: 0, checks: 0, ...outside, record: () => Promise.resolve() };
      const { localGit } = await import("../../session/git/gitrun.ts");
      const base = await localGit(["rev-parse", "-q", "--verify", `refs/heads/${branch}^{commit}`], root);
      return {
        prompt: built.prompt,
        request,
        ...outside,
        threads: built.threads.length,
        checks: fb.checks.length,
        record: async () => {
          await recordHanded(
            name,
            {
              namespace: kube.namespace,
              forge,
              number: open.number,
              ...(base.ok ? { base: base.out } : {}),
            },
            built.threads,
            o.home,
          );
        },
      } satisfies FromPr;
    });
  } catch (e) {
    throw relabel(e);
  }
}

/**
 * What only the user chooses, the same for every front end: the forge hosts of their config, the token from
 * their environment or their `agent keys` store. An MCP or web caller gives none of it.
 */
export function userForgeOptions(cfg: Config): Pick<FromPrOptions, "hosts" | "storedGithub"> {
  return {
    hosts: cfg.forge.hosts,
    storedGithub: async () => {
      const keys = await import("../credentials/keys.ts");
      return await keys.getKey(await keys.defaultDeps(), "github");
    },
  };
}

/** The notes a front end says: GitHub comments of outsiders left out, what the forge would not give. */
export const outsideNote = (r: FromPr) =>
  [
    ...(r.outside
      ? [
        `${r.outside} comment${r.outside === 1 ? "" : "s"} or review${r.outside === 1 ? "" : "s"} by ` +
        "people outside the repository left out (GitHub's author_association)",
      ]
      : []),
    ...(r.skipped ?? []),
  ].map((n) => `note: ${safeLine(n).slice(0, 300)}\n`).join("");

/** The line a front end says when the request has nothing to act on. */
export const nothingToDo = (name: string, r: FromPr) =>
  `${r.request} of kodama/${name} has no unresolved review comment, no change request and no failed check: ` +
  "no run started";
