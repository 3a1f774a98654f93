/**
 * A session's commit pushed from the laptop to the local repository's remote (`session pr`), inside door git
 * (src/session/git/doorgit.ts): the repository's config, hooks and includes are never read by git, so no
 * program the repository names runs (no hook, no `core.sshCommand`, no credential helper, no `url.*` of
 * its own). The remote's URL is read from the repository's config as data, and given to git in its
 * environment (GIT_CONFIG_COUNT, never in a process's arguments: a URL may hold a password). What reaches
 * the remote is the user's own, as their `git push` would use it: their global and system git config
 * (credential helpers, `url.*.insteadOf`), their HOME (~/.ssh, ~/.netrc), their ssh agent, askpass and
 * proxies. Only https, http and ssh are allowed; a prompt only on a terminal.
 */
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { spawnTool } from "../../base/proc/proc.ts";
import { configOf, doorGit } from "./doorgit.ts";
import { localGit } from "./gitrun.ts";

/** The user's environment a push may read besides door git's: how their own `git push` reaches a remote. */
const USER_ENV = [
  "SSH_AUTH_SOCK",
  "GIT_SSH",
  "GIT_SSH_COMMAND",
  "GIT_SSH_VARIANT",
  "GIT_ASKPASS",
  "SSH_ASKPASS",
  "DISPLAY",
  "GIT_SSL_CAINFO",
  "GIT_SSL_CAPATH",
  "GIT_CONFIG_GLOBAL",
  "GIT_CONFIG_SYSTEM",
  "GIT_CONFIG_NOSYSTEM",
  "XDG_CONFIG_HOME",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "all_proxy",
];

/** The name the remote goes by in the push's environment (never the repository's own remotes). */
const REMOTE = "kodama-push";

/**
 * The remote the current branch pushes to (`branch.B.pushRemote`, `remote.pushDefault`, `branch.B.remote`,
 * else `origin`) and its URL (`pushurl` over `url`), read as data. Must run inside door git. Exit 2 when
 * there is none.
 */
export async function pushRemoteOf(root: string): Promise<{ remote: string; url: string }> {
  const d = doorGit();
  if (!d) throw new KodamaError("pushRemoteOf runs inside door git", ExitCode.FAILED);
  const cfg = await configOf(d);
  const cur = (await localGit(["symbolic-ref", "--short", "-q", "HEAD"], root)).out;
  const remote = (cur && cfg.get(`branch.${cur}.pushremote`)) || cfg.get("remote.pushdefault") ||
    (cur && cfg.get(`branch.${cur}.remote`)) || "origin";
  const url = cfg.get(`remote.${remote}.pushurl`) || cfg.get(`remote.${remote}.url`);
  if (!url) {
    throw usageError(
      `session pr: the repository ${root} has no remote ${JSON.stringify(remote)} to push to`,
      "add the forge's repository: git remote add origin https://HOST/OWNER/REPO.git",
    );
  }
  return { remote, url };
}

/** git's lines without a password that a URL in them may hold. */
const withoutCredentials = (s: string) => s.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, "$1");

/**
 * Push `commit` to `refs/heads/BRANCH` of `url` (inside door git). `force`: also when the remote's branch
 * has commits the commit lacks (a session that rewrote its history). Exit 1 when the remote refuses
 * (non-fast-forward: the hint says --force), exit 4 when it refuses the user's credentials.
 */
export async function pushCommit(
  root: string,
  o: { url: string; commit: string; branch: string; force?: boolean; forceWith: string },
): Promise<void> {
  const d = doorGit();
  if (!d) throw new KodamaError("pushCommit runs inside door git", ExitCode.FAILED);
  const env: Record<string, string> = { ...d.env };
  // the user's own config, home and ways to the remote (their `git push`), not door git's empty ones
  for (const k of ["HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_WORK_TREE"]) {
    delete env[k];
  }
  const home = Deno.env.get("HOME");
  if (home) env.HOME = home;
  for (const k of USER_ENV) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  const terminal = Deno.stdin.isTerminal();
  if (!terminal) env.GIT_TERMINAL_PROMPT = "0";
  const cfg: [string, string][] = [
    [`remote.${REMOTE}.url`, o.url],
    // door git's scratch config allows no protocol; a push reaches the forge by these
    ["protocol.allow", "never"],
    ["protocol.https.allow", "always"],
    ["protocol.http.allow", "always"],
    ["protocol.ssh.allow", "always"],
  ];
  env.GIT_CONFIG_COUNT = String(cfg.length);
  cfg.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  const r = await spawnTool(
    "git",
    [
      "push",
      "--no-verify",
      "--porcelain",
      REMOTE,
      `${o.force ? "+" : ""}${o.commit}:refs/heads/${o.branch}`,
    ],
    "session pr needs it to push: install git",
    {
      cwd: root,
      clearEnv: true,
      env,
      stdin: terminal ? "inherit" : "null",
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  if (r.success) return;
  const dec = new TextDecoder();
  const said = withoutCredentials(`${dec.decode(r.stdout)}\n${dec.decode(r.stderr)}`);
  const lines = said.split("\n").map((l) => l.trim()).filter(Boolean);
  const why =
    lines.find((l) => /^(fatal|error|remote): /.test(l) || /\[rejected\]|\[remote rejected\]/.test(l)) ??
      lines.at(-1) ?? `exit code ${r.code}`;
  // deno-lint-ignore no-control-regex
  const line = why.replace(/[\x00-\x1f\x7f]/g, " ").slice(0, 300);
  if (/non-fast-forward|fetch first|\(stale info\)/.test(said)) {
    throw new KodamaError(
      `session pr: the remote's ${o.branch} has commits the session's branch lacks; nothing was pushed`,
      ExitCode.FAILED,
      `the session rewrote its history, or someone pushed to ${o.branch}: ${o.forceWith} replaces it`,
    );
  }
  if (
    /Authentication failed|could not read (Username|Password)|Permission denied|returned error: 40[13]|403 Forbidden/i
      .test(said)
  ) {
    throw new KodamaError(
      `session pr: the remote refused your git credentials: ${line}`,
      ExitCode.FORBIDDEN,
      "push to it once with git push (a credential helper, an ssh key), then run session pr again",
    );
  }
  throw new KodamaError(`session pr: git push failed: ${line}`, ExitCode.FAILED);
}
