/**
 * The I/O side of a session's git: the local repository behind `--repo .`, the clone init
 * container's log (git's own error lines for a failed start; the branch and commit it reports), and
 * recording that branch and commit on the workspace volume, where `list` and `get` read them.
 */
import type { KubeSessions, KubeStreams } from "../../kube/seam.ts";
import { isAbsolute, resolve } from "../../base/fs/fspath.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { spawnTool } from "../../base/proc/proc.ts";
import { configOf, doorGit, doorGitAsked, withDoorGit, writeRef } from "./doorgit.ts";
import type { Sink } from "../../base/sink.ts";
import {
  ANNOTATION_BRANCH,
  ANNOTATION_COMMIT,
  cloneErrorLines,
  GIT_CONTAINER,
  parseCloneReport,
  receiveBundleCommand,
} from "./git.ts";
import { parseMultiReport, REPO_MARK, repoBundle } from "./repos.ts";
import type { Shared } from "../lifecycle/shared.ts";
import type { PathDoor } from "../lifecycle/startio.ts";
import { namesOf, type SessionSpec } from "../spec/spec.ts";
import { findSessionPod } from "../state/cluster.ts";

/**
 * Every local git a session feature runs goes through here. Inside door git (src/session/git/doorgit.ts) it runs
 * against kodama's scratch git directory, with door git's environment and nothing inherited: the
 * repository's config, hooks and includes are never read. `o.env` adds kodama's own values (an object
 * directory, an index file).
 */
export function gitSpawn(args: string[], o: Deno.CommandOptions = {}): Deno.ChildProcess {
  const d = doorGit();
  const opts = d ? { ...o, clearEnv: true, env: { ...d.env, ...(o.env ?? {}) } } : o;
  return spawnTool("git", args, "--repo . and session fetch need it: install git", opts);
}

/** Repositories a door named in this process (session_start's `repo`): their git is always door git. */
const doorRoots = new Set<string>();

/** Run git locally; stdout trimmed, or undefined when it fails. Never given a secret. */
export async function localGit(
  args: string[],
  cwd: string,
): Promise<{ ok: boolean; out: string; err: string }> {
  if (!doorGit() && doorRoots.has(cwd)) return await withDoorGit(cwd, () => localGit(args, cwd));
  const r = await gitSpawn(args, { cwd, stdout: "piped", stderr: "piped", stdin: "null" }).output();
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout).trim(), err: dec.decode(r.stderr).trim() };
}

/**
 * `git update-ref -m MSG REF NOW OLD`: through a door, written by kodama with git's lock protocol (doorgit.ts
 * writeRef); `old` "" = must not exist, undefined = whatever it is.
 */
export async function updateRef(
  root: string,
  ref: string,
  now: string,
  old: string | undefined,
  msg: string,
): Promise<{ ok: boolean; err: string }> {
  const d = doorGit();
  if (!d) {
    const r = await localGit([
      "update-ref",
      "-m",
      msg,
      "--end-of-options",
      ref,
      now,
      ...(old !== undefined ? [old] : []),
    ], root);
    return { ok: r.ok, err: r.err };
  }
  try {
    await writeRef(d, ref, now, old, msg);
    return { ok: true, err: "" };
  } catch (e) {
    // a write refused (a link planted in .git): said as it is, not as a ref that moved meanwhile
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) throw e;
    return { ok: false, err: (e as Error).message };
  }
}

/**
 * A repository named through a door (an MCP client's or a page's `cwd` or `repo`): the directory, then every
 * place git reads or writes for it — its work tree, its git directory (a `.git` file may name any), a linked
 * work tree's main repository, its objects and what they borrow, the links inside `.git` — must pass the
 * door (src/base/fs/gitpaths.ts). Exit 4 otherwise; nothing is checked past the first refusal.
 */
export async function repoThroughDoor(
  door: PathDoor,
  dir: string,
  label: string,
  given?: { path: string; base: string },
): Promise<void> {
  const real = await (given ? door.path(given.path, label, given.base) : door.path(dir, label));
  const { passRepo } = await import("../../base/fs/gitpaths.ts");
  await passRepo(real, label, (p, what, grant) => door.path(p, what, undefined, grant));
}

/** A repository on this machine, as `start` sends it to the pod. */
export interface LocalSource {
  /** the repository (work tree root, or the git dir of a bare one): where git runs */
  root: string;
  /** the branch checked out (HEAD), or its commit when detached */
  head?: string;
  /** the upstream's URL when it is one a pod can reach (not a path on this machine) */
  upstream?: string;
}

const isPathUrl = (u: string) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(u) && !/^[^/:\\]+:/.test(u);

/**
 * `--repo .`, `--repo PATH`, `--repo file://…`: the local repository, its current branch and its upstream
 * (the remote of the current branch, else `origin`). Exit 2 when it is not a repository or has no commit;
 * exit 4 when it came through a door that does not let it through (repoThroughDoor).
 */
export async function localSource(repo: string, cwd: string, door?: PathDoor): Promise<LocalSource> {
  let dir = repo;
  if (/^file:\/\//i.test(dir)) {
    const { fileUrlToPath, hostPlatform } = await import("../../base/platform.ts");
    dir = fileUrlToPath(dir, hostPlatform());
  }
  const asGiven = dir;
  dir = isAbsolute(dir) ? dir : resolve(cwd, dir);
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error();
  } catch {
    throw usageError(
      `--repo ${repo}: no such directory ${dir}`,
      "give a git repository on this machine, or a URL",
    );
  }
  // through a door: the directory, and every place git keeps what is found from it; then door git only
  // (a workflow's session step asks for it with KODAMA_DOOR_GIT=1: its repository passed the workflow's check)
  if (door) {
    await repoThroughDoor(door, dir, `repository ${JSON.stringify(repo)}`, { path: asGiven, base: cwd });
  }
  if (door || doorGitAsked()) {
    return await withDoorGit(dir, async () => {
      const src = await sourceIn(repo, dir, async (cur) => {
        // the upstream, read from the repository's config as data (git reads none of it through a door)
        const cfg = await configOf(doorGit()!);
        return cfg.get(`remote.${(cur && cfg.get(`branch.${cur}.remote`)) || "origin"}.url`);
      });
      doorRoots.add(src.root);
      return src;
    });
  }
  return await sourceIn(repo, dir, async (cur) => {
    const remote = (cur && (await localGit(["config", `branch.${cur}.remote`], dir)).out) || "origin";
    const url = await localGit(["remote", "get-url", remote], dir);
    return url.ok ? url.out : undefined;
  });
}

async function sourceIn(
  repo: string,
  dir: string,
  upstreamOf: (branch?: string) => Promise<string | undefined>,
): Promise<LocalSource> {
  const d = doorGit();
  const top = d
    ? { ok: true, out: d.repo.workTree ?? d.repo.gitDir }
    : await localGit(["rev-parse", "--show-toplevel"], dir);
  const gitDir = top.ok && top.out ? undefined : await localGit(["rev-parse", "--absolute-git-dir"], dir);
  if (!(top.ok && top.out) && !gitDir?.ok) {
    throw usageError(`--repo ${repo}: ${dir} is not a git repository`, "run git init there, or give a URL");
  }
  const root = top.ok && top.out ? top.out : gitDir!.out;
  const head = await localGit(["rev-parse", "-q", "--verify", "HEAD^{commit}"], root);
  if (!head.ok) {
    throw usageError(`--repo ${repo}: the repository ${root} has no commits yet`, "commit something first");
  }
  const branch = await localGit(["symbolic-ref", "--short", "-q", "HEAD"], root);
  const cur = branch.ok && branch.out ? branch.out : undefined;
  const url = await upstreamOf(cur);
  return {
    root,
    head: cur ?? head.out,
    ...(url && !isPathUrl(url) ? { upstream: url } : {}),
  };
}

/** Does the local repository have this branch? */
export async function hasLocalBranch(root: string, branch: string): Promise<boolean> {
  return (await localGit(["rev-parse", "-q", "--verify", `refs/heads/${branch}^{commit}`], root)).ok;
}

/** A commit-ish (a branch, `origin/x`, a tag) the local repository resolves? */
export async function resolvesLocally(root: string, rev: string): Promise<boolean> {
  return (await localGit(["rev-parse", "-q", "--verify", `${rev}^{commit}`], root)).ok;
}

/** `origin/BRANCH` (or another remote's) when only a remote-tracking branch has that name, as git checkout finds it. */
export async function trackingBranch(root: string, branch: string): Promise<string | undefined> {
  const r = await localGit(["for-each-ref", "--format=%(refname:short)", `refs/remotes/*/${branch}`], root);
  const all = r.ok ? r.out.split("\n").filter(Boolean) : [];
  return all.find((x) => x.startsWith("origin/")) ?? all[0];
}

/** A bundle of a local repository with every branch, tag and HEAD, in a temporary file. */
export async function makeBundle(root: string): Promise<{ path: string; size: number }> {
  const path = await Deno.makeTempFile({ prefix: "kodama-bundle-" });
  const made = await localGit(["bundle", "create", path, "--branches", "--tags", "--remotes", "HEAD"], root);
  if (!made.ok) {
    await Deno.remove(path).catch(() => {});
    throw new KodamaError(`cannot bundle ${root}: ${made.err.split("\n").pop()}`, ExitCode.FAILED);
  }
  return { path, size: (await Deno.stat(path)).size };
}

/**
 * Send a local repository to the clone container of a starting session: a bundle with every branch, tag
 * and HEAD, written to a temporary file (its size goes first: older exec protocols cannot end stdin)
 * and streamed over exec once the init container runs. Resolves true when sent; false when aborted, or
 * at once when the container is past the clone (a workspace kept from before) or the pod has ended.
 * Rejects when it cannot be sent. The replicas of a group share one bundle (made once, removed when the
 * group's start is done).
 */
export async function sendLocalRepo(
  kube: KubeSessions,
  spec: SessionSpec,
  root: string,
  signal: AbortSignal,
  shared?: Shared,
  /** where the clone container waits for it (one repository of several), else the workspace's bundle */
  dest?: string,
): Promise<boolean> {
  const bundle = shared
    ? await shared.once(`bundle\0${root}`, async () => {
      const b = await makeBundle(root);
      shared.onClose(() => Deno.remove(b.path));
      return b;
    })
    : await makeBundle(root);
  let podName: string | undefined;
  try {
    for (;;) {
      if (signal.aborted) return false;
      const pod: V1Pod | undefined = await findSessionPod(kube, spec.namespace, spec.name).catch(() =>
        undefined
      );
      const st = pod?.status?.initContainerStatuses?.find((c) => c.name === GIT_CONTAINER);
      if (st?.state?.terminated || pod?.status?.phase === "Failed" || pod?.status?.phase === "Running") {
        return false;
      }
      if (st?.state?.running) {
        podName = pod!.metadata!.name!;
        break;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    const file = await Deno.open(bundle.path);
    const err: string[] = [];
    const res = await kube.execIn(
      spec.namespace,
      podName!,
      GIT_CONTAINER,
      receiveBundleCommand(spec.workdir, bundle.size, dest),
      {
        stdin: file.readable,
        stderr: (c) => void err.push(new TextDecoder().decode(c)),
        signal,
      },
    );
    if (res.errorKind === "aborted") return false;
    if (res.error || res.exitCode !== 0) {
      const why = (res.error ?? err.join("").trim()) || `exit code ${res.exitCode}`;
      throw new KodamaError(
        `could not send ${root} to the pod: ${why}`,
        ExitCode.FAILED,
        unwritableVolumeHint(why, spec.sandbox?.runAsUser),
      );
    }
    return true;
  } finally {
    if (!shared) await Deno.remove(bundle.path).catch(() => {});
  }
}

/**
 * Every local repository a starting session's clone container waits for, sent at once: the workspace's
 * own (unless the workspace kept its clone) and each local one of several (unless their clones were
 * kept). Undefined when there is none; else resolves true when all were sent.
 */
export function sendLocalRepos(
  kube: KubeSessions,
  spec: SessionSpec,
  o: { workspaceCloned?: boolean; keptRepos?: readonly unknown[]; shared?: Shared },
  signal: AbortSignal,
): Promise<boolean> | undefined {
  const sends: Promise<boolean>[] = [];
  if (spec.git?.source === "local" && !o.workspaceCloned) {
    sends.push(sendLocalRepo(kube, spec, spec.git.repo, signal, o.shared));
  }
  for (const r of o.keptRepos ? [] : spec.repos ?? []) {
    if (r.git.source !== "local") continue;
    sends.push(sendLocalRepo(kube, spec, r.git.repo, signal, o.shared, repoBundle(spec.workdir, r.name)));
  }
  return sends.length ? Promise.all(sends).then((sent) => sent.every(Boolean)) : undefined;
}

/**
 * Why a non-root session cannot write its workspace: the pod's fsGroup is applied only by volume drivers that
 * manage ownership; hostPath and some local-volume provisioners leave the directory root's (seen on a real
 * cluster with hostPath PersistentVolumes and session.runAsUser: 1000).
 */
export function unwritableVolumeHint(why: string, uid: number | undefined): string | undefined {
  if (uid === undefined || uid === 0 || !/permission denied/i.test(why)) return undefined;
  return `the workspace volume is not writable by uid ${uid}: its storage does not apply the pod's fsGroup ` +
    `(hostPath and some local provisioners do not); use --storage-class with a driver that does, ` +
    `or have the volume's directory made writable by uid ${uid}`;
}

/** The clone container's log (the last run's when it is restarting); "" when it cannot be read. */
export async function cloneLog(kube: KubeStreams, pod: V1Pod, tailLines = 200): Promise<string> {
  const ns = pod.metadata?.namespace ?? kube.namespace;
  const name = pod.metadata?.name ?? "";
  const read = async (previous: boolean) => {
    const chunks: Uint8Array[] = [];
    await kube.logOf(ns, name, GIT_CONTAINER, { tailLines, previous }, (c) => {
      chunks.push(c);
    });
    return new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
  };
  try {
    const text = await read(false);
    if (text.trim()) return text;
  } catch { /* a container waiting to restart: its previous run has the log */ }
  try {
    return await read(true);
  } catch {
    return "";
  }
}

/** Is the pod failing because the clone failed? Then its exit code. */
export function cloneFailed(pod: V1Pod | undefined): number | undefined {
  const st = pod?.status?.initContainerStatuses?.find((c) => c.name === GIT_CONTAINER);
  const t = st?.state?.terminated ?? st?.lastState?.terminated;
  return t && t.exitCode !== 0 ? t.exitCode : undefined;
}

/** The error text for a failed clone: git's own lines from the init container's log. */
export async function cloneFailure(
  kube: KubeStreams,
  spec: SessionSpec,
  pod: V1Pod,
): Promise<string | undefined> {
  const code = cloneFailed(pod);
  if (code === undefined || !(spec.git ?? spec.repos?.length)) return undefined;
  const log = await cloneLog(kube, pod, 50);
  const lines = cloneErrorLines(log).filter((l) => !l.includes(REPO_MARK));
  // several repositories: the one whose clone failed is the last one begun
  const which = spec.git?.repo ?? [...parseMultiReport(log).keys()].at(-1) ?? "the repositories";
  return `the clone of ${which} failed (container ${GIT_CONTAINER}, exit code ${code})${
    lines.length ? `:\n${lines.map((l) => `  ${l}`).join("\n")}` : ""
  }`;
}

/**
 * After the pod is ready: read what the clone container reported (branch and commit, or that the
 * clone was skipped) and record it on the workspace volume. Failures to record are warnings.
 */
export async function recordClone(
  kube: KubeSessions,
  spec: SessionSpec,
  io: { err: Sink },
  got?: { pod?: V1Pod },
): Promise<{ branch?: string; commit?: string } | undefined> {
  if (spec.repos?.length) return await recordRepos(kube, spec, io, got);
  if (!spec.git) return undefined;
  const n = namesOf(spec);
  let pod: V1Pod;
  try {
    // the pod as the wait saw it ready (start), else read now; start's agent run then uses it too
    const found = got?.pod ?? await findSessionPod(kube, spec.namespace, spec.name);
    if (!found) return undefined;
    pod = found;
  } catch {
    return undefined;
  }
  if (got) got.pod = pod;
  const log = await cloneLog(kube, pod);
  const rep = parseCloneReport(log);
  const skipped = /clone skipped/.test(log);
  if (rep) {
    io.err.write(
      skipped
        ? `workspace kept (no new clone): branch ${rep.branch ?? "(detached)"} at ${
          rep.commit?.slice(0, 12) ?? "?"
        }\n`
        : `cloned ${spec.git.repo}: branch ${rep.branch ?? "(detached)"} at ${
          rep.commit?.slice(0, 12) ?? "(empty)"
        }\n`,
    );
    try {
      await kube.patchObject("persistentvolumeclaims", spec.namespace, n.workspacePVC, {
        metadata: {
          annotations: {
            [ANNOTATION_BRANCH]: rep.branch ?? null,
            [ANNOTATION_COMMIT]: rep.commit ?? null,
          },
        },
      });
    } catch (e) {
      io.err.write(`warning: could not record the branch on ${n.workspacePVC}: ${(e as Error).message}\n`);
    }
  } else if (skipped) {
    io.err.write(`workspace kept: it was not empty, so nothing was cloned\n`);
  }
  return rep;
}

/**
 * Several repositories: what the clone container reported for each (pod/clonemulti.sh), said one line each and
 * recorded in this machine's state file (each repository's branch and commit). Nothing goes on the volume.
 */
async function recordRepos(
  kube: KubeSessions,
  spec: SessionSpec,
  io: { err: Sink },
  got?: { pod?: V1Pod },
): Promise<undefined> {
  let pod: V1Pod | undefined;
  try {
    pod = got?.pod ?? await findSessionPod(kube, spec.namespace, spec.name);
  } catch {
    return undefined;
  }
  if (!pod) return undefined;
  if (got) got.pod = pod;
  const reps = parseMultiReport(await cloneLog(kube, pod, 400));
  for (const r of spec.repos ?? []) {
    const rep = reps.get(r.name);
    if (!rep) continue;
    io.err.write(
      `${rep.skipped ? "kept" : "cloned"} ${r.name}${r.readOnly ? " (read-only)" : ""}: branch ${
        rep.branch ?? "(detached)"
      } at ${rep.commit?.slice(0, 12) ?? "(empty)"}\n`,
    );
  }
  const { loadState, updateState } = await import("../state/state.ts");
  const st = await loadState(spec.name).catch(() => undefined);
  if (st?.repos && st.namespace === spec.namespace) {
    await updateState(spec.name, {
      repos: st.repos.map((r) => {
        const rep = reps.get(r.name);
        return {
          ...r,
          ...(rep?.branch ? { branch: rep.branch } : {}),
          ...(rep?.commit ? { commit: rep.commit } : {}),
        };
      }),
    }).catch(() => {});
  }
  return undefined;
}
