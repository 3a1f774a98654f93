/**
 * The forge stand-in's review and CI endpoints (tests/forge/_forge.ts routes to them first), in the real
 * APIs' shapes, for `agent run --from-pr` and `session pr`'s replies:
 *
 *  - GitHub: `GET /repos/O/R/pulls/N/comments` (review comments: id, path, line, original_line, position,
 *    in_reply_to_id, user.login, body), `POST /repos/O/R/pulls/N/comments/ID/replies` (201; 404 for an unknown
 *    comment, 422 for a reply to a reply, as GitHub refuses it), `GET /repos/O/R/pulls/N/reviews`,
 *    `GET /repos/O/R/commits/SHA/check-runs` ({total_count, check_runs}), `GET /repos/O/R/actions/jobs/ID/logs`
 *    (302 to a plain-text blob URL, as GitHub answers).
 *  - GitLab: `GET /projects/P/merge_requests/IID/discussions` (id, individual_note, notes with type, system,
 *    resolvable, resolved, position.new_path/new_line), `POST …/discussions/ID/notes`,
 *    `PUT …/discussions/ID?resolved=true`, `GET /projects/P/pipelines/ID/jobs?scope[]=failed`,
 *    `GET /projects/P/jobs/ID/trace` (text/plain).
 *  - Gitea: `GET /repos/O/R/pulls/N/reviews` (state REQUEST_CHANGES …, comments_count), `GET
 *    /repos/O/R/pulls/N/reviews/ID/comments` (path, position, original_position, resolver), `GET
 *    /repos/O/R/commits/SHA/statuses`, `POST /repos/O/R/issues/N/comments`.
 */
export type Kind = "github" | "gitlab" | "gitea";

export interface StoredNote {
  kind: Kind;
  repo: string;
  number: number;
  id: number;
  /** GitLab: the discussion's id (40 hex) */
  discussion?: string;
  /** GitHub: the comment it replies to */
  inReplyTo?: number;
  /** Gitea: its review */
  review?: number;
  path?: string;
  line?: number;
  author: string;
  body: string;
  /** GitLab: a resolvable note; Gitea, GitLab: resolved; GitHub (a thread's first comment): resolved, GraphQL only */
  resolvable?: boolean;
  resolved?: boolean;
  /** a comment on the request itself (Gitea's issue comments) */
  issue?: boolean;
  /** GitHub's author_association (default COLLABORATOR) */
  association?: string;
}

export interface StoredReview {
  kind: Kind;
  repo: string;
  number: number;
  id: number;
  author: string;
  /** GitHub CHANGES_REQUESTED, APPROVED, COMMENTED; Gitea REQUEST_CHANGES, APPROVED, COMMENT */
  state: string;
  body: string;
  dismissed?: boolean;
  /** GitHub's author_association (default COLLABORATOR) */
  association?: string;
}

export interface StoredCheck {
  kind: Kind;
  repo: string;
  /** the commit it ran on */
  sha: string;
  id: number;
  name: string;
  /** GitHub a conclusion (failure, success, timed_out), GitLab a job status (failed, success), Gitea a state */
  state: string;
  log: string;
  /** GitHub: the app (github-actions has job logs) */
  app?: string;
  allowFailure?: boolean;
  /** where its log is served from instead (GitHub's logs redirect there; GitLab's trace too, when set) */
  logUrl?: string;
}

export interface FeedbackStore {
  notes: StoredNote[];
  reviews: StoredReview[];
  checks: StoredCheck[];
  nextId(): number;
}

export function feedbackStore(): FeedbackStore {
  let id = 100;
  return { notes: [], reviews: [], checks: [], nextId: () => ++id };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const text = (body: string) =>
  new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });

/** A hex discussion id of GitLab's shape from a number. */
export const discussionId = (n: number) => n.toString(16).padStart(40, "0");

/** The pipeline id GitLab gives a commit's pipeline in the stand-in. */
export const pipelineOf = (sha: string) => parseInt(sha.slice(0, 6), 16) + 1;

function page<T>(list: T[], url: URL, perName: string): T[] {
  const per = Number(url.searchParams.get(perName) ?? 30);
  const p = Number(url.searchParams.get("page") ?? 1);
  return list.slice((p - 1) * per, p * per);
}

/**
 * The answer of a review or CI endpoint, or undefined when the path is none of them. `has(repo, number)`: the
 * request exists.
 */
export function feedbackRoute(
  s: FeedbackStore,
  kind: Kind,
  method: string,
  rest: string,
  url: URL,
  b: Record<string, unknown>,
  o: { origin: string; has: (repo: string, n: number) => boolean; limited?: boolean },
): Response | undefined {
  // a token that may read the request but not its CI (a fine-grained token without checks or Actions access)
  if (
    o.limited &&
    /\/(check-runs|statuses|actions\/jobs\/\d+\/logs|pipelines\/\d+\/jobs|jobs\/\d+\/trace)$/.test(rest)
  ) {
    return kind === "gitlab"
      ? json(403, { message: "403 Forbidden" })
      : json(403, { message: "Resource not accessible by personal access token" });
  }
  const gh = (note: StoredNote) => ({
    id: note.id,
    node_id: `PRRC_${note.id}`,
    pull_request_review_id: 900 + note.id,
    path: note.path,
    line: note.line ?? null,
    original_line: note.line ?? null,
    position: note.line ?? null,
    ...(note.inReplyTo ? { in_reply_to_id: note.inReplyTo } : {}),
    user: { login: note.author, type: note.author.endsWith("[bot]") ? "Bot" : "User" },
    author_association: note.association ?? "COLLABORATOR",
    body: note.body,
    html_url: `${o.origin}/${note.repo}/pull/${note.number}#discussion_r${note.id}`,
  });
  const notesOf = (repo: string, n: number) =>
    s.notes.filter((x) => x.kind === kind && x.repo === repo && x.number === n);
  if (kind !== "gitlab") {
    let m = /^\/repos\/([^/]+)\/([^/]+)\/(.*)$/.exec(rest);
    if (!m) return undefined;
    const repo = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
    const tail = m[3];
    if ((m = /^pulls\/(\d+)\/comments$/.exec(tail)) && kind === "github" && method === "GET") {
      if (!o.has(repo, Number(m[1]))) return json(404, { message: "Not Found" });
      return json(200, page(notesOf(repo, Number(m[1])).filter((x) => !x.issue), url, "per_page").map(gh));
    }
    if ((m = /^pulls\/(\d+)\/comments\/(\d+)\/replies$/.exec(tail)) && kind === "github") {
      if (method !== "POST") return json(405, { message: "Method Not Allowed" });
      const n = Number(m[1]);
      const to = notesOf(repo, n).find((x) => x.id === Number(m![2]));
      if (!to) return json(404, { message: "Not Found" });
      if (to.inReplyTo) {
        return json(422, { message: "Validation Failed", errors: ["cannot reply to a reply"] });
      }
      if (typeof b.body !== "string" || !b.body) return json(422, { message: "Validation Failed" });
      const note: StoredNote = {
        kind,
        repo,
        number: n,
        id: s.nextId(),
        inReplyTo: to.id,
        path: to.path,
        line: to.line,
        author: "kodama-user",
        body: b.body,
      };
      s.notes.push(note);
      return json(201, gh(note));
    }
    if ((m = /^pulls\/(\d+)\/reviews$/.exec(tail)) && method === "GET") {
      const n = Number(m[1]);
      const list = s.reviews.filter((x) => x.kind === kind && x.repo === repo && x.number === n);
      return json(
        200,
        page(list, url, kind === "github" ? "per_page" : "limit").map((r) => ({
          id: r.id,
          user: { login: r.author },
          body: r.body,
          state: r.state,
          ...(kind === "github" ? { author_association: r.association ?? "COLLABORATOR" } : {}),
          ...(kind === "gitea"
            ? {
              dismissed: r.dismissed === true,
              stale: false,
              comments_count: notesOf(repo, n).filter((x) => x.review === r.id).length,
            }
            : {}),
        })),
      );
    }
    if ((m = /^pulls\/(\d+)\/reviews\/(\d+)\/comments$/.exec(tail)) && kind === "gitea" && method === "GET") {
      const list = notesOf(repo, Number(m[1])).filter((x) => x.review === Number(m![2]));
      return json(
        200,
        list.map((x) => ({
          id: x.id,
          body: x.body,
          user: { login: x.author },
          resolver: x.resolved ? { login: "reviewer" } : null,
          pull_request_review_id: x.review,
          path: x.path ?? "",
          position: x.line ?? 0,
          original_position: 0,
          commit_id: "",
          diff_hunk: "",
        })),
      );
    }
    if ((m = /^issues\/(\d+)\/comments$/.exec(tail)) && kind === "gitea") {
      const n = Number(m[1]);
      if (!o.has(repo, n)) return json(404, { message: "The target couldn't be found." });
      if (method === "GET") {
        return json(200, notesOf(repo, n).filter((x) => x.issue).map((x) => ({ id: x.id, body: x.body })));
      }
      if (typeof b.body !== "string" || !b.body) return json(422, { message: "body is required" });
      const note: StoredNote = {
        kind,
        repo,
        number: n,
        id: s.nextId(),
        author: "kodama-user",
        body: b.body,
        issue: true,
      };
      s.notes.push(note);
      return json(201, { id: note.id, body: note.body, user: { login: note.author } });
    }
    if ((m = /^commits\/([0-9a-f]{40})\/check-runs$/.exec(tail)) && kind === "github") {
      const runs = s.checks.filter((x) => x.kind === kind && x.repo === repo && x.sha === m![1]);
      return json(200, {
        total_count: runs.length,
        check_runs: runs.map((c) => ({
          id: c.id,
          name: c.name,
          head_sha: c.sha,
          status: "completed",
          conclusion: c.state,
          details_url: `${o.origin}/${repo}/actions/runs/1/job/${c.id}`,
          html_url: `${o.origin}/${repo}/runs/${c.id}`,
          app: { slug: c.app ?? "github-actions" },
          output: {
            title: `${c.name} ${c.state}`,
            summary: c.app === "github-actions" ? "" : c.log,
            text: null,
          },
        })),
      });
    }
    if ((m = /^actions\/jobs\/(\d+)\/logs$/.exec(tail)) && kind === "github") {
      const c = s.checks.find((x) => x.kind === kind && x.repo === repo && x.id === Number(m![1]));
      if (!c) return json(404, { message: "Not Found" });
      return new Response(null, {
        status: 302,
        headers: { location: c.logUrl ?? `${o.origin}/_blob/job-logs/${c.id}` },
      });
    }
    if ((m = /^commits\/([0-9a-f]{40})\/statuses$/.exec(tail)) && kind === "gitea") {
      const list = s.checks.filter((x) => x.kind === kind && x.repo === repo && x.sha === m![1]);
      return json(
        200,
        page(list, url, "limit").map((c) => ({
          id: c.id,
          state: c.state,
          status: c.state,
          context: c.name,
          description: c.log,
          target_url: `${o.origin}/${repo}/actions/runs/${c.id}`,
        })),
      );
    }
    return undefined;
  }
  let m = /^\/projects\/([^/]+)\/(.*)$/.exec(rest);
  if (!m) return undefined;
  const repo = decodeURIComponent(m[1]);
  const tail = m[2];
  const glNote = (x: StoredNote) => ({
    id: x.id,
    type: x.path ? "DiffNote" : "DiscussionNote",
    body: x.body,
    author: { username: x.author },
    system: false,
    resolvable: x.resolvable === true,
    ...(x.resolvable ? { resolved: x.resolved === true } : {}),
    ...(x.path
      ? { position: { new_path: x.path, old_path: x.path, new_line: x.line ?? null, old_line: null } }
      : {}),
  });
  if ((m = /^merge_requests\/(\d+)\/discussions$/.exec(tail)) && method === "GET") {
    const n = Number(m[1]);
    const ids = [...new Set(notesOf(repo, n).map((x) => x.discussion!))];
    const list = ids.map((d) => {
      const notes = notesOf(repo, n).filter((x) => x.discussion === d);
      return { id: d, individual_note: notes.length === 1 && !notes[0].resolvable, notes: notes.map(glNote) };
    });
    return json(200, page(list, url, "per_page"));
  }
  if ((m = /^merge_requests\/(\d+)\/discussions\/([0-9a-f]+)(\/notes)?$/.exec(tail))) {
    const n = Number(m[1]);
    const notes = notesOf(repo, n).filter((x) => x.discussion === m![2]);
    if (!notes.length) return json(404, { message: "404 Not found" });
    if (m[3] && method === "POST") {
      if (typeof b.body !== "string" || !b.body) return json(400, { error: "body is missing" });
      const note: StoredNote = {
        kind,
        repo,
        number: n,
        id: s.nextId(),
        discussion: m[2],
        author: "kodama-user",
        body: b.body,
        resolvable: notes[0].resolvable,
        resolved: notes[0].resolved,
      };
      s.notes.push(note);
      return json(201, glNote(note));
    }
    if (!m[3] && method === "PUT") {
      const r = url.searchParams.get("resolved") ?? String(b.resolved ?? "");
      if (r !== "true" && r !== "false") return json(400, { error: "resolved is missing" });
      for (const x of notes) if (x.resolvable) x.resolved = r === "true";
      return json(200, { id: m[2], notes: notes.map(glNote) });
    }
    return json(405, { message: "405 Method Not Allowed" });
  }
  if ((m = /^pipelines\/(\d+)\/jobs$/.exec(tail)) && method === "GET") {
    const scope = url.searchParams.getAll("scope[]");
    const jobs = s.checks.filter((x) =>
      x.kind === kind && x.repo === repo && pipelineOf(x.sha) === Number(m![1]) &&
      (!scope.length || scope.includes(x.state))
    );
    return json(
      200,
      page(jobs, url, "per_page").map((c) => ({
        id: c.id,
        name: c.name,
        stage: "test",
        status: c.state,
        allow_failure: c.allowFailure === true,
        web_url: `${o.origin}/${repo}/-/jobs/${c.id}`,
      })),
    );
  }
  if ((m = /^jobs\/(\d+)\/trace$/.exec(tail)) && method === "GET") {
    const c = s.checks.find((x) => x.kind === kind && x.repo === repo && x.id === Number(m![1]));
    if (c?.logUrl) return new Response(null, { status: 302, headers: { location: c.logUrl } });
    return c ? text(c.log) : json(404, { message: "404 Job Not Found" });
  }
  return undefined;
}

/** The job log blob a GitHub log URL redirects to (no token needed: the URL is the secret). */
export function blobRoute(s: FeedbackStore, path: string): Response | undefined {
  const m = /^\/_blob\/job-logs\/(\d+)$/.exec(path);
  if (!m) return undefined;
  const c = s.checks.find((x) => x.id === Number(m[1]));
  return c ? text(c.log) : new Response("gone\n", { status: 404 });
}
