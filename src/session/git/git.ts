/**
 * Git for sessions, as pure functions: which repository and branch a session clones, how it
 * authenticates, and the pieces of the pod that do it — an init container (image `git.image`) that
 * clones into the workspace only when the workspace is empty, the credentials Secret (a git
 * credential-store file, and the CA of a private HTTPS server), and the mounts that bring the
 * credentials to the init and main containers.
 *
 * Where secrets go: a token is only ever a line of the credential-store file in Secret
 * `kodama-git-NAME`, mounted read-only at GIT_MOUNT and read by a `get`-only credential helper. It is
 * never an env var of the pod spec, never in a process's arguments, never in the clone URL or
 * `.git/config`. An SSH key stays in the user's Secret (`git.secretName`), mounted with mode 0400;
 * the init container copies it to a memory-backed emptyDir with mode 0600, since ssh refuses a key
 * that fsGroup made group-readable.
 */
import { safeLine } from "../../ui/color.ts";
import type { V1Container, V1Secret, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { Config } from "../../config/schema.ts";
import { usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import RECEIVE from "../pod/receive.sh" with { type: "text" };
import CLONE from "../pod/clone.sh" with { type: "text" };

/** Where the credentials Secret is mounted (read-only). */
export const GIT_MOUNT = "/etc/kodama/git";
/** Where the SSH Secret (`git.secretName`) is mounted (read-only, mode 0400). */
export const SSH_MOUNT = "/etc/kodama/ssh";
/** A memory-backed emptyDir shared by the pod's containers: the SSH key copy (mode 0600). */
export const RUN_MOUNT = "/run/kodama";
/** The init container that clones. */
export const GIT_CONTAINER = "git-clone";
/** The line the init container ends with; `start` reads the branch and commit from it. */
export const REPORT_PREFIX = "kodama-git:";
/** The username put next to a token (GitHub takes any; `x-access-token` is its documented one). */
export const TOKEN_USER = "x-access-token";
/** Annotations with what was cloned (on the workspace volume, so they outlive a stopped pod). */
export const ANNOTATION_BRANCH = "kodama.dev/branch";
export const ANNOTATION_COMMIT = "kodama.dev/commit";
/** Run logs and prompts under the workspace: excluded from git in the clone. */
export const KODAMA_DIR = ".kodama";

export type GitAuth = "token" | "ssh" | "none";

/** The git part of a session's recorded settings (no secret values). */
export interface GitSpec {
  repo: string;
  /** the branch asked for (`--branch`, or the current branch with `--repo .`) */
  branch?: string;
  /** the branch a new branch starts from (`--base-branch`; unset: the remote's default) */
  base?: string;
  /** the branch created after the clone (automatic name, or `--branch` missing on the remote with a base) */
  newBranch?: string;
  auth: GitAuth;
  image: string;
  userName?: string;
  userEmail?: string;
  /** the SSH Secret (auth ssh) */
  sshSecret?: string;
  /** `scheme://host[:port]` the token and CA are for (a credentials Secret exists) */
  credentialsFor?: string;
  /** the credentials Secret carries `ca.crt` */
  ca?: boolean;
  /**
   * `local`: a repository on this machine (`--repo .`, a path, `file://`). A pod cannot reach it, so
   * `start` sends it as a git bundle over exec (every branch and tag) and the init container waits for it.
   */
  source?: "local";
  /** local source: the repository's upstream URL, the pod clone's `origin` */
  origin?: string;
}

export type RepoKind = "https" | "http" | "ssh" | "git" | "file" | "path";

export interface RepoUrl {
  kind: RepoKind;
  /** `scheme://host[:port]` for http(s) */
  origin?: string;
}

/** What kind of URL a repo is; credentials inside it are refused (they would land in `.git/config`). */
export function parseRepoUrl(url: string, tokenEnv = "GITHUB_TOKEN"): RepoUrl {
  const u = url.trim();
  if (!u || /\s/.test(u)) throw usageError(`invalid --repo ${quote(url)}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(u)?.[1]?.toLowerCase();
  if (scheme) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw usageError(`invalid --repo ${quote(url)}: not a URL`);
    }
    if (parsed.password || (parsed.username && (scheme === "https" || scheme === "http"))) {
      throw usageError(
        `--repo must not carry credentials (they would be stored in the clone's .git/config)`,
        `put the token in ${tokenEnv} (environment or .env): kodama hands it to git through a Secret`,
      );
    }
    switch (scheme) {
      case "https":
      case "http":
        return { kind: scheme, origin: `${scheme}://${parsed.host}` };
      case "ssh":
      case "git+ssh":
        return { kind: "ssh" };
      case "git":
        return { kind: "git" };
      case "file":
        return { kind: "file" };
      default:
        throw usageError(`unsupported --repo scheme "${scheme}://" (use https, ssh, git or file)`);
    }
  }
  // scp-like ssh (git@host:path) vs a local path (no colon before the first slash)
  if (/^[^/:]+:/.test(u) && !/^[A-Za-z]:[\\/]/.test(u)) return { kind: "ssh" };
  return { kind: "path" };
}

/** `<prefix><session>-<UTC timestamp>`, e.g. kodama/my-work-20260115143000. */
export function autoBranchName(prefix: string, session: string, now: Date): string {
  const ts = now.toISOString().replace(/\.\d+Z$/, "").replace(/[-:T]/g, "");
  return `${prefix}${session}-${ts}`;
}

/** A branch name git accepts (the common rules of `git check-ref-format --branch`). */
export function checkBranch(name: string, what: string): string {
  const bad = !name || name.startsWith("-") || name.startsWith("/") || name.endsWith("/") ||
    name.endsWith(".") || name.endsWith(".lock") || name.includes("..") || name.includes("//") ||
    name.includes("@{") || name === "@" || /[\s~^:?*[\\]/.test(name) ||
    [...name].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) ||
    name.split("/").some((p) => p.startsWith("."));
  if (bad) throw usageError(`invalid ${what} ${quote(name)}: not a valid git branch name`);
  return name;
}

export interface GitFlags {
  repo?: string;
  branch?: string;
  baseBranch?: string;
}

export interface GitInputs {
  /** a local repository's upstream URL (its credentials and origin) */
  upstream?: string;
  session: string;
  sessionImage: string;
  /** the token's value (from the env files or the local environment), when there is one */
  token?: string;
  /** the CA file's contents (git.caFile), when configured */
  ca?: string;
  now: Date;
}

/**
 * The git settings of a new session, or undefined without `--repo`. Exit 2 (before any request)
 * for a bad URL or branch name, a token asked for but missing, or SSH without a Secret.
 */
export function resolveGit(f: GitFlags, cfg: Config, inp: GitInputs): GitSpec | undefined {
  if (f.repo === undefined) {
    if (f.branch !== undefined || f.baseBranch !== undefined) {
      throw usageError(
        "--branch and --base-branch need --repo",
        "e.g. kodama start s --repo . --branch feature",
      );
    }
    return undefined;
  }
  const g = cfg.git;
  const repo = f.repo.trim();
  const given = parseRepoUrl(repo, g.tokenEnv);
  const local = given.kind === "path" || given.kind === "file";
  // a local repository is sent to the pod; only its upstream (the pod's origin) is ever fetched over the network
  const url: RepoUrl = local
    ? (inp.upstream ? parseRepoUrl(inp.upstream, g.tokenEnv) : { kind: "path" })
    : given;
  const branch = f.branch !== undefined ? checkBranch(f.branch, "--branch") : undefined;
  const base = f.baseBranch !== undefined ? checkBranch(f.baseBranch, "--base-branch") : undefined;
  const https = url.kind === "https";
  let auth: GitAuth;
  switch (g.authMethod) {
    case "token":
      if (local && !https) {
        auth = "none";
        break;
      }
      if (!https) {
        throw usageError(
          `git.authMethod is token, but ${repo} is not an https URL`,
          "tokens are sent only over https; use git.authMethod ssh for ssh URLs",
        );
      }
      if (!inp.token && local) {
        auth = "none";
        break;
      }
      if (!inp.token) {
        throw usageError(
          `git.authMethod is token, but ${g.tokenEnv} is not set (in the environment or an env file)`,
          `e.g. ${g.tokenEnv}=ghp_… in .env (git.tokenEnv names the variable)`,
        );
      }
      auth = "token";
      break;
    case "ssh":
      if (!g.secretName && local) {
        auth = "none";
        break;
      }
      if (!g.secretName) {
        throw usageError(
          "git.authMethod is ssh, but git.secretName is not set",
          "kubectl create secret generic git-ssh --from-file=ssh-privatekey=$HOME/.ssh/id_ed25519, then set git.secretName: git-ssh",
        );
      }
      auth = "ssh";
      break;
    case "none":
      auth = "none";
      break;
    default:
      auth = https && inp.token ? "token" : url.kind === "ssh" && g.secretName ? "ssh" : "none";
  }
  const credentialsFor = (auth === "token" || inp.ca) && url.origin ? url.origin : undefined;
  let newBranch: string | undefined;
  if (branch === undefined && g.autoBranch) {
    newBranch = checkBranch(autoBranchName(cfg.defaults.branchPrefix, inp.session, inp.now), "branch");
  }
  return {
    repo,
    ...(branch ? { branch } : {}),
    ...(base ? { base } : {}),
    ...(newBranch ? { newBranch } : {}),
    auth,
    image: (g.image ?? inp.sessionImage).trim(),
    ...(g.userName ? { userName: g.userName } : {}),
    ...(g.userEmail ? { userEmail: g.userEmail } : {}),
    ...(auth === "ssh" ? { sshSecret: g.secretName } : {}),
    ...(credentialsFor ? { credentialsFor } : {}),
    ...(credentialsFor && inp.ca ? { ca: true } : {}),
    ...(local ? { source: "local" as const } : {}),
    ...(local && inp.upstream ? { origin: inp.upstream } : {}),
  };
}

/** Where `start` puts a local repository's bundle in the workspace (the clone removes it). */
export function bundlePath(workdir: string): string {
  return `${workdir.replace(/\/+$/, "")}/.kodama-clone.bundle`;
}

/**
 * The exec command that writes exactly `size` bytes of stdin to the bundle (v4 exec cannot end stdin): the
 * workspace's, or `file` (one repository of several: src/session/git/repos.ts repoBundle).
 */
export function receiveBundleCommand(workdir: string, size: number, file = bundlePath(workdir)): string[] {
  return [
    "sh",
    "-c",
    RECEIVE,
    "kodama-receive",
    String(size),
    file,
  ];
}

/** The credential-store line for a token: `https://x-access-token:TOKEN@host[:port]`. */
export function credentialLine(origin: string, token: string): string {
  const u = new URL(origin);
  return `${u.protocol}//${TOKEN_USER}:${encodeURIComponent(token)}@${u.host}\n`;
}

/** The data of the credentials Secret, or undefined when the session needs none. */
export function gitSecretData(
  git: GitSpec,
  inp: { token?: string; ca?: string },
): Record<string, string> | undefined {
  if (!git.credentialsFor) return undefined;
  const data: Record<string, string> = {};
  // the file always exists, so the credential helper never fails on a missing file
  data.credentials = git.auth === "token" && inp.token ? credentialLine(git.credentialsFor, inp.token) : "";
  if (git.ca && inp.ca) data["ca.crt"] = inp.ca;
  return data;
}

export function buildGitSecret(
  meta: V1Secret["metadata"],
  data: Record<string, string>,
): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta,
    type: "Opaque",
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, new TextEncoder().encode(v).toBase64()]),
    ),
  };
}

/**
 * The clone init container's environment (pod/clone.sh reads every value from it, never from its text): the
 * workspace, the repository and branches, git's identity, the credentials it has, the local bundle.
 */
export function cloneEnv(git: GitSpec, workdir: string): { name: string; value: string }[] {
  const local = git.source === "local";
  const e: Record<string, string | undefined> = {
    KODAMA_CLONE_WS: workdir,
    KODAMA_CLONE_MODE: local ? "local" : "remote",
    KODAMA_CLONE_IMAGE: git.image,
    KODAMA_CLONE_REPO: git.repo,
    KODAMA_CLONE_BRANCH: local ? undefined : git.branch,
    KODAMA_CLONE_BASE: local ? git.branch ?? git.base : git.base,
    KODAMA_CLONE_NEW: git.newBranch,
    KODAMA_CLONE_ORIGIN: local ? git.origin : undefined,
    KODAMA_CLONE_NAME: git.userName,
    KODAMA_CLONE_EMAIL: git.userEmail,
    KODAMA_CLONE_AUTH: git.auth,
    KODAMA_CLONE_CRED: git.credentialsFor,
    KODAMA_CLONE_CA: git.ca ? "1" : undefined,
    KODAMA_CLONE_SSH: git.sshSecret,
    KODAMA_CLONE_BUNDLE: local ? bundlePath(workdir) : undefined,
  };
  return Object.entries(e).filter(([, v]) => v).map(([name, value]) => ({ name, value: value! }));
}

/** The volumes git adds to the pod. */
export function gitVolumes(git: GitSpec | undefined, secretName: string): V1Volume[] {
  if (!git) return [];
  const v: V1Volume[] = [];
  if (git.credentialsFor) {
    v.push({ name: "git-credentials", secret: { secretName, defaultMode: 0o440 } });
  }
  if (git.auth === "ssh" && git.sshSecret) {
    v.push({ name: "git-ssh", secret: { secretName: git.sshSecret, defaultMode: 0o400 } });
  }
  if (git.auth === "ssh") v.push({ name: "kodama-run", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } });
  return v;
}

/** The mounts git adds to a container (the init container and the main one alike). */
export function gitMounts(git: GitSpec | undefined): V1VolumeMount[] {
  if (!git) return [];
  const m: V1VolumeMount[] = [];
  if (git.credentialsFor) m.push({ name: "git-credentials", mountPath: GIT_MOUNT, readOnly: true });
  if (git.auth === "ssh") {
    if (git.sshSecret) m.push({ name: "git-ssh", mountPath: SSH_MOUNT, readOnly: true });
    m.push({ name: "kodama-run", mountPath: RUN_MOUNT });
  }
  return m;
}

/** The clone init container: image git.image, the same volumes and HOME as the session container. */
export function gitInitContainer(
  git: GitSpec,
  o: {
    workdir: string;
    home: string;
    session: string;
    mounts: V1VolumeMount[];
    resources: V1Container["resources"];
  },
): V1Container {
  return {
    name: GIT_CONTAINER,
    image: git.image,
    command: ["sh", "-c", CLONE, "kodama-clone"],
    workingDir: o.home,
    env: [
      { name: "HOME", value: o.home },
      { name: "KODAMA_SESSION", value: o.session },
      // never wait for a password nobody can type
      { name: "GIT_TERMINAL_PROMPT", value: "0" },
      { name: "GIT_SSH_VARIANT", value: "ssh" },
      ...cloneEnv(git, o.workdir),
    ],
    resources: o.resources,
    volumeMounts: [...o.mounts, ...gitMounts(git)],
  };
}

/** The branch and commit from the init container's log (its last report line). */
export function parseCloneReport(log: string): { branch?: string; commit?: string } | undefined {
  const line = log.split("\n").filter((l) => l.includes(REPORT_PREFIX)).at(-1);
  if (!line) return undefined;
  const m = /branch=(\S*)\s+commit=(\S*)/.exec(line.slice(line.indexOf(REPORT_PREFIX)));
  if (!m) return undefined;
  // the pod's words: a branch is shown and recorded without control characters, a commit only as hex
  const branch = safeLine(m[1]).slice(0, 255);
  const commit = /^[0-9a-f]{1,64}$/.test(m[2]) ? m[2] : "";
  return { ...(branch ? { branch } : {}), ...(commit ? { commit } : {}) };
}

/** Git's own lines from a failed clone's log (without kodama's report lines), for the error. */
export function cloneErrorLines(log: string, max = 12): string[] {
  return log.split("\n").map((l) => l.trimEnd()).filter((l) => l && !l.includes(REPORT_PREFIX)).slice(-max);
}
