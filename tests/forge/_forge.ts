/**
 * A forge stand-in for tests: one Deno.serve server on 127.0.0.1 that speaks the subset of GitHub's
 * (/api/v3, as Enterprise Server serves it), GitLab's (/api/v4) and Gitea's (/api/v1) REST APIs that
 * `session pr` uses — the repository, open requests by head branch, create, update, get — and git's smart
 * HTTP, by running the real `git http-backend` CGI over the bare repositories under `root`
 * (`root/OWNER/REPO.git`, served at `/OWNER/REPO.git`), so a push really lands.
 *
 * As the real ones: a wrong or missing token is 401 with the forge's own body (GitHub `Bad credentials`,
 * GitLab `401 Unauthorized`, Gitea `token is required` / `user does not exist`); a repository that is not
 * there is 404; a request whose head or base branch the repository lacks is 422 (GitHub, Gitea) or 400
 * (GitLab); a second open request of the same head is 422 / 409 / 409. git's smart HTTP wants Basic auth
 * with `gitPassword` (401 with a Basic challenge otherwise), as a forge's git over https does. With `tls` it
 * serves https, and GitHub's GraphQL for `gh pr view` (tests/forge/_graphql.ts).
 */
import { cgiResponse } from "../cli/_git_server.ts";
import {
  blobRoute,
  feedbackRoute,
  type FeedbackStore,
  feedbackStore,
  pipelineOf,
} from "./_forge_feedback.ts";
import { graphql } from "./_graphql.ts";
import { join } from "node:path";

export type ForgeKind = "github" | "gitlab" | "gitea";

export interface StoredPull {
  kind: ForgeKind;
  /** `owner/repo` (GitLab: the project's path) */
  repo: string;
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: "open" | "closed";
  /** how many times it was changed after it was made */
  updates: number;
  /** its head branch's commit, as last seen */
  sha?: string;
}

export interface ForgeStandIn {
  /** http://127.0.0.1:PORT (https with `tls`) */
  origin: string;
  /** `127.0.0.1:PORT`: the key of forge.hosts */
  host: string;
  /** where the bare repositories are */
  root: string;
  token: string;
  gitPassword: string;
  /** every request: method, path, and whether its token (API) or password (git) was right */
  requests: { method: string; path: string; auth: "ok" | "bad" | "missing" }[];
  pulls: StoredPull[];
  /** review comments, reviews and checks (tests/forge/_forge_feedback.ts): tests add to them, replies land in them */
  feedback: FeedbackStore;
  /** the commit of a branch of a repository, "" when it has none */
  headSha(path: string, branch: string): Promise<string>;
  /** `root/OWNER/REPO.git`, a bare repository with `main` (one commit) */
  addRepo(path: string): Promise<string>;
  /** the git URL of a repository: http://127.0.0.1:PORT/OWNER/REPO.git */
  gitUrl(path: string): string;
  close(): Promise<void>;
}

async function git(args: string[], cwd?: string): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command("git", {
    args,
    cwd,
    env: {
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "Forge",
      GIT_AUTHOR_EMAIL: "forge@example.com",
      GIT_COMMITTER_NAME: "Forge",
      GIT_COMMITTER_EMAIL: "forge@example.com",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { ok: r.success, out: new TextDecoder().decode(r.stdout).trim() };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export async function startForge(
  o: {
    token?: string;
    gitPassword?: string;
    root?: string;
    limitedToken?: string;
    /** serve https with this certificate (for gh, which reaches an Enterprise Server host only over https) */
    tls?: { cert: string; key: string };
  } = {},
): Promise<ForgeStandIn> {
  const root = o.root ?? await Deno.makeTempDir({ prefix: "kodama-forge-" });
  const token = o.token ?? `forge-${crypto.randomUUID()}`;
  const gitPassword = o.gitPassword ?? `git-${crypto.randomUUID()}`;
  const requests: ForgeStandIn["requests"] = [];
  const pulls: StoredPull[] = [];
  const fb = feedbackStore();
  const ac = new AbortController();
  let origin = "";

  const bareOf = (path: string) => join(root, ...path.split("/")) + ".git";
  const exists = (path: string) => Deno.stat(bareOf(path)).then((s) => s.isDirectory, () => false);
  const hasBranch = async (path: string, b: string) =>
    (await git(["--git-dir", bareOf(path), "rev-parse", "-q", "--verify", `refs/heads/${b}^{commit}`])).ok;
  const headSha = async (path: string, b: string) =>
    (await git(["--git-dir", bareOf(path), "rev-parse", "-q", "--verify", `refs/heads/${b}^{commit}`])).out;
  const defaultBranch = async (path: string) =>
    (await git(["--git-dir", bareOf(path), "symbolic-ref", "--short", "HEAD"])).out || "main";

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const p = decodeURIComponent(url.pathname);
    const blob = blobRoute(fb, url.pathname);
    if (blob) {
      requests.push({ method: req.method, path: url.pathname, auth: "missing" });
      return blob;
    }
    if (/\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(p)) return await smartHttp(req, url);
    if (url.pathname === "/api/graphql" && req.method === "POST") {
      const given = tokenOf("github", req.headers);
      // the limited token reads pull requests (not CI): GraphQL takes it as REST does
      const ok = given === token || (o.limitedToken !== undefined && given === o.limitedToken);
      const auth = given === undefined ? "missing" : ok ? "ok" : "bad";
      requests.push({ method: req.method, path: url.pathname, auth });
      if (auth !== "ok") {
        return json(401, {
          message: "Bad credentials",
          documentation_url: "https://docs.github.com/graphql",
        });
      }
      return graphql(await req.json().catch(() => ({})), pulls, origin, fb);
    }
    const m = /^\/api\/(v3|v4|v1)(\/.*)$/.exec(url.pathname);
    if (!m) return new Response("not found\n", { status: 404 });
    const kind: ForgeKind = m[1] === "v3" ? "github" : m[1] === "v4" ? "gitlab" : "gitea";
    const given = tokenOf(kind, req.headers);
    const limited = o.limitedToken !== undefined && given === o.limitedToken;
    const auth = given === undefined ? "missing" : given === token || limited ? "ok" : "bad";
    requests.push({ method: req.method, path: url.pathname + url.search, auth });
    if (auth !== "ok") {
      return kind === "github"
        ? json(401, {
          message: "Bad credentials",
          documentation_url: "https://docs.github.com/rest",
          status: "401",
        })
        : kind === "gitlab"
        ? json(401, { message: "401 Unauthorized" })
        : json(401, {
          message: auth === "missing" ? "token is required" : "user does not exist [uid: 0, name: ]",
        });
    }
    const body = req.method === "GET" ? {} : await req.json().catch(() => ({})) as Record<string, unknown>;
    const rest = m[2];
    for (const x of pulls) if (x.kind === kind) x.sha = await headSha(x.repo, x.head);
    const has = (repo: string, n: number) =>
      pulls.some((x) => x.kind === kind && x.repo === repo && x.number === n);
    const fr = feedbackRoute(fb, kind, req.method, rest, url, body, { origin, has, limited });
    if (fr) return fr;
    return kind === "gitlab"
      ? await gitlab(req.method, rest, url, body)
      : await githubish(kind, req.method, rest, url, body);
  };

  function tokenOf(kind: ForgeKind, h: Headers): string | undefined {
    const a = h.get("authorization");
    if (kind === "gitlab" && h.get("private-token")) return h.get("private-token")!;
    if (!a) return undefined;
    const [scheme, value] = a.split(/\s+(.*)/s);
    if (/^bearer$/i.test(scheme)) return value;
    if (/^token$/i.test(scheme) && kind !== "gitlab") return value;
    return "";
  }

  const web = (kind: ForgeKind, pr: StoredPull) =>
    kind === "gitlab"
      ? `${origin}/${pr.repo}/-/merge_requests/${pr.number}`
      : `${origin}/${pr.repo}/${kind === "github" ? "pull" : "pulls"}/${pr.number}`;

  function asGithubish(kind: ForgeKind, pr: StoredPull) {
    return {
      number: pr.number,
      ...(kind === "github" ? { id: 1000 + pr.number, node_id: `PR_${pr.number}` } : { id: pr.number }),
      html_url: web(kind, pr),
      title: pr.title,
      body: pr.body,
      state: pr.state,
      ...(kind === "github" ? { draft: pr.draft } : {}),
      head: {
        ref: pr.head,
        sha: pr.sha ?? "",
        label: `${pr.repo.split("/")[0]}:${pr.head}`,
        repo: { full_name: pr.repo },
      },
      base: { ref: pr.base, repo: { full_name: pr.repo } },
    };
  }

  function asGitlab(pr: StoredPull) {
    return {
      id: 5000 + pr.number,
      iid: pr.number,
      web_url: web("gitlab", pr),
      title: pr.title,
      description: pr.body,
      state: pr.state === "open" ? "opened" : "closed",
      draft: /^\s*(draft:|\[draft\]|\(draft\))/i.test(pr.title),
      source_branch: pr.head,
      target_branch: pr.base,
      sha: pr.sha ?? null,
      head_pipeline: pr.sha && fb.checks.some((c) => c.kind === "gitlab" && c.sha === pr.sha)
        ? { id: pipelineOf(pr.sha), sha: pr.sha, status: "failed" }
        : null,
    };
  }

  const next = (kind: ForgeKind, repo: string) =>
    1 + Math.max(0, ...pulls.filter((x) => x.kind === kind && x.repo === repo).map((x) => x.number));

  async function githubish(
    kind: ForgeKind,
    method: string,
    rest: string,
    url: URL,
    b: Record<string, unknown>,
  ): Promise<Response> {
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/pulls(?:\/(\d+))?)?$/.exec(rest);
    const notFound = () =>
      kind === "github"
        ? json(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" })
        : json(404, { message: "The target couldn't be found.", errors: [] });
    if (!m) return notFound();
    const repo = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
    if (!(await exists(repo))) return notFound();
    const mine = pulls.filter((x) => x.kind === kind && x.repo === repo);
    if (!m[3]) {
      if (method !== "GET") return json(405, { message: "Method Not Allowed" });
      return json(200, {
        full_name: repo,
        name: m[2],
        default_branch: await defaultBranch(repo),
        ...(kind === "github" ? { permissions: { admin: false, push: true, pull: true } } : {}),
      });
    }
    if (m[4] === undefined) {
      if (method === "GET") {
        const state = url.searchParams.get("state") ?? "open";
        let list = mine.filter((x) => state === "all" || x.state === state);
        const head = url.searchParams.get("head");
        if (kind === "github" && head) {
          const [owner, ref] = head.includes(":") ? head.split(/:(.*)/s) : [repo.split("/")[0], head];
          list = owner === repo.split("/")[0] ? list.filter((x) => x.head === ref) : [];
        }
        const per = Number(url.searchParams.get(kind === "github" ? "per_page" : "limit") ?? 30);
        const page = Number(url.searchParams.get("page") ?? 1);
        return json(200, list.slice((page - 1) * per, page * per).map((x) => asGithubish(kind, x)));
      }
      if (method !== "POST") return json(405, { message: "Method Not Allowed" });
      const head = String(b.head ?? ""), base = String(b.base ?? ""), title = String(b.title ?? "");
      if (!title) return invalid(kind, "title", "missing_field");
      if (!(await hasBranch(repo, head))) return invalid(kind, "head", "invalid");
      if (!(await hasBranch(repo, base))) return invalid(kind, "base", "invalid");
      if (mine.some((x) => x.state === "open" && x.head === head && x.base === base)) {
        return kind === "github"
          ? json(422, {
            message: "Validation Failed",
            errors: [{
              resource: "PullRequest",
              code: "custom",
              message: `A pull request already exists for ${repo.split("/")[0]}:${head}.`,
            }],
          })
          : json(409, { message: "pull request already exists for these targets" });
      }
      const pr: StoredPull = {
        kind,
        repo,
        number: next(kind, repo),
        title,
        body: String(b.body ?? ""),
        head,
        base,
        draft: kind === "github" ? b.draft === true : /^\s*wip:/i.test(title),
        state: "open",
        updates: 0,
      };
      pulls.push(pr);
      return json(201, asGithubish(kind, pr));
    }
    const pr = mine.find((x) => x.number === Number(m[4]));
    if (!pr) return notFound();
    if (method === "GET") return json(200, asGithubish(kind, pr));
    if (method !== "PATCH") return json(405, { message: "Method Not Allowed" });
    if (typeof b.base === "string" && !(await hasBranch(repo, b.base))) {
      return invalid(kind, "base", "invalid");
    }
    if (typeof b.title === "string") pr.title = b.title;
    if (typeof b.body === "string") pr.body = b.body;
    if (typeof b.base === "string") pr.base = b.base;
    if (b.state === "closed" || b.state === "open") pr.state = b.state;
    if (kind === "gitea") pr.draft = /^\s*wip:/i.test(pr.title);
    pr.updates++;
    return json(kind === "github" ? 200 : 201, asGithubish(kind, pr));
  }

  function invalid(kind: ForgeKind, field: string, code: string): Response {
    return kind === "github"
      ? json(422, {
        message: "Validation Failed",
        errors: [{ resource: "PullRequest", field, code }],
        documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
      })
      : json(422, { message: `${field} is invalid`, url: `${origin}/api/swagger` });
  }

  async function gitlab(
    method: string,
    rest: string,
    url: URL,
    b: Record<string, unknown>,
  ): Promise<Response> {
    // the project's id is its URL-encoded path: one segment on the wire
    const m = /^\/projects\/([^/]+)(\/merge_requests(?:\/(\d+))?)?$/.exec(rest);
    const notFound = () => json(404, { message: "404 Project Not Found" });
    if (!m) return json(404, { error: "404 Not Found" });
    const repo = decodeURIComponent(m[1]);
    if (!(await exists(repo))) return notFound();
    const mine = pulls.filter((x) => x.kind === "gitlab" && x.repo === repo);
    if (!m[2]) {
      return json(200, {
        id: 42,
        path_with_namespace: repo,
        default_branch: await defaultBranch(repo),
        web_url: `${origin}/${repo}`,
      });
    }
    if (m[3] === undefined) {
      if (method === "GET") {
        const state = url.searchParams.get("state") ?? "all";
        const src = url.searchParams.get("source_branch");
        const list = mine.filter((x) =>
          (state === "all" || (state === "opened" ? x.state === "open" : x.state === "closed")) &&
          (!src || x.head === src)
        );
        return json(200, list.map(asGitlab));
      }
      if (method !== "POST") return json(405, { message: "405 Method Not Allowed" });
      const head = String(b.source_branch ?? ""), base = String(b.target_branch ?? "");
      const title = String(b.title ?? "");
      if (!title) return json(400, { error: "title is missing" });
      if (!(await hasBranch(repo, head))) return json(400, { message: ["Source branch does not exist"] });
      if (!(await hasBranch(repo, base))) return json(400, { message: ["Target branch does not exist"] });
      const dup = mine.find((x) => x.state === "open" && x.head === head && x.base === base);
      if (dup) {
        return json(409, {
          message: [`Another open merge request already exists for this source branch: !${dup.number}`],
        });
      }
      const pr: StoredPull = {
        kind: "gitlab",
        repo,
        number: next("gitlab", repo),
        title,
        body: String(b.description ?? ""),
        head,
        base,
        draft: /^\s*draft:/i.test(title),
        state: "open",
        updates: 0,
      };
      pulls.push(pr);
      return json(201, asGitlab(pr));
    }
    const pr = mine.find((x) => x.number === Number(m[3]));
    if (!pr) return json(404, { message: "404 Not found" });
    if (method === "GET") return json(200, asGitlab(pr));
    if (method !== "PUT") return json(405, { message: "405 Method Not Allowed" });
    if (typeof b.title === "string") pr.title = b.title;
    if (typeof b.description === "string") pr.body = b.description;
    if (typeof b.target_branch === "string") pr.base = b.target_branch;
    pr.draft = /^\s*draft:/i.test(pr.title);
    pr.updates++;
    return json(200, asGitlab(pr));
  }

  async function smartHttp(req: Request, url: URL): Promise<Response> {
    const h = req.headers.get("authorization");
    let auth: "ok" | "bad" | "missing" = "missing";
    if (h?.startsWith("Basic ")) auth = atob(h.slice(6)).split(/:(.*)/s)[1] === gitPassword ? "ok" : "bad";
    requests.push({ method: req.method, path: url.pathname + url.search, auth });
    if (auth !== "ok") {
      return new Response("authentication required\n", {
        status: 401,
        headers: { "WWW-Authenticate": 'Basic realm="forge stand-in"' },
      });
    }
    const cgi = new Deno.Command("git", {
      args: ["http-backend"],
      env: {
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_CONFIG_NOSYSTEM: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method,
        CONTENT_TYPE: req.headers.get("content-type") ?? "",
        HTTP_CONTENT_ENCODING: req.headers.get("content-encoding") ?? "",
        GIT_PROTOCOL: req.headers.get("git-protocol") ?? "",
        REMOTE_USER: "tester",
        REMOTE_ADDR: "127.0.0.1",
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const w = cgi.stdin.getWriter();
    await w.write(req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array());
    await w.close();
    return cgiResponse((await cgi.output()).stdout);
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {}, ...(o.tls ?? {}) },
    handler,
  );
  const port = (server.addr as Deno.NetAddr).port;
  origin = `${o.tls ? "https" : "http"}://127.0.0.1:${port}`;
  return {
    origin,
    host: `127.0.0.1:${port}`,
    root,
    token,
    gitPassword,
    requests,
    pulls,
    feedback: fb,
    headSha,
    gitUrl: (path) => `${origin}/${path}.git`,
    addRepo: async (path) => {
      const bare = bareOf(path);
      const src = await Deno.makeTempDir({ prefix: "kodama-forge-src-" });
      try {
        await git(["init", "-q", "-b", "main", src]);
        await Deno.writeTextFile(join(src, "README.md"), `# ${path}\n`);
        await git(["add", "."], src);
        await git(["commit", "-qm", "initial"], src);
        await Deno.mkdir(join(bare, ".."), { recursive: true });
        const r = await git(["clone", "-q", "--bare", src, bare]);
        if (!r.ok) throw new Error(`cannot make ${bare}`);
      } finally {
        await Deno.remove(src, { recursive: true });
      }
      return bare;
    },
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}
