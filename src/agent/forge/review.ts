/**
 * What a pull/merge request's reviewers and CI said, read from the forge's REST API, and kodama's replies:
 *
 *  - GitHub: review comments (`GET /repos/O/R/pulls/N/comments`; a thread is a comment and those with its
 *    id as `in_reply_to_id`; open unless GraphQL's `reviewThreads` says it was resolved, or by feedback.ts
 *    githubOpen), reviews (`/pulls/N/reviews`: a reviewer's
 *    latest CHANGES_REQUESTED, not followed by their APPROVED or DISMISSED), the head commit's check runs
 *    (`/commits/SHA/check-runs`) whose conclusion is failure or timed_out, with their job's log
 *    (`/actions/jobs/ID/logs`, GitHub Actions) else their output's title, summary and text; a reply is
 *    `POST /pulls/N/comments/ID/replies`, and with --resolve GraphQL's `resolveReviewThread`.
 *  - GitLab: the request's discussions (`/merge_requests/IID/discussions`) with a note `resolvable` and not
 *    `resolved`, the head pipeline's failed jobs (`/pipelines/ID/jobs?scope[]=failed`, not allow_failure) and
 *    their trace (`/jobs/ID/trace`); a reply is a note on the discussion (`POST …/discussions/ID/notes`), and
 *    with --resolve the discussion resolved (`PUT …/discussions/ID?resolved=true`).
 *  - Gitea, Forgejo: the reviews' comments (`/pulls/N/reviews/ID/comments`; a conversation is a file and
 *    line, its first comment's `resolver` empty), a reviewer's latest REQUEST_CHANGES, the head commit's
 *    statuses (`/commits/SHA/statuses`, each context's latest) whose state is failure or error, with their
 *    description and target URL (Gitea's API gives no job log); a reply is a comment on the pull request
 *    (`POST /issues/N/comments`: its API cannot reply inside a review conversation).
 *
 * GitHub says who a comment's author is to the repository (`author_association`): only the repository's
 * people (OWNER, MEMBER, COLLABORATOR) and apps' bots (`NAME[bot]`, which comment only where the app is
 * installed) steer the agent; a comment or review of anyone else — on a public repository, any account — is
 * left out and counted (GitLab's and Gitea's lists do not say it).
 *
 * Every id that goes back into a URL is checked against its forge's shape first (digits; GitLab's hex).
 */
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { type ForgeCall, ForgeHttpError, forgeMessage } from "./api.ts";
import type { ForgeRepo } from "./forgeurl.ts";
import { type ChangeRequest, type FailedCheck, githubOpen, type ReviewThread } from "./feedback.ts";

type J = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" ? v : "");
const int = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : undefined);
const login = (u: unknown) =>
  str((u as J | undefined)?.login) || str((u as J | undefined)?.username) || undefined;
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
/** a thread's id as each forge spells it: what may go back into a URL */
export const THREAD_ID = /^(?:[0-9]{1,20}|[0-9a-f]{8,64})$/;
const PAGES = 5;

export interface ForgeFeedback {
  threads: ReviewThread[];
  reviews: ChangeRequest[];
  checks: FailedCheck[];
  /** GitHub: comments and reviews of people outside the repository, left out */
  outside?: number;
  /** what could not be read (the token may not read checks or logs): said, the rest still given */
  skipped?: string[];
}

/** Refused (403, a fine-grained token without that access) or not there: the forge's answer, not a failure. */
const unreadable = (e: unknown) =>
  e instanceof ForgeHttpError || (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN);

/** The failed checks, or none and a note when the forge will not give them: the comments still count. */
async function checksOr(skipped: string[], fn: () => Promise<FailedCheck[]>): Promise<FailedCheck[]> {
  try {
    return await fn();
  } catch (e) {
    if (!unreadable(e)) throw e;
    skipped.push(`failed checks not read: ${(e as Error).message.replace(/^[^:]+: /, "")}`);
    return [];
  }
}

/** GitHub's associations of the repository's own people: the only ones whose words reach the agent. */
export const INSIDE = ["OWNER", "MEMBER", "COLLABORATOR"];
/** Said by someone GitHub says is outside the repository (no association given: the forge cannot tell). */
const outsider = (c: J) =>
  typeof c.author_association === "string" && !INSIDE.includes(c.author_association) &&
  // an app's bot (a reviewer such as Copilot's) comments only where the app is installed: the repository's choice
  !((c.user as J | undefined)?.type === "Bot" && /\[bot\]$/.test(login(c.user) ?? ""));

/** Up to PAGES pages of a list (`page` appended). */
async function pages(call: ForgeCall, path: string, per: number): Promise<J[]> {
  const all: J[] = [];
  for (let p = 1; p <= PAGES; p++) {
    const list = await call("GET", `${path}${path.includes("?") ? "&" : "?"}page=${p}`);
    if (!Array.isArray(list)) break;
    all.push(...(list as J[]).filter((x) => x && typeof x === "object"));
    if (list.length < per) break;
  }
  return all;
}

/** A log, or undefined when the forge will not give it (expired, not a job's: the caller says something else). */
async function logOf(call: ForgeCall, path: string, tail: number): Promise<string | undefined> {
  try {
    const t = await call("GET", path, undefined, { tail });
    return typeof t === "string" ? t : undefined;
  } catch (e) {
    // refused, gone, or too slow to come whole: the check's other words stand in for it
    if (unreadable(e) || (e instanceof KodamaError && e.code === ExitCode.TIMEOUT)) return undefined;
    throw e;
  }
}

/** Reviewers' latest change requests: one per reviewer, unless they approved or were dismissed since. */
function changeRequests(reviews: J[], changes: string, settled: string[]): ChangeRequest[] {
  const latest = new Map<string, J>();
  for (const r of reviews) {
    const who = login(r.user) ?? "?";
    const st = str(r.state).toUpperCase();
    if (st === changes || settled.includes(st)) latest.set(who, r);
  }
  return [...latest.entries()]
    .filter(([, r]) => str(r.state).toUpperCase() === changes && r.dismissed !== true && str(r.body).trim())
    .map(([who, r]) => ({ author: who, body: str(r.body) }));
}

export function readFeedback(
  f: ForgeRepo,
  call: ForgeCall,
  number: number,
  tail: number,
): Promise<ForgeFeedback> {
  return f.type === "github"
    ? github(f, call, number, tail)
    : f.type === "gitlab"
    ? gitlab(f, call, number, tail)
    : gitea(f, call, number, tail);
}

const repoPath = (f: ForgeRepo) => `/repos/${encodeURIComponent(f.owner)}/${encodeURIComponent(f.repo)}`;
const projPath = (f: ForgeRepo) => `/projects/${encodeURIComponent(f.path)}`;

async function github(f: ForgeRepo, call: ForgeCall, n: number, tail: number): Promise<ForgeFeedback> {
  const repo = repoPath(f);
  const pr = await call("GET", `${repo}/pulls/${n}`) as J;
  const sha = str((pr?.head as J | undefined)?.sha);
  const all = await pages(call, `${repo}/pulls/${n}/comments?per_page=100`, 100);
  const skipped: string[] = [];
  // which threads were resolved (the button): only GraphQL says; without it, the replies alone decide
  const marked = await githubThreads(f, call, n).catch((e) => {
    if (!unreadable(e)) throw e;
    skipped.push(
      `which review threads are resolved not read: ${(e as Error).message.replace(/^[^:]+: /, "")}`,
    );
    return new Map<number, GithubThread>();
  });
  const comments = all.filter((c) => !outsider(c));
  const roots = comments.filter((c) => !int(c.in_reply_to_id) && int(c.id));
  const threads: ReviewThread[] = [];
  for (const root of roots) {
    const replies = comments.filter((c) => int(c.in_reply_to_id) === int(root.id));
    if (marked.get(int(root.id)!)?.resolved) continue;
    if (!githubOpen(replies.map((c) => ({ body: str(c.body) })))) continue;
    const line = int(root.line) ?? int(root.original_line);
    threads.push({
      id: String(root.id),
      ...(str(root.path) ? { file: str(root.path) } : {}),
      ...(line ? { line } : {}),
      ...(!int(root.line) && int(root.original_line) ? { outdated: true } : {}),
      comments: [root, ...replies].map((c) => ({ author: login(c.user), body: str(c.body) })),
    });
  }
  const reviewList = await pages(call, `${repo}/pulls/${n}/reviews?per_page=100`, 100);
  const reviews = changeRequests(
    reviewList.filter((r) => !outsider(r)),
    "CHANGES_REQUESTED",
    ["APPROVED", "DISMISSED"],
  );
  const outside = all.filter(outsider).length + reviewList.filter(outsider).length;
  const checks = await checksOr(skipped, async () => {
    const checks: FailedCheck[] = [];
    if (!SHA.test(sha)) return checks;
    const runs = await call("GET", `${repo}/commits/${sha}/check-runs?per_page=100`) as J;
    for (const r of Array.isArray(runs?.check_runs) ? runs.check_runs as J[] : []) {
      const state = str(r.conclusion);
      if (state !== "failure" && state !== "timed_out") continue;
      const out = (r.output ?? {}) as J;
      const id = int(r.id);
      const fromJob = id && str((r.app as J | undefined)?.slug) === "github-actions"
        ? await logOf(call, `${repo}/actions/jobs/${id}/logs`, tail)
        : undefined;
      checks.push({
        name: str(r.name) || "check",
        state,
        log: fromJob ?? [out.title, out.summary, out.text].map(str).filter(Boolean).join("\n\n"),
        ...(str(r.details_url) || str(r.html_url) ? { url: str(r.details_url) || str(r.html_url) } : {}),
      });
    }
    return checks;
  });
  return {
    threads,
    reviews,
    checks,
    ...(outside ? { outside } : {}),
    ...(skipped.length ? { skipped } : {}),
  };
}

/** A GitHub review thread as GraphQL has it: its node id and whether it was resolved. */
interface GithubThread {
  node: string;
  resolved: boolean;
}

const THREADS_QUERY =
  `query KodamaReviewThreads($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id isResolved comments(first: 1) { nodes { databaseId } } }
      }
    }
  }
}`;

/** One GraphQL call: its data, or the forge's errors as an HTTP error would be (GraphQL answers them 200). */
async function graphql(call: ForgeCall, query: string, variables: J): Promise<J> {
  const r = await call("POST", "", { query, variables }, { graphql: true }) as J | undefined;
  if (Array.isArray(r?.errors) && r.errors.length) throw new ForgeHttpError(200, forgeMessage(r), "GraphQL");
  const data = r?.data;
  if (!data || typeof data !== "object") throw new ForgeHttpError(200, "no data in the answer", "GraphQL");
  return data as J;
}

/**
 * The request's review threads by their first comment's REST id (`databaseId`): GitHub's REST API does not
 * say which threads were resolved, its GraphQL does. Up to PAGES pages of 100.
 */
async function githubThreads(f: ForgeRepo, call: ForgeCall, n: number): Promise<Map<number, GithubThread>> {
  const out = new Map<number, GithubThread>();
  let after: string | null = null;
  for (let p = 0; p < PAGES; p++) {
    const data = await graphql(call, THREADS_QUERY, { owner: f.owner, name: f.repo, number: n, after });
    const pr = ((data.repository as J | undefined)?.pullRequest ?? {}) as J;
    const t = (pr.reviewThreads ?? {}) as J;
    for (const node of Array.isArray(t.nodes) ? t.nodes as J[] : []) {
      const first = ((node?.comments as J | undefined)?.nodes as J[] | undefined)?.[0];
      const id = int(first?.databaseId);
      if (id && str(node.id)) out.set(id, { node: str(node.id), resolved: node.isResolved === true });
    }
    const info = (t.pageInfo ?? {}) as J;
    if (info.hasNextPage !== true || !str(info.endCursor)) break;
    after = str(info.endCursor);
  }
  return out;
}

async function gitlab(f: ForgeRepo, call: ForgeCall, n: number, tail: number): Promise<ForgeFeedback> {
  const proj = projPath(f);
  const mr = await call("GET", `${proj}/merge_requests/${n}`) as J;
  const discussions = await pages(call, `${proj}/merge_requests/${n}/discussions?per_page=100`, 100);
  const threads: ReviewThread[] = [];
  for (const d of discussions) {
    const notes = (Array.isArray(d.notes) ? d.notes as J[] : []).filter((x) => x && x.system !== true);
    if (!notes.some((x) => x.resolvable === true && x.resolved !== true)) continue;
    const id = str(d.id);
    if (!THREAD_ID.test(id)) continue;
    const pos = (notes[0].position ?? {}) as J;
    const file = str(pos.new_path) || str(pos.old_path);
    const line = int(pos.new_line) ?? int(pos.old_line);
    threads.push({
      id,
      ...(file ? { file } : {}),
      ...(line ? { line } : {}),
      comments: notes.map((x) => ({ author: login(x.author), body: str(x.body) })),
    });
  }
  const skipped: string[] = [];
  const pipeline = int((mr?.head_pipeline as J | undefined)?.id);
  const checks = await checksOr(skipped, async () => {
    const checks: FailedCheck[] = [];
    if (!pipeline) return checks;
    const jobs = await pages(call, `${proj}/pipelines/${pipeline}/jobs?scope[]=failed&per_page=100`, 100);
    for (const j of jobs) {
      const id = int(j.id);
      if (!id || str(j.status) !== "failed" || j.allow_failure === true) continue;
      const log = await logOf(call, `${proj}/jobs/${id}/trace`, tail);
      checks.push({
        name: [str(j.stage), str(j.name)].filter(Boolean).join(": ") || "job",
        state: "failed",
        log: log ?? str(j.failure_reason),
        ...(str(j.web_url) ? { url: str(j.web_url) } : {}),
      });
    }
    return checks;
  });
  return { threads, reviews: [], checks, ...(skipped.length ? { skipped } : {}) };
}

async function gitea(f: ForgeRepo, call: ForgeCall, n: number, _tail: number): Promise<ForgeFeedback> {
  const repo = repoPath(f);
  const pr = await call("GET", `${repo}/pulls/${n}`) as J;
  const sha = str((pr?.head as J | undefined)?.sha);
  const reviewList = await pages(call, `${repo}/pulls/${n}/reviews?limit=50`, 50);
  const comments: J[] = [];
  for (const r of reviewList) {
    const id = int(r.id);
    if (!id || r.dismissed === true || !(Number(r.comments_count) > 0)) continue;
    const list = await call("GET", `${repo}/pulls/${n}/reviews/${id}/comments`);
    if (Array.isArray(list)) comments.push(...(list as J[]).filter((x) => x && int(x.id)));
  }
  // a conversation: the comments on one file and line, in order; open while its first has no resolver
  comments.sort((a, b) => int(a.id)! - int(b.id)!);
  const byPlace = new Map<string, J[]>();
  for (const c of comments) {
    const key = `${str(c.path)}\0${int(c.position) ?? int(c.original_position) ?? 0}`;
    byPlace.set(key, [...(byPlace.get(key) ?? []), c]);
  }
  const threads: ReviewThread[] = [];
  for (const convo of byPlace.values()) {
    const first = convo[0];
    if ((first.resolver && typeof first.resolver === "object") || first.resolved === true) continue;
    const line = int(first.position) ?? int(first.original_position);
    threads.push({
      id: String(first.id),
      ...(str(first.path) ? { file: str(first.path) } : {}),
      ...(line ? { line } : {}),
      comments: convo.map((c) => ({ author: login(c.user), body: str(c.body) })),
    });
  }
  const reviews = changeRequests(reviewList, "REQUEST_CHANGES", ["APPROVED"]);
  const skipped: string[] = [];
  const checks = await checksOr(skipped, async () => {
    const checks: FailedCheck[] = [];
    if (!SHA.test(sha)) return checks;
    const statuses = await pages(call, `${repo}/commits/${sha}/statuses?limit=50`, 50);
    const latest = new Map<string, J>();
    for (const s of statuses) {
      const cur = latest.get(str(s.context));
      if (!cur || (int(s.id) ?? 0) > (int(cur.id) ?? 0)) latest.set(str(s.context), s);
    }
    for (const s of latest.values()) {
      const state = str(s.state) || str(s.status);
      if (state !== "failure" && state !== "error") continue;
      checks.push({
        name: str(s.context) || "status",
        state,
        log: str(s.description),
        ...(str(s.target_url) ? { url: str(s.target_url) } : {}),
      });
    }
    return checks;
  });
  return { threads, reviews, checks, ...(skipped.length ? { skipped } : {}) };
}

/**
 * Post kodama's reply on a thread (see the head of this file for where each forge takes it), and with
 * `resolve` resolve it (GitHub by GraphQL, GitLab by REST; Gitea cannot). The reply stands when resolving
 * fails: what the forge said is returned, to be said as a note (a thread replied to is not replied to again).
 */
export async function replyOn(
  f: ForgeRepo,
  call: ForgeCall,
  number: number,
  threadId: string,
  body: string,
  o: { resolve?: boolean } = {},
): Promise<string | undefined> {
  if (!THREAD_ID.test(threadId)) throw new Error(`not a thread id: ${JSON.stringify(threadId)}`);
  const id = encodeURIComponent(threadId);
  let resolve: (() => Promise<unknown>) | undefined;
  if (f.type === "github") {
    await call("POST", `${repoPath(f)}/pulls/${number}/comments/${id}/replies`, { body });
    resolve = () => resolveGithub(f, call, number, Number(threadId));
  } else if (f.type === "gitlab") {
    const d = `${projPath(f)}/merge_requests/${number}/discussions/${id}`;
    await call("POST", `${d}/notes`, { body });
    resolve = () => call("PUT", `${d}?resolved=true`);
  } else {
    await call("POST", `${repoPath(f)}/issues/${number}/comments`, { body });
  }
  if (!o.resolve || !resolve) return undefined;
  try {
    await resolve();
  } catch (e) {
    if (!unreadable(e)) throw e;
    return `not resolved: ${(e as Error).message.replace(/^[^:]+: /, "")}`;
  }
}

/** The review threads each forge call has listed, by request: the threads one `session pr` resolves share one. */
const listed = new WeakMap<ForgeCall, Map<number, Promise<Map<number, GithubThread>>>>();

/** Resolve the GitHub thread whose first comment is `rootId` (GraphQL's resolveReviewThread: REST has none). */
async function resolveGithub(f: ForgeRepo, call: ForgeCall, number: number, rootId: number): Promise<void> {
  // one listing per request for all the threads one `session pr` resolves (node ids do not change)
  const byPr = listed.get(call) ?? new Map<number, Promise<Map<number, GithubThread>>>();
  listed.set(call, byPr);
  if (!byPr.has(number)) {
    byPr.set(number, githubThreads(f, call, number).catch((e) => (byPr.delete(number), Promise.reject(e))));
  }
  const t = (await byPr.get(number)!).get(rootId);
  if (!t) throw new ForgeHttpError(404, `no review thread starts with comment ${rootId}`, "GraphQL");
  if (t.resolved) return;
  await graphql(
    call,
    "mutation KodamaResolve($thread: ID!) { resolveReviewThread(input: { threadId: $thread }) { thread { id isResolved } } }",
    { thread: t.node },
  );
}
