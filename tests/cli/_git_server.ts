/**
 * Test git repositories: a local bare repository with `main` and `feature` branches, and a small HTTPS
 * git server — git's own `git http-backend` run as CGI behind a Deno HTTPS server with a throw-away CA
 * — that requires a token as the Basic-auth password (as GitHub does). Test-cluster pods are local
 * processes, so both are reachable from them by path or 127.0.0.1.
 */
import { join } from "node:path";
import { generateCerts } from "../cluster/certs.ts";

async function git(args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const r = await new Deno.Command("git", {
    args,
    cwd,
    env: {
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.com",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${dec.decode(r.stderr)}`);
  return dec.decode(r.stdout).trim();
}
export { git as gitIn };

export interface TestRepo {
  dir: string;
  /** the bare repository (what sessions clone) */
  bare: string;
  /** a working clone of it, with `origin` = the bare repository */
  work: string;
  main: string;
  feature: string;
}

/** `dir/repo.git` (bare; main + feature, default main) and `dir/work` (a clone of it). */
export async function makeTestRepo(dir: string): Promise<TestRepo> {
  const src = join(dir, "src");
  await Deno.mkdir(src, { recursive: true });
  await git(["init", "-q", "-b", "main"], src);
  await Deno.writeTextFile(join(src, "README.md"), "hello\n");
  await git(["add", "."], src);
  await git(["commit", "-qm", "initial"], src);
  const main = await git(["rev-parse", "HEAD"], src);
  await git(["checkout", "-qb", "feature"], src);
  await Deno.writeTextFile(join(src, "feature.txt"), "feature\n");
  await git(["add", "."], src);
  await git(["commit", "-qm", "feature work"], src);
  const feature = await git(["rev-parse", "HEAD"], src);
  await git(["checkout", "-q", "main"], src);
  const bare = join(dir, "repo.git");
  await git(["clone", "-q", "--bare", src, bare], dir);
  const work = join(dir, "work");
  await git(["clone", "-q", bare, work], dir);
  return { dir, bare, work, main, feature };
}

export interface PodRepo {
  /** what `start --repo` takes: the bare repository's path, or a git:// URL a real cluster's pods reach */
  url: string;
  close(): Promise<void>;
}

/**
 * Where a session pod clones `repo` from. The test server's pods are local processes, so that is the
 * bare repository's path. A real cluster's pods do not have this machine's files: there git's own
 * daemon serves the repository, read-only, on the node's pod bridge (`KODAMA_TEST_GIT_HOST`, default
 * 10.244.0.1, as ../shared/real-cluster/README.md sets it up), on a free port, until `close`.
 */
export async function podReachableRepo(repo: TestRepo, real: boolean): Promise<PodRepo> {
  if (!real) return { url: repo.bare, close: () => Promise.resolve() };
  const host = Deno.env.get("KODAMA_TEST_GIT_HOST") ?? "10.244.0.1";
  const probe = Deno.listen({ hostname: host, port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command("git", {
    args: [
      "daemon",
      `--base-path=${repo.dir}`,
      "--export-all",
      `--listen=${host}`,
      `--port=${port}`,
      "--reuseaddr",
      repo.dir,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `git://${host}:${port}/repo.git`;
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
  };
  // ready when it answers: ls-remote through the daemon itself
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await new Deno.Command("git", { args: ["ls-remote", url], stdout: "null", stderr: "null" })
      .output();
    if (r.success) return { url, close };
    if (Date.now() > deadline) {
      await close();
      throw new Error(`git daemon on ${host}:${port} did not answer within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface GitHttpsServer {
  /** https://127.0.0.1:PORT */
  origin: string;
  /** the CA certificate (PEM) the clone must trust */
  ca: string;
  /** requests seen: the auth result of each */
  requests: { path: string; auth: "ok" | "missing" | "bad" }[];
  close(): Promise<void>;
}

/**
 * Serve the bare repositories under `root` over HTTPS at `/NAME.git`, answering 401 (with a Basic
 * challenge) unless the password is `token`.
 */
export async function startGitHttps(root: string, token: string, certDir: string): Promise<GitHttpsServer> {
  const certs = await generateCerts(certDir, {});
  const requests: GitHttpsServer["requests"] = [];
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certs.server.cert,
    key: certs.server.key,
    signal: ac.signal,
    onListen: () => {},
  }, async (req) => {
    const url = new URL(req.url);
    const h = req.headers.get("authorization");
    let auth: "ok" | "missing" | "bad" = "missing";
    if (h?.startsWith("Basic ")) {
      const [, pass] = atob(h.slice(6)).split(/:(.*)/s);
      auth = pass === token ? "ok" : "bad";
    }
    requests.push({ path: url.pathname, auth });
    if (auth !== "ok") {
      return new Response("authentication required\n", {
        status: 401,
        headers: { "WWW-Authenticate": 'Basic realm="test git"' },
      });
    }
    const cgi = new Deno.Command("git", {
      args: ["http-backend"],
      env: {
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method,
        CONTENT_TYPE: req.headers.get("content-type") ?? "",
        HTTP_CONTENT_ENCODING: req.headers.get("content-encoding") ?? "",
        GIT_PROTOCOL: req.headers.get("git-protocol") ?? "",
        REMOTE_USER: "test",
        REMOTE_ADDR: "127.0.0.1",
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array();
    const w = cgi.stdin.getWriter();
    await w.write(body);
    await w.close();
    const out = await cgi.output();
    const bytes = out.stdout;
    return cgiResponse(bytes);
  });
  const port = (server.addr as Deno.NetAddr).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    ca: certs.ca.cert,
    requests,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

/** A CGI program's output (git http-backend's) as a Response: its headers, a blank line, the body. */
export function cgiResponse(bytes: Uint8Array<ArrayBuffer>): Response {
  let split = -1;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      split = i;
      break;
    }
  }
  if (split < 0) return new Response("bad CGI output\n", { status: 500 });
  const headers = new Headers();
  let status = 200;
  for (const line of new TextDecoder().decode(bytes.subarray(0, split)).split("\r\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const k = line.slice(0, i).trim(), v = line.slice(i + 1).trim();
    if (k.toLowerCase() === "status") status = parseInt(v, 10);
    else headers.append(k, v);
  }
  return new Response(bytes.subarray(split + 4), { status, headers });
}
