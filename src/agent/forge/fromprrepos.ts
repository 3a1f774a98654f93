/**
 * `agent run NAME --continue --from-pr` of a session with several repositories (src/session/git/repos.ts):
 * each written repository's open request of `kodama/NAME` found as `session pr` finds it (its clone where
 * `start` recorded it, its push remote, forge and token), the feedback of each read, and all of it made into
 * one continuation prompt within the one budget (feedback.ts). The agent works in /workspace, so each file
 * path is given under its repository's directory (`api/src/a.ts`), each failed check and review named with
 * its repository. The threads handed over are recorded per repository (replies.ts recordHandedRepos), each
 * with its file inside its repository, so `session pr` answers each on its own request.
 */
import { notFound } from "../../base/errors.ts";
import type { StateRepo } from "../../session/state/state.ts";
import { forgeApi, forgeCall } from "./api.ts";
import { type Feedback, feedbackPrompt, type ReviewThread } from "./feedback.ts";
import { type ForgeHostConfig, forgeOf, type ForgeRepo } from "./forgeurl.ts";
import { requestWord } from "./linked.ts";
import { forgeToken } from "./prparts.ts";
import { type ForgeFeedback, readFeedback } from "./review.ts";

const WHAT = "agent run --from-pr";

/** One repository's request and what it got. */
export interface RepoFeedback {
  /** the repository's directory in the workspace */
  repo: string;
  forge: ForgeRepo;
  number: number;
  fb: ForgeFeedback;
}

/**
 * The feedback of several requests as one (pure): each thread's file under its repository's directory (a
 * thread on the whole request: the directory itself), each check and review named with its repository; and
 * for each thread given, the repository and the thread as its forge spells it (what is recorded).
 */
export function mergeFeedback(
  parts: RepoFeedback[],
): { feedback: Feedback; origin: Map<ReviewThread, { repo: string; thread: ReviewThread }> } {
  const origin = new Map<ReviewThread, { repo: string; thread: ReviewThread }>();
  const threads: ReviewThread[] = [];
  for (const p of parts) {
    for (const t of p.fb.threads) {
      const moved = { ...t, file: t.file ? `${p.repo}/${t.file.replace(/^\/+/, "")}` : p.repo };
      origin.set(moved, { repo: p.repo, thread: t });
      threads.push(moved);
    }
  }
  const requests = parts.map((p) => `${p.repo}'s ${requestWord(p.forge.type, p.number)}`).join(", ");
  return {
    feedback: {
      number: parts[0]?.number ?? 0,
      url: "",
      kind: "pull request",
      label: `the requests of this session's repositories (${requests}; every file path below starts with ` +
        "its repository's directory in the workspace)",
      threads,
      reviews: parts.flatMap((p) =>
        p.fb.reviews.map((r) => ({ ...r, author: `${r.author ?? "someone"} on ${p.repo}` }))
      ),
      checks: parts.flatMap((p) => p.fb.checks.map((c) => ({ ...c, name: `${p.repo}: ${c.name}` }))),
    },
    origin,
  };
}

/** One written repository's request, found as `session pr` finds it; undefined when it has none open. */
async function requestOf(
  r: StateRepo,
  name: string,
  o: {
    hosts?: Record<string, ForgeHostConfig>;
    env?: (name: string) => string | undefined;
    storedGithub?: () => Promise<string | undefined>;
  },
) {
  const [{ withDoorGit }, { repoRoot }, { pushRemoteOf }, { localGit }] = await Promise.all([
    import("../../session/git/doorgit.ts"),
    import("../../session/git/fetchrepos.ts"),
    import("../../session/git/push.ts"),
    import("../../session/git/gitrun.ts"),
  ]);
  const root = await repoRoot(r, WHAT);
  return await withDoorGit(root, async () => {
    const { url } = await pushRemoteOf(root);
    const forge = forgeOf(url, o.hosts);
    const { token, from } = await forgeToken(forge, o.env ?? ((n) => Deno.env.get(n)), o.storedGithub);
    const api = forgeApi(forge, token, from, WHAT);
    await api.repository();
    const branch = `kodama/${name}`;
    const open = await api.openFor(branch);
    const base = await localGit(["rev-parse", "-q", "--verify", `refs/heads/${branch}^{commit}`], root);
    return {
      repo: r.name,
      forge,
      token,
      call: forgeCall(forge, token, from, WHAT),
      open,
      ...(base.ok ? { base: base.out } : {}),
    };
  });
}

/** `--from-pr` of a session with several repositories: the same answer as one repository's (frompr.ts). */
export async function prepareFromPrRepos(
  name: string,
  repos: StateRepo[],
  o: {
    namespace: string;
    hosts?: Record<string, ForgeHostConfig>;
    budget: number;
    userPrompt?: string;
    env?: (name: string) => string | undefined;
    storedGithub?: () => Promise<string | undefined>;
    home?: string;
  },
) {
  // every written repository's token checked before any feedback is read
  const found = [];
  for (const r of repos.filter((x) => !x.readOnly)) found.push(await requestOf(r, name, o));
  const open = found.filter((f) => f.open);
  if (!open.length) {
    throw notFound(
      `${WHAT}: no open request of kodama/${name} in any of the session's repositories`,
      `open them first: kodama session pr ${name}`,
    );
  }
  const parts: RepoFeedback[] = [];
  const skipped: string[] = [];
  let outside = 0;
  for (const f of open) {
    const fb = await readFeedback(f.forge, f.call, f.open!.number, o.budget);
    parts.push({ repo: f.repo, forge: f.forge, number: f.open!.number, fb });
    outside += fb.outside ?? 0;
    skipped.push(...(fb.skipped ?? []).map((s) => `${f.repo}: ${s}`));
  }
  for (const f of found) if (!f.open) skipped.push(`${f.repo}: no open request of kodama/${name}`);
  const { feedback, origin } = mergeFeedback(parts);
  const built = feedbackPrompt(feedback, {
    budget: o.budget,
    userPrompt: o.userPrompt,
    secrets: found.map((f) => f.token),
  });
  const each = parts.map((p) => `${p.repo}'s ${requestWord(p.forge.type, p.number)}`);
  const request = each.length > 1 ? `${each.slice(0, -1).join(", ")} and ${each.at(-1)}` : each[0];
  const notes = { ...(outside ? { outside } : {}), ...(skipped.length ? { skipped } : {}) };
  if (!built) return { request, threads: 0, checks: 0, ...notes, record: () => Promise.resolve() };
  return {
    prompt: built.prompt,
    request,
    ...notes,
    threads: built.threads.length,
    checks: feedback.checks.length,
    record: async () => {
      const { recordHandedRepos } = await import("./replies.ts");
      await recordHandedRepos(
        name,
        o.namespace,
        open.map((f) => ({
          repo: f.repo,
          forge: f.forge,
          number: f.open!.number,
          ...(f.base ? { base: f.base } : {}),
          threads: built.threads.map((t) => origin.get(t)!).filter((x) => x.repo === f.repo).map((x) =>
            x.thread
          ),
        })),
        o.home,
      );
    },
  };
}
