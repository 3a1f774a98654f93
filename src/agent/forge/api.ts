/**
 * The forges' REST APIs, the few calls `session pr` makes: the repository (which checks the token and says
 * the default branch), the open pull/merge request of a head branch, create, update. GitHub
 * (docs.github.com/rest: `Authorization: Bearer`, /repos/OWNER/REPO/pulls), GitLab (`PRIVATE-TOKEN`,
 * /projects/URL-ENCODED-PATH/merge_requests, a draft is a `Draft: ` title), Gitea and Forgejo
 * (`Authorization: token`, /repos/OWNER/REPO/pulls, a draft is a `WIP: ` title). The token is only ever in a
 * request's header: never in a message, a log or an argument. A refused token (401, 403) is exit 4.
 */
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";
import { type ForgeRepo, graphqlUrl } from "./forgeurl.ts";

/** A pull request (GitHub, Gitea) or merge request (GitLab). */
export interface PullRequest {
  /** GitHub's and Gitea's number, GitLab's iid: what the forge shows as #N or !N */
  number: number;
  url: string;
  title: string;
  draft: boolean;
  base?: string;
  /** its description as the forge gave it (undefined when its answer had none: never taken for empty) */
  body?: string;
}

export interface NewRequest {
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

export interface RequestChange {
  title?: string;
  body: string;
  base?: string;
  /** GitLab and Gitea: a draft by its title's prefix (GitHub's REST API cannot change it) */
  draft?: boolean;
}

export interface ForgeApi {
  /** the repository: checks the token (exit 4 refused, exit 3 not found) and gives its default branch */
  repository(): Promise<{ defaultBranch?: string }>;
  /** the open request whose head is `branch` in this repository */
  openFor(branch: string): Promise<PullRequest | undefined>;
  create(r: NewRequest): Promise<PullRequest>;
  update(number: number, c: RequestChange): Promise<PullRequest>;
}

const TIMEOUT_MS = 30_000;
type J = Record<string, unknown>;

/** What the forge said, in one line without control characters, at most 300 characters. */
export function forgeMessage(body: unknown): string {
  if (typeof body === "string") return safeLine(body).slice(0, 300);
  if (!body || typeof body !== "object") return "";
  const j = body as J;
  const parts: string[] = [];
  const m = j.message ?? j.error;
  if (typeof m === "string") parts.push(m);
  else if (Array.isArray(m)) parts.push(...m.filter((x) => typeof x === "string"));
  else if (m && typeof m === "object") {
    for (const [k, v] of Object.entries(m as J)) parts.push(`${k} ${Array.isArray(v) ? v.join(", ") : v}`);
  }
  if (Array.isArray(j.errors)) {
    for (const e of j.errors) {
      if (typeof e === "string") parts.push(e);
      else if (e && typeof e === "object" && typeof (e as J).message === "string") {
        parts.push((e as J).message as string);
      }
    }
  }
  return safeLine(parts.join("; ")).slice(0, 300);
}

/** How a forge call reads its answer: `tail` keeps only the last bytes of a text answer (a job's log). */
export interface CallOptions {
  tail?: number;
  /** GitHub: the call goes to its GraphQL endpoint (forgeurl.ts graphqlUrl), `path` ignored */
  graphql?: boolean;
}

/** One call of the forge's REST API: the token in its header only; refused 401/403 is exit 4. */
export type ForgeCall = (method: string, path: string, body?: unknown, o?: CallOptions) => Promise<unknown>;

/**
 * The forge's REST API with this token: `what` names the command in its errors (`session pr`,
 * `agent run --from-pr`).
 */
export function forgeCall(f: ForgeRepo, token: string, tokenVar: string, what = "session pr"): ForgeCall {
  return async (method, path, body, o = {}) => {
    const headers: Record<string, string> = { "accept": "application/json", "user-agent": "kodama" };
    if (f.type === "github") {
      headers.authorization = `Bearer ${token}`;
      headers.accept = "application/vnd.github+json";
      headers["x-github-api-version"] = "2022-11-28";
    } else if (f.type === "gitlab") headers["private-token"] = token;
    else headers.authorization = `token ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetchFollowing(o.graphql ? graphqlUrl(f.apiUrl) : `${f.apiUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      const timedOut = (e as Error).name === "TimeoutError";
      throw new KodamaError(
        `${what}: ${timedOut ? "no answer within 30 s from" : "cannot reach"} ${f.apiUrl}${
          timedOut ? "" : `: ${safeLine((e as Error).message).slice(0, 200)}`
        }`,
        timedOut ? ExitCode.TIMEOUT : ExitCode.FAILED,
        `is ${f.host} the forge's host? its API can be set in ~/.kodama/config.yaml (forge.hosts)`,
      );
    }
    let text: string;
    try {
      text = o.tail !== undefined && res.ok ? await tailOf(res, o.tail) : await headOf(res, ANSWER_MAX);
    } catch (e) {
      const timedOut = (e as Error).name === "TimeoutError";
      throw new KodamaError(
        `${what}: ${timedOut ? "no whole answer within 30 s from" : "a broken answer from"} ${f.apiUrl}`,
        timedOut ? ExitCode.TIMEOUT : ExitCode.FAILED,
      );
    }
    if (o.tail !== undefined && res.ok) return text;
    let data: unknown = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch { /* a page, not JSON: said as text */ }
    if (res.ok) return data;
    const said = forgeMessage(data) || res.statusText;
    if (res.status === 401 || res.status === 403) {
      throw new KodamaError(
        `${what}: ${f.host} refused the token in ${tokenVar} (HTTP ${res.status}${said ? `: ${said}` : ""})`,
        ExitCode.FORBIDDEN,
        what === "session pr"
          ? `give a token that may open pull requests on ${f.path} in ${tokenVar}; nothing was pushed`
          : `give a token that may read and comment on ${f.path}'s requests in ${tokenVar}; no run was started`,
      );
    }
    throw new ForgeHttpError(res.status, said, what);
  };
}

/**
 * fetch, following redirects itself: the token's headers (GitHub's Authorization, GitLab's PRIVATE-TOKEN)
 * go only to the API's own origin — a redirect elsewhere (GitHub's job logs go to a storage host) is followed
 * without them, and so is every hop after it; only a GET leaves the origin. At most 5 hops.
 */
async function fetchFollowing(url: string, init: RequestInit & { headers: Record<string, string> }) {
  let at = new URL(url);
  let headers = init.headers;
  for (let hop = 0;; hop++) {
    const res = await fetch(at, { ...init, headers, redirect: "manual" });
    const loc = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || !loc || hop >= 5) return res;
    const next = new URL(loc, at);
    const same = next.origin === at.origin;
    if (!/^https?:$/.test(next.protocol) || (!same && init.method !== "GET")) return res;
    if (init.method !== "GET" && res.status !== 307 && res.status !== 308) return res;
    if (!same) headers = { "accept": "*/*", "user-agent": "kodama" };
    await res.body?.cancel();
    at = next;
  }
}

/** An API answer's most bytes: past them it is cut (a JSON answer that large is not one kodama reads). */
const ANSWER_MAX = 32 * 1024 * 1024;

/** The first `max` bytes of a response's body (the rest not read). */
async function headOf(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of res.body) {
    parts.push(c);
    size += c.length;
    if (size >= max) break;
  }
  return new TextDecoder().decode(
    new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer()).slice(0, max),
  );
}

/** The last `max` bytes of a response's body: memory stays `max` whatever the size; time is the call's 30 s. */
async function tailOf(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  let kept = new Uint8Array(0);
  let dropped = 0;
  for await (const c of res.body) {
    const all = new Uint8Array(kept.length + c.length);
    all.set(kept);
    all.set(c, kept.length);
    const cut = Math.max(0, all.length - max);
    dropped += cut;
    kept = all.slice(cut);
  }
  const t = new TextDecoder().decode(kept);
  return dropped ? `[… ${dropped} earlier bytes left out]\n${t}` : t;
}

/** The API of the repository's forge, with this token. */
export function forgeApi(f: ForgeRepo, token: string, tokenVar: string, what = "session pr"): ForgeApi {
  const call = forgeCall(f, token, tokenVar, what);
  const ops = f.type === "github" ? github(f, call) : f.type === "gitlab" ? gitlab(f, call) : gitea(f, call);
  return {
    ...ops,
    repository: async () => {
      try {
        return await ops.repository();
      } catch (e) {
        if (e instanceof ForgeHttpError && e.status === 404) {
          throw new KodamaError(
            `${what}: no repository ${f.path} on ${f.host}, or the token in ${tokenVar} cannot see it`,
            ExitCode.NOT_FOUND,
            `check the remote's URL (${f.webUrl}) and the token's access`,
          );
        }
        throw e;
      }
    },
  };
}

/** An answer of the forge other than 2xx, 401 and 403. */
export class ForgeHttpError extends KodamaError {
  constructor(readonly status: number, said: string, what = "session pr") {
    super(`${what}: the forge answered HTTP ${status}${said ? `: ${said}` : ""}`, ExitCode.FAILED);
  }
}

type Call = ForgeCall;
type Ops = ForgeApi;

const num = (v: unknown) => typeof v === "number" ? v : Number(v);
const text = (v: unknown) => typeof v === "string" ? v : "";

function github(f: ForgeRepo, call: Call): Ops {
  const repo = `/repos/${encodeURIComponent(f.owner)}/${encodeURIComponent(f.repo)}`;
  const pr = (j: J): PullRequest => ({
    number: num(j.number),
    url: text(j.html_url),
    title: text(j.title),
    draft: j.draft === true,
    base: text((j.base as J | undefined)?.ref) || undefined,
    ...(typeof j.body === "string" ? { body: j.body } : {}),
  });
  return {
    repository: async () => ({
      defaultBranch: text(((await call("GET", repo)) as J)?.default_branch) || undefined,
    }),
    openFor: async (branch) => {
      const q = new URLSearchParams({ state: "open", head: `${f.owner}:${branch}`, per_page: "10" });
      const list = await call("GET", `${repo}/pulls?${q}`);
      const hit = Array.isArray(list)
        ? (list as J[]).find((j) => (j.head as J | undefined)?.ref === branch)
        : undefined;
      return hit ? pr(hit) : undefined;
    },
    create: async (r) =>
      pr(
        await call("POST", `${repo}/pulls`, {
          title: r.title,
          head: r.head,
          base: r.base,
          body: r.body,
          draft: r.draft,
        }) as J,
      ),
    update: async (n, c) =>
      pr(
        await call("PATCH", `${repo}/pulls/${n}`, {
          body: c.body,
          ...(c.title !== undefined ? { title: c.title } : {}),
          ...(c.base !== undefined ? { base: c.base } : {}),
        }) as J,
      ),
  };
}

/** A title with the draft prefix a forge reads (`Draft: `, `WIP: `), or without any. */
export function draftTitle(title: string, draft: boolean, prefix: string): string {
  const bare = title.replace(/^\s*(?:\[(?:draft|wip)\]|\((?:draft|wip)\)|(?:draft|wip):)\s*/i, "");
  return draft ? `${prefix}${bare}` : bare;
}

function gitlab(f: ForgeRepo, call: Call): Ops {
  const proj = `/projects/${encodeURIComponent(f.path)}`;
  const mr = (j: J): PullRequest => ({
    number: num(j.iid),
    url: text(j.web_url),
    title: text(j.title),
    draft: j.draft === true || j.work_in_progress === true,
    base: text(j.target_branch) || undefined,
    ...(typeof j.description === "string" ? { body: j.description } : {}),
  });
  return {
    repository: async () => ({
      defaultBranch: text(((await call("GET", proj)) as J)?.default_branch) || undefined,
    }),
    openFor: async (branch) => {
      const q = new URLSearchParams({ state: "opened", source_branch: branch, per_page: "10" });
      const list = await call("GET", `${proj}/merge_requests?${q}`);
      const hit = Array.isArray(list) ? (list as J[]).find((j) => j.source_branch === branch) : undefined;
      return hit ? mr(hit) : undefined;
    },
    create: async (r) =>
      mr(
        await call("POST", `${proj}/merge_requests`, {
          source_branch: r.head,
          target_branch: r.base,
          title: draftTitle(r.title, r.draft, "Draft: "),
          description: r.body,
        }) as J,
      ),
    update: async (n, c) => {
      const cur = c.draft !== undefined && c.title === undefined
        ? mr(await call("GET", `${proj}/merge_requests/${n}`) as J).title
        : c.title;
      return mr(
        await call("PUT", `${proj}/merge_requests/${n}`, {
          description: c.body,
          ...(cur !== undefined
            ? { title: c.draft !== undefined ? draftTitle(cur, c.draft, "Draft: ") : cur }
            : {}),
          ...(c.base !== undefined ? { target_branch: c.base } : {}),
        }) as J,
      );
    },
  };
}

/** Gitea lists open pull requests without a head filter: at most this many pages of 50 are read. */
const GITEA_PAGES = 20;

function gitea(f: ForgeRepo, call: Call): Ops {
  const repo = `/repos/${encodeURIComponent(f.owner)}/${encodeURIComponent(f.repo)}`;
  const pr = (j: J): PullRequest => ({
    number: num(j.number),
    url: text(j.html_url),
    title: text(j.title),
    draft: j.draft === true || /^\s*(wip|draft):/i.test(text(j.title)),
    base: text((j.base as J | undefined)?.ref) || undefined,
    ...(typeof j.body === "string" ? { body: j.body } : {}),
  });
  const sameRepo = (j: J) => {
    const full = text(((j.head as J | undefined)?.repo as J | undefined)?.full_name);
    return !full || full.toLowerCase() === f.path.toLowerCase();
  };
  return {
    repository: async () => ({
      defaultBranch: text(((await call("GET", repo)) as J)?.default_branch) || undefined,
    }),
    openFor: async (branch) => {
      for (let page = 1; page <= GITEA_PAGES; page++) {
        const list = await call("GET", `${repo}/pulls?state=open&limit=50&page=${page}`);
        if (!Array.isArray(list) || !list.length) return undefined;
        const hit = (list as J[]).find((j) => (j.head as J | undefined)?.ref === branch && sameRepo(j));
        if (hit) return pr(hit);
        if (list.length < 50) return undefined;
      }
      return undefined;
    },
    create: async (r) =>
      pr(
        await call("POST", `${repo}/pulls`, {
          head: r.head,
          base: r.base,
          title: draftTitle(r.title, r.draft, "WIP: "),
          body: r.body,
        }) as J,
      ),
    update: async (n, c) => {
      const cur = c.draft !== undefined && c.title === undefined
        ? pr(await call("GET", `${repo}/pulls/${n}`) as J).title
        : c.title;
      return pr(
        await call("PATCH", `${repo}/pulls/${n}`, {
          body: c.body,
          ...(cur !== undefined
            ? { title: c.draft !== undefined ? draftTitle(cur, c.draft, "WIP: ") : cur }
            : {}),
          ...(c.base !== undefined ? { base: c.base } : {}),
        }) as J,
      );
    },
  };
}
