/**
 * The forge stand-in's GitHub GraphQL (`POST /api/graphql`, as Enterprise Server serves it), each answer in
 * GitHub's shape, errors as GitHub gives them (HTTP 200 with `errors`):
 *
 *  - the one query `gh pr view NUMBER --json …` sends (`PullRequestByNumber`: repository(owner, name)
 *    { pullRequest(number) { fields } }), each field asked answered from the stored request; a request that
 *    is not there is `pullRequest: null` with a NOT_FOUND error;
 *  - `pullRequest(number) { reviewThreads(first, after) { pageInfo, nodes { id isResolved comments(first: 1)
 *    { nodes { databaseId } } } } }`: a thread per stored GitHub review comment that replies to none (its
 *    node id `PRRT_<id>`, resolved when the test or a mutation resolved it), in pages of `first`;
 *  - `resolveReviewThread(input: { threadId })`: the thread resolved (an unknown id is NOT_FOUND).
 *
 * Another query is GitHub's parse error.
 */
import type { StoredPull } from "./_forge.ts";
import type { FeedbackStore } from "./_forge_feedback.ts";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export function graphql(
  b: { query?: unknown; variables?: Record<string, unknown> },
  pulls: StoredPull[],
  origin: string,
  fb?: FeedbackStore,
): Response {
  const q = String(b.query ?? "");
  const fields = /pullRequest\(number:\s*\$pr_number\)\s*\{([^}]*)\}/.exec(q)?.[1];
  const v = b.variables ?? {};
  if (fb && /\breviewThreads\s*\(/.test(q)) return reviewThreads(q, v, pulls, fb);
  if (fb && /\bresolveReviewThread\s*\(/.test(q)) return resolveThread(v, fb);
  if (!/query PullRequestByNumber\b/.test(q) || fields === undefined) {
    return json(200, { errors: [{ message: "the forge stand-in answers only PullRequestByNumber" }] });
  }
  const repo = `${v.owner}/${v.repo}`;
  const pr = pulls.find((x) => x.kind === "github" && x.repo === repo && x.number === v.pr_number);
  if (!pr) {
    return json(200, {
      data: { repository: { pullRequest: null } },
      errors: [{
        type: "NOT_FOUND",
        path: ["repository", "pullRequest"],
        message: `Could not resolve to a PullRequest with the number of ${v.pr_number}.`,
      }],
    });
  }
  const all: Record<string, unknown> = {
    id: `PR_${pr.number}`,
    number: pr.number,
    title: pr.title,
    body: pr.body,
    headRefName: pr.head,
    baseRefName: pr.base,
    isDraft: pr.draft,
    state: pr.state === "open" ? "OPEN" : "CLOSED",
    url: `${origin}/${pr.repo}/pull/${pr.number}`,
  };
  const names = fields.split(/[\s,]+/).filter(Boolean);
  const unknown = names.find((n) => !(n in all));
  if (unknown) {
    return json(200, {
      errors: [{ message: `Field '${unknown}' doesn't exist on type 'PullRequest'` }],
    });
  }
  return json(200, {
    data: { repository: { pullRequest: Object.fromEntries(names.map((n) => [n, all[n]])) } },
  });
}

const notFound = (path: string[], message: string) =>
  json(200, { data: null, errors: [{ type: "NOT_FOUND", path, message }] });

/** The threads of a request, GitHub's way: a page of `first` after the cursor (a thread's index). */
function reviewThreads(
  q: string,
  v: Record<string, unknown>,
  pulls: StoredPull[],
  fb: FeedbackStore,
): Response {
  const first = Number(/reviewThreads\s*\(\s*first:\s*(\d+)/.exec(q)?.[1] ?? NaN);
  if (!(first >= 1 && first <= 100)) {
    return json(200, { errors: [{ message: "first must be between 1 and 100 on reviewThreads" }] });
  }
  const repo = `${v.owner}/${v.name}`;
  const pr = pulls.find((x) => x.kind === "github" && x.repo === repo && x.number === v.number);
  if (!pr) {
    return notFound(
      ["repository", "pullRequest"],
      `Could not resolve to a PullRequest with the number of ${v.number}.`,
    );
  }
  const roots = fb.notes.filter((x) =>
    x.kind === "github" && x.repo === repo && x.number === pr.number && !x.issue && !x.inReplyTo
  );
  const from = typeof v.after === "string" ? Number(atob(v.after)) + 1 : 0;
  const page = roots.slice(from, from + first);
  const end = from + page.length - 1;
  return json(200, {
    data: {
      repository: {
        pullRequest: {
          reviewThreads: {
            pageInfo: {
              hasNextPage: end + 1 < roots.length,
              endCursor: page.length ? btoa(String(end)) : null,
            },
            nodes: page.map((x) => ({
              id: `PRRT_${x.id}`,
              isResolved: x.resolved === true,
              comments: { nodes: [{ databaseId: x.id }] },
            })),
          },
        },
      },
    },
  });
}

function resolveThread(v: Record<string, unknown>, fb: FeedbackStore): Response {
  const id = /^PRRT_(\d+)$/.exec(String(v.thread ?? v.threadId ?? ""))?.[1];
  const root = fb.notes.find((x) => x.kind === "github" && !x.inReplyTo && String(x.id) === id);
  if (!root) {
    return notFound(
      ["resolveReviewThread"],
      `Could not resolve to a node with the global id of '${v.thread}'`,
    );
  }
  root.resolved = true;
  return json(200, {
    data: { resolveReviewThread: { thread: { id: `PRRT_${root.id}`, isResolved: true } } },
  });
}
