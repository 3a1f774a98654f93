/**
 * The forge stand-in's GitHub GraphQL (`POST /api/graphql`, as Enterprise Server serves it): the one query
 * `gh pr view NUMBER --json …` sends (`PullRequestByNumber`: repository(owner, name) { pullRequest(number)
 * { fields } }), each field asked answered from the stored request, as GitHub answers it: a request that
 * is not there is `pullRequest: null` with a NOT_FOUND error; another query is GitHub's parse error.
 */
import type { StoredPull } from "./_forge.ts";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export function graphql(
  b: { query?: unknown; variables?: Record<string, unknown> },
  pulls: StoredPull[],
  origin: string,
): Response {
  const q = String(b.query ?? "");
  const fields = /pullRequest\(number:\s*\$pr_number\)\s*\{([^}]*)\}/.exec(q)?.[1];
  const v = b.variables ?? {};
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
