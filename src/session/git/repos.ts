/**
 * A session with several repositories (`start NAME --repo ./api --repo ./web --repo ./docs:ro`), as pure
 * functions: what each `--repo` names (its directory under the workspace, read-only or not), the one line
 * the agent's prompt starts with, the clone container's environment for all of them (pod/clonemulti.sh runs
 * pod/clone.sh once per repository), and the clone's report per repository.
 *
 * A repository's directory name is one path segment from an allow-list (a letter, digit or `_` first, then
 * letters, digits, `.`, `_`, `-`; at most 64), unique whatever the case: it never climbs out of the
 * workspace, never is `.kodama` (the runs) nor a hidden name, and two never share a directory. Only the
 * person starting the session names repositories (the CLI's flags): a template or a repository's config
 * cannot add one.
 */
import { type KodamaError, usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import { safeLine } from "../../ui/color.ts";
import type { V1Container } from "@kubernetes/client-node";
import type { StateRepo } from "../state/state.ts";
import { resolve } from "../../base/fs/fspath.ts";
import { cloneEnv, type GitSpec, parseRepoUrl, REPORT_PREFIX } from "./git.ts";
import CLONE from "../pod/clone.sh" with { type: "text" };
import CLONEMULTI from "../pod/clonemulti.sh" with { type: "text" };
import INREPO from "../pod/inrepo.sh" with { type: "text" };

/** One repository of a session with several, as recorded in its spec. */
export interface SessionRepo {
  /** its directory under the workspace (`/workspace/NAME`) */
  name: string;
  /** cloned for reading: never fetched or landed (the agent is told) */
  readOnly?: boolean;
  git: GitSpec;
}

/** One `--repo` of several, as given: `PATH[=NAME][:ro]`. */
export interface RepoFlag {
  /** the repository (a path or a URL) */
  source: string;
  name: string;
  readOnly: boolean;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

/** A repository's directory name, or exit 2 (`what` says where it came from). */
export function checkRepoName(name: string, what: string): string {
  if (!SEGMENT.test(name) || name.endsWith(".lock")) {
    throw usageError(
      `invalid repository name ${quote(name)} (${what})`,
      "a directory name: a letter, digit or _ first, then letters, digits, '.', '_' or '-' (at most 64); " +
        "choose one with --repo PATH=NAME",
    );
  }
  return name;
}

/** The directory a repository gets by default: the last segment of its path or URL, without `.git`. */
export function defaultRepoName(source: string): string {
  const s = source.trim().replace(/[\\/]+$/, "").replace(/\.git$/i, "");
  const last = s.split(/[\\/:]/).filter(Boolean).at(-1) ?? "";
  return last === "." || last === "" ? "" : last;
}

/**
 * `--repo` given more than once: each value as `PATH[=NAME][:ro]`, its name checked and unique (case
 * folded). A path's default name is its directory's, resolved from `cwd` (`.` is the current directory's
 * name). Exit 2 for a bad or repeated name.
 */
export function parseRepoFlags(values: string[], cwd: string): RepoFlag[] {
  const out: RepoFlag[] = [];
  const seen = new Map<string, string>();
  for (const raw of values) {
    let v = raw.trim();
    const readOnly = /:ro$/i.test(v);
    if (readOnly) v = v.slice(0, -3);
    const eq = v.lastIndexOf("=");
    const named = eq > 0 ? v.slice(eq + 1) : undefined;
    const source = named !== undefined ? v.slice(0, eq) : v;
    if (!source) throw usageError(`invalid --repo ${quote(raw)}: no repository`, "e.g. --repo ./api=api");
    const dflt = defaultRepoName(parseRepoUrl(source).kind === "path" ? resolve(cwd, source) : source);
    const name = checkRepoName(named ?? dflt, named !== undefined ? `--repo ${raw}` : `from --repo ${raw}`);
    const key = name.toLowerCase();
    if (seen.has(key)) {
      throw usageError(
        `--repo ${raw} and --repo ${seen.get(key)} both go to /workspace/${name}`,
        "name one of them: --repo PATH=NAME",
      );
    }
    seen.set(key, raw);
    out.push({ source, name, readOnly });
  }
  return out;
}

/**
 * What a session with several repositories cannot do yet (exit 2, one line): `what` is the thing refused,
 * e.g. "sync of a session" gives "sync of a session with several repositories is not supported yet".
 */
export function multiRepoRefusal(what: string, instead = "use session fetch/land"): KodamaError {
  return usageError(`${what} with several repositories is not supported yet; ${instead}`);
}

/** The line the agent's prompt starts with in a session with several repositories. */
export function reposPromptLine(repos: Pick<SessionRepo, "name" | "readOnly">[], workdir: string): string {
  const ro = repos.filter((r) => r.readOnly).map((r) => r.name);
  return `This workspace (${workdir}) holds ${repos.length} git repositories, each in its own directory: ${
    repos.map((r) => `${r.name}/${r.readOnly ? " (read-only)" : ""}`).join(", ")
  }.${
    ro.length
      ? ` Do not change ${ro.join(", ")}: ${ro.length > 1 ? "they are" : "it is"} for reading only.`
      : ""
  } Commit your work in each repository you change.`;
}

/** The repositories that are fetched and landed (not read-only). */
export const writableRepos = <T extends Pick<SessionRepo, "readOnly">>(repos: T[]): T[] =>
  repos.filter((r) => !r.readOnly);

/** Where a repository of several goes in the pod, and where its local bundle is put first. */
export const repoDir = (workdir: string, name: string) => `${workdir.replace(/\/+$/, "")}/${name}`;
export const repoBundle = (workdir: string, name: string) =>
  `${workdir.replace(/\/+$/, "")}/.kodama-clone-${name}.bundle`;

/** What pod/clonemulti.sh reads for each repository (KODAMA_CLONE_<KEY>_<i>), the rest shared. */
const PER_REPO = [
  "WS",
  "MODE",
  "REPO",
  "BRANCH",
  "BASE",
  "NEW",
  "ORIGIN",
  "AUTH",
  "CRED",
  "CA",
  "SSH",
  "BUNDLE",
];

/**
 * The clone container's environment for several repositories: each one's clone.sh values, numbered
 * (`KODAMA_CLONE_REPO_0`…), with its label (its directory name) and the count; git's identity and the
 * image are shared. Every value stays in the environment, never in the script's text.
 */
export function multiCloneEnv(repos: SessionRepo[], workdir: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [{
    name: "KODAMA_CLONE_COUNT",
    value: String(repos.length),
  }];
  const shared = new Map<string, string>();
  repos.forEach((r, i) => {
    const ws = repoDir(workdir, r.name);
    for (const e of cloneEnv(r.git, ws)) {
      const key = e.name.slice("KODAMA_CLONE_".length);
      if (key === "BUNDLE") {
        out.push({ name: `KODAMA_CLONE_BUNDLE_${i}`, value: repoBundle(workdir, r.name) });
      } else if (PER_REPO.includes(key)) out.push({ name: `${e.name}_${i}`, value: e.value });
      else if (!shared.has(e.name)) shared.set(e.name, e.value);
    }
    out.push({ name: `KODAMA_CLONE_LABEL_${i}`, value: r.name });
  });
  return [...[...shared].map(([name, value]) => ({ name, value })), ...out];
}

/** The credentials, SSH and CA needs of all the repositories at once (for the pod's volumes and mounts). */
export function mergedGit(repos: SessionRepo[]): GitSpec {
  const first = repos[0].git;
  const ssh = repos.find((r) => r.git.auth === "ssh")?.git;
  const cred = repos.find((r) => r.git.credentialsFor)?.git;
  return {
    ...first,
    auth: ssh ? "ssh" : first.auth,
    ...(ssh?.sshSecret ? { sshSecret: ssh.sshSecret } : {}),
    ...(cred
      ? { credentialsFor: cred.credentialsFor, ...(repos.some((r) => r.git.ca) ? { ca: true } : {}) }
      : {}),
  };
}

/** The line before each repository's lines in the clone's log (pod/clonemulti.sh). */
export const REPO_MARK = "kodama-repo:";

/** Each repository's report (branch, commit) and whether its clone was skipped, from the clone's log. */
export function parseMultiReport(
  log: string,
): Map<string, { branch?: string; commit?: string; skipped: boolean }> {
  const m = new Map<string, { branch?: string; commit?: string; skipped: boolean }>();
  let cur: string | undefined;
  for (const line of log.split("\n")) {
    const i = line.indexOf(REPO_MARK);
    if (i >= 0) {
      const n = line.slice(i + REPO_MARK.length).trim();
      cur = SEGMENT.test(n) ? n : undefined;
      if (cur) m.set(cur, { skipped: false });
      continue;
    }
    if (!cur) continue;
    const r = m.get(cur)!;
    if (/clone skipped/.test(line)) r.skipped = true;
    const j = line.indexOf(REPORT_PREFIX);
    const x = j >= 0 ? /branch=(\S*)\s+commit=(\S*)/.exec(line.slice(j)) : null;
    if (x) {
      const branch = safeLine(x[1]).slice(0, 255);
      if (branch) r.branch = branch;
      if (/^[0-9a-f]{1,64}$/.test(x[2])) r.commit = x[2];
    }
  }
  return m;
}

/** `sh -c SCRIPT ARG0 ARGS…` run in repository `name`'s directory (pod/inrepo.sh); `name` must be checked. */
export function inRepo(name: string, cmd: string[]): string[] {
  if (cmd[0] !== "sh" || cmd[1] !== "-c") throw new Error("inRepo takes an `sh -c SCRIPT …` command");
  return ["sh", "-c", INREPO, "kodama-repo", checkRepoName(name, "a recorded repository"), ...cmd.slice(2)];
}

/** The session's git needs for the pod: its one repository's, or all of several at once. */
export function sessionGit(spec: { git?: GitSpec; repos?: SessionRepo[] }): GitSpec | undefined {
  return spec.repos?.length ? mergedGit(spec.repos) : spec.git;
}

/** The clone container made for one repository (git.ts gitInitContainer), turned into the one for several. */
export function multiCloneContainer(c: V1Container, repos: SessionRepo[], workdir: string): V1Container {
  const env = (c.env ?? []).filter((e) => !e.name.startsWith("KODAMA_CLONE_"));
  return {
    ...c,
    command: ["sh", "-c", CLONEMULTI, "kodama-clone", CLONE],
    env: [...env, ...multiCloneEnv(repos, workdir)],
  };
}

/**
 * The repositories of a session with several, as this machine recorded them at its start (its state file:
 * only the paths the person gave), or undefined for a session with one (or none, or another namespace's).
 */
export async function reposOf(name: string, namespace: string): Promise<StateRepo[] | undefined> {
  const { loadState } = await import("../state/state.ts");
  const st = await loadState(name).catch(() => undefined);
  return st?.repos?.length && st.namespace === namespace ? st.repos : undefined;
}

/**
 * A session's recorded repositories kept for a copy of it (`clone`, `--replace`), each one's local path and
 * read-only flag from this machine's record (`local`, its state file: only the paths the person gave to
 * `start`), never from the cluster's spec, which anyone who can edit the namespace can rewrite: the copy's
 * fetch and land then come home to the same places. Exit 2 when this machine has no record of one.
 */
export function keepLocalRepos(
  spec: SessionRepo[],
  local: StateRepo[] | undefined,
  what: string,
): SessionRepo[] {
  const out: SessionRepo[] = [];
  for (const r of local ?? []) {
    const s = spec.find((x) => x.name === r.name);
    if (!s) continue;
    out.push({
      name: checkRepoName(r.name, "this machine's record"),
      ...(r.readOnly ? { readOnly: true } : {}),
      git: { ...s.git, repo: r.path },
    });
  }
  if (!local?.length || out.length !== spec.length) {
    throw usageError(
      `${what} with several repositories needs this machine's record of each one (its state file, written by ` +
        "the start on the machine that started it)",
      "run it where the session was started, or start a new session with --repo",
    );
  }
  return out;
}
