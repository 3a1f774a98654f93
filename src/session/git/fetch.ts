/**
 * `kodama session fetch NAME [--branch LOCAL] [--diff]`: the session's branch, with the agent's commits,
 * into the local repository — through the exec stream, as a `git bundle` made in the pod. No remote, no
 * push rights, no port-forward: only `pods/exec`.
 *
 * The local repository sends the commits it has (its branch and remote tips) on the exec's stdin; the
 * pod bundles only what is missing (`git bundle create - HEAD ^have…`), the bundle streams to a file in
 * the local `.git`, `git fetch` takes its objects, and `kodama/NAME` (or --branch) is pointed at the
 * session's commit — never when checked out in a work tree, and only forward unless the person forces it
 * (src/session/git/branchmove.ts). `--diff` prints, instead, the diff of the session's branch against the
 * commit it was cloned at.
 */
import type { PathDoor } from "../lifecycle/startio.ts";
import { join } from "node:path";
import type { KubeSessions, KubeStreams } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { withInterrupt } from "../../base/proc/proc.ts";
import type { Sink } from "../../base/sink.ts";
import { concatBytes, formatBytes } from "../../base/text/bytes.ts";
import { runningPod } from "../access/podexec.ts";
import { checkBranch } from "./git.ts";
import { gitSpawn, localGit, updateRef } from "./gitrun.ts";
import { moveBranch, type MoveOptions, refuseCheckedOut } from "./branchmove.ts";
import { CONTAINER } from "../spec/spec.ts";
import { safeLine } from "../../ui/color.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { specOf } from "../spec/spec.ts";
import { inRepo, reposOf } from "./repos.ts";
import GITFETCH from "../pod/gitfetch.sh" with { type: "text" };
import GITDIFF from "../pod/gitdiff.sh" with { type: "text" };

/** At most this many local commits are offered as "already here" (the newest refs first). */
const MAX_HAVES = 500;

/**
 * What a pod may send to `session fetch` (docs/sessions.md): past any of them the fetch fails (exit 1)
 * before anything is written into the repository — the pod chooses what it offers.
 */
export const FETCH_LIMITS = {
  /** branches the pod names (each becomes kodama/NAME/BRANCH) */
  refs: 100,
  /** bytes of the bundle over exec */
  bytes: 1024 ** 3,
  /** objects in the bundle's pack */
  objects: 2_000_000,
  /** bytes of the pod's header (stderr) */
  header: 1024 ** 2,
};

/** Why what the pod sent is more than FETCH_LIMITS allows, or undefined. Pure. */
export function overLimit(
  got: { refs?: number; bytes?: number; objects?: number; header?: number },
  limits = FETCH_LIMITS,
): string | undefined {
  if ((got.bytes ?? 0) > limits.bytes) return `its bundle is larger than ${formatBytes(limits.bytes)}`;
  if ((got.header ?? 0) > limits.header) {
    return `it said more than ${formatBytes(limits.header)} about its branches`;
  }
  if ((got.refs ?? 0) > limits.refs) return `it offers ${got.refs} branches (at most ${limits.refs})`;
  if ((got.objects ?? 0) > limits.objects) {
    return `its bundle holds ${got.objects} objects (at most ${limits.objects})`;
  }
  return undefined;
}

function tooMuch(name: string, why: string): KodamaError {
  return new KodamaError(
    `session fetch: session ${name} sent more than kodama takes: ${why}; nothing was written into the repository`,
    ExitCode.FAILED,
    `look in the pod (kodama attach ${name}): delete branches it does not need, or fetch from a terminal with git`,
  );
}
export const MARK = "kodama-fetch:";

/** `sh -c FETCH kodama-fetch N`: stdin N local haves; stdout the bundle; stderr a header line. */
export const FETCH_SCRIPT: string = GITFETCH; // pod/gitfetch.sh

/** `sh -c DIFF kodama-diff`: the diff of HEAD against the commit the session was cloned at. */
export const DIFF_SCRIPT: string = GITDIFF; // pod/gitdiff.sh

/** A full object id (SHA-1 or SHA-256), lowercase hex: the only form a pod's commit id is taken in. */
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface FetchHeader {
  branch?: string;
  head?: string;
  base?: string;
  newCommits?: number;
  /** the pod's branches: name (below refs/heads/) -> commit id */
  branches: Map<string, string>;
  /** the root commits of the pod's history */
  roots: string[];
}

/**
 * The header the pod sends on stderr. Everything in it is the pod's to choose (a `git config kodama.base`
 * of `--output=~/.bashrc`, a branch named with terminal escapes): commit ids are kept only as full
 * lowercase hex object ids, the count only as a number, and the branch only for display (control
 * characters removed). Nothing from it is ever a local command's option (#26 class 10).
 */
export function parseFetchHeader(stderr: string): FetchHeader {
  const h: FetchHeader = { branches: new Map(), roots: [] };
  for (const line of stderr.split("\n")) {
    const i = line.indexOf(MARK);
    if (i < 0) continue;
    const ref = /^ ref=([0-9a-f]+) refs\/heads\/(.+)$/.exec(line.slice(i + MARK.length));
    if (ref) {
      // a branch name is checked by git (check-ref-format) before it names a local ref
      // deno-lint-ignore no-control-regex
      if (OBJECT_ID.test(ref[1]) && !/[\x00-\x20\x7f]/.test(ref[2])) h.branches.set(ref[2], ref[1]);
      continue;
    }
    for (const [, k, v] of line.slice(i + MARK.length).matchAll(/(\w+)=(\S*)/g)) {
      if (k === "branch" && v) h.branch = safeLine(v).slice(0, 255);
      if (k === "head" && OBJECT_ID.test(v)) h.head = v;
      if (k === "base" && OBJECT_ID.test(v)) h.base = v;
      if (k === "new" && /^\d{1,9}$/.test(v)) h.newCommits = Number(v);
      if (k === "root" && OBJECT_ID.test(v)) h.roots.push(v);
    }
  }
  return h;
}

export interface FetchOptions {
  branch?: string;
  diff?: boolean;
  /** fetch into a repository that shares no commit with the session */
  force?: boolean;
  /**
   * move the branch even when it has commits the session lacks (`--force` on the CLI; no MCP tool or page
   * can). A branch checked out in a work tree is never moved (src/session/git/branchmove.ts).
   */
  overwrite?: boolean;
  /** a refusal's hint, from a caller that fetches on its own behalf (adopt): how to keep both, how to force */
  elsewhere?: string;
  forceWith?: string;
  cwd: string;
  out: Sink;
  err: Sink;
  /**
   * the door this call came through (an MCP client's, a page's): a session with several repositories is
   * fetched only when each recorded repository passes it (fetchrepos.ts withRepoGits)
   */
  door?: PathDoor;
}

/** The local repository's root, or exit 2. */
export async function localRoot(cwd: string, verb = "session fetch"): Promise<string> {
  const top = await localGit(["rev-parse", "--show-toplevel"], cwd);
  if (!top.ok) {
    throw usageError(
      `${verb} runs inside a local clone of the session's repository`,
      `${cwd} is not in a git repository`,
    );
  }
  return top.out;
}

/** What a fetch brought: the pod's header, the local branch it updated, the bytes over exec. */
export interface Fetched {
  h: FetchHeader & { head: string };
  /** the local branch that now points at the session's HEAD (kodama/NAME) */
  local: string;
  bytes: number;
  /** the pod's branches now under refs/remotes/kodama/NAME/ */
  others: string[];
  /** the branch's commit before, when it moved other than forward (the session rewrote its history) */
  replaced?: string;
}

/** Does this repository hold a commit of the session's history (its base, a root, its HEAD)? */
async function related(root: string, h: FetchHeader): Promise<boolean> {
  // a repository with no commit yet (a fresh `git init` to fetch into) has no history to be unrelated to
  if (!(await localGit(["rev-parse", "-q", "--verify", "HEAD"], root)).ok) {
    const any = await localGit(["for-each-ref", "--count=1", "--format=%(refname)"], root);
    if (any.ok && !any.out.trim()) return true;
  }
  for (const id of [h.base, h.head, ...h.roots]) {
    if (id && (await localGit(["cat-file", "-e", "--end-of-options", `${id}^{commit}`], root)).ok) {
      return true;
    }
  }
  return false;
}

export async function fetchSession(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: FetchOptions,
): Promise<number> {
  const local = o.branch !== undefined ? checkBranch(o.branch, "--branch") : `kodama/${name}`;
  // several repositories: each one's, all or none (src/session/git/fetchrepos.ts)
  const repos = await reposOf(name, namespace);
  if (repos) {
    return await (await import("./fetchrepos.ts")).fetchRepos(kube, namespace, name, repos, { ...o, local });
  }
  if (o.diff) {
    refuseSeveral(await runningPod(kube, namespace, name), name);
    return await printDiff(kube, namespace, name, o);
  }
  const root = await localRoot(o.cwd);
  const { h, bytes, others, replaced } = await fetchInto(kube, namespace, name, {
    root,
    local,
    force: o.force,
    move: {
      force: o.overwrite,
      elsewhere: o.elsewhere ?? "fetch into another branch (--branch NEW)",
      forceWith: o.forceWith ?? `kodama session fetch ${name} --force`,
    },
  });
  const ahead = h.base
    ? (await localGit(["rev-list", "--count", "--end-of-options", `${h.base}..${h.head}`], root)).out
    : undefined;
  // the subject is the pod's text: shown without control characters
  const subject = safeLine(
    (await localGit(["log", "-1", "--format=%h %s", "--end-of-options", h.head], root)).out,
  );
  o.out.write(`${local}\n`);
  o.err.write(
    `fetched session ${name}'s branch ${h.branch ?? "(detached HEAD)"} into ${local}: ${subject}` +
      `${ahead ? ` (${ahead} commit${ahead === "1" ? "" : "s"} since it was cloned)` : ""}` +
      `${
        h.newCommits ? `, ${h.newCommits} new, ${formatBytes(bytes)} over exec` : ", nothing new to transfer"
      }\n` +
      (others.some((b) => b !== h.branch)
        ? `the pod's branches are in kodama/${name}/BRANCH: ${others.slice(0, 6).map(safeLine).join(", ")}${
          others.length > 6 ? `, ... (${others.length})` : ""
        }\n`
        : "") +
      (replaced
        ? `the session rewrote its history: ${local} moved from ${replaced.slice(0, 12)}, which stays in ` +
          `git reflog ${local}\n`
        : "") +
      `look with: git log ${local}   diff: git diff ${h.base ? h.base.slice(0, 12) : "HEAD"}...${local}\n`,
  );
  return ExitCode.OK;
}

/**
 * The fetch itself: the pod's new commits into `local` (its HEAD) and refs/remotes/kodama/NAME/* (its
 * branches). A repository that shares no commit with the session is refused before anything is written
 * into it (exit 2), unless `force`; so is a `local` checked out in any work tree (unless it is at the
 * session's commit already). `local` then moves only forward, unless `move.force` (src/session/git/branchmove.ts).
 */
export async function fetchInto(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: {
    root: string;
    local: string;
    force?: boolean;
    /** how `local` may move, and what a refusal says to do instead */
    move: Pick<MoveOptions, "force" | "elsewhere" | "forceWith">;
    /** one repository of several (its directory in the workspace: src/session/git/repos.ts) */
    repo?: string;
  },
): Promise<Fetched> {
  const { root, local } = o;
  const gitDir = (await localGit(["rev-parse", "--absolute-git-dir"], root)).out;
  const pod = await runningPod(kube, namespace, name);
  if (o.repo === undefined) refuseSeveral(pod, name);
  // what we have: the tips of local branches and remote-tracking branches, newest first
  const refs = await localGit(
    [
      "for-each-ref",
      "--sort=-committerdate",
      "--format=%(objectname)",
      "refs/heads",
      "refs/remotes",
      "refs/tags",
    ],
    root,
  );
  const haves = [...new Set(refs.out.split("\n").filter((s) => /^[0-9a-f]{40,64}$/.test(s)))].slice(
    0,
    MAX_HAVES,
  );
  const bundle = join(gitDir, `kodama-fetch-${name}-${Date.now()}.bundle`);
  return await withInterrupt(async (signal) => {
    try {
      const { stderr, bytes } = await receive(
        kube,
        namespace,
        name,
        pod.metadata!.name!,
        haves,
        bundle,
        signal,
        o.repo,
      );
      const h = parseFetchHeader(stderr);
      if (!h.head) {
        throw new KodamaError(
          "session fetch: the pod did not send a commit id (40 or 64 hex digits) for its HEAD",
          ExitCode.FAILED,
        );
      }
      const tooMany = overLimit({ refs: h.branches.size });
      if (tooMany) throw tooMuch(name, tooMany);
      if (!o.force && !(await related(root, h))) {
        throw usageError(
          `session fetch: ${root} is not a clone of session ${name}'s repository (it has none of its commits)`,
          "run it in the clone the session was started from, or give --force to fetch into this one",
        );
      }
      const move: MoveOptions = {
        ...o.move,
        verb: "session fetch",
        source: `session ${name}'s branch`,
        reflog: `kodama session fetch ${name}`,
      };
      // a branch checked out in a work tree: refused before anything is written into the repository
      await refuseCheckedOut(root, local, h.head, move);
      // the pod's other branches go to refs/remotes/kodama/NAME/BRANCH (`git log kodama/NAME/BRANCH`)
      const tracking = `refs/remotes/kodama/${name}/`;
      const others: [string, string][] = [];
      for (const [b, sha] of h.branches) {
        // the name starts with refs/ here, so it is never read as an option
        if ((await localGit(["check-ref-format", `${tracking}${b}`], root)).ok) {
          others.push([b, sha]);
        }
      }
      // every value from the pod goes after --end-of-options (git >= 2.24): never read as an option
      if (h.newCommits !== 0) await takeObjects(root, name, bundle, h.head, others.length > 0);
      // the session's commit must be here now (fetched, or here before when the pod said nothing is new)
      const has = await localGit(["cat-file", "-e", "--end-of-options", `${h.head}^{commit}`], root);
      if (!has.ok) {
        throw new KodamaError(
          h.newCommits === 0
            ? `session fetch: the pod said nothing is new, but commit ${h.head} is not in this repository`
            : `session fetch: the pod's HEAD ${h.head} is neither in its bundle nor in this repository`,
          ExitCode.FAILED,
        );
      }
      // a branch the bundle left out (its tip was here already) is named too: kodama/NAME/BRANCH always
      // exists, and mirrors the pod even when the move below is refused (to look at before deciding)
      for (const [b, sha] of others) {
        if ((await localGit(["cat-file", "-e", "--end-of-options", `${sha}^{commit}`], root)).ok) {
          await updateRef(root, `${tracking}${b}`, sha, undefined, `kodama session fetch ${name}`);
        }
      }
      const before = (await localGit(["rev-parse", "--verify", "-q", `refs/heads/${local}`], root)).out;
      const moved = await moveBranch(root, local, h.head, move);
      const replaced = moved.kind === "followed" || moved.kind === "forced" ? before : undefined;
      return { h: { ...h, head: h.head }, local, bytes, others: others.map(([b]) => b), replaced };
    } finally {
      await Deno.remove(bundle).catch(() => {});
    }
  });
}

/**
 * The bundle's objects into the repository, within FETCH_LIMITS and after git's strict checks: HEAD's (no
 * local ref is written: the branch moves by its rule after) and the pod's branches into kodama's own
 * remote-tracking refs. Its HEAD must be the commit the pod announced.
 */
async function takeObjects(root: string, name: string, bundle: string, head: string, anyOther: boolean) {
  // a tip this repository already has is not in the bundle (HEAD when only another branch moved)
  const heads = await localGit(["bundle", "list-heads", "--end-of-options", bundle], root);
  const many = overLimit({
    refs: heads.out.split("\n").filter((l) => / refs\/heads\//.test(l)).length,
    objects: await packObjects(bundle),
  });
  if (many) throw tooMuch(name, many);
  // objects git's strict checks refuse (a tree entry `..` or `.git`) never enter the repository
  await fsckBundle(root, bundle);
  const headIn = heads.ok ? /^([0-9a-f]+) HEAD$/m.exec(heads.out)?.[1] : undefined;
  if (!headIn && !anyOther) {
    throw new KodamaError("session fetch: the bundle from the pod holds no branch", ExitCode.FAILED);
  }
  // the branch is to be the commit the pod announced; a bundle whose HEAD is another is refused
  if (headIn && headIn !== head) {
    throw new KodamaError(
      `session fetch: the bundle's HEAD (${headIn}) is not the commit the pod announced (${head})`,
      ExitCode.FAILED,
    );
  }
  // HEAD's objects only (no local ref is written by the fetch: the branch moves below, by the rule);
  // the pod's branches into kodama's own remote-tracking refs, which mirror the pod
  const f = await localGit(
    [
      "-c",
      "transfer.fsckObjects=true",
      "fetch",
      "--no-tags",
      "--no-write-fetch-head",
      "--quiet",
      "--end-of-options",
      bundle,
      ...(headIn ? ["HEAD"] : []),
      ...(anyOther ? [`+refs/heads/*:refs/remotes/kodama/${name}/*`] : []),
    ],
    root,
  );
  if (!f.ok) {
    throw new KodamaError(
      `git fetch from the session's bundle failed:\n${safeLine(f.err)}`,
      ExitCode.FAILED,
    );
  }
}

/**
 * The pod's bundle of what `haves` lacks into the file `bundle`, and its header (stderr), within
 * FETCH_LIMITS (the exec stops as soon as one is passed: exit 1). Exit 3 when the workspace has no commits,
 * 1 when the exec or the bundle failed.
 */
async function receive(
  kube: KubeStreams,
  namespace: string,
  name: string,
  podName: string,
  haves: string[],
  bundle: string,
  interrupt: AbortSignal,
  repo?: string,
): Promise<{ stderr: string; bytes: number }> {
  const file = await Deno.open(bundle, { write: true, create: true, truncate: true, mode: 0o600 });
  const errChunks: Uint8Array[] = [];
  let bytes = 0, errBytes = 0, offered = 0;
  let over: string | undefined;
  const stop = new AbortController();
  let res;
  try {
    const cmd = ["sh", "-c", FETCH_SCRIPT, "kodama-fetch", String(haves.length)];
    res = await kube.execIn(namespace, podName, CONTAINER, repo === undefined ? cmd : inRepo(repo, cmd), {
      stdin: new TextEncoder().encode(haves.join("\n") + "\n"),
      stdout: async (c) => {
        bytes += c.length;
        if ((over ??= overLimit({ bytes }))) return void stop.abort();
        let off = 0;
        while (off < c.length) off += await file.write(c.subarray(off));
      },
      stderr: (c) => {
        errBytes += c.length;
        // the branches come before the bundle: too many stops the exec before a byte of it is sent
        offered += new TextDecoder().decode(c).split(`${MARK} ref=`).length - 1;
        if ((over ??= overLimit({ header: errBytes, refs: offered }))) return void stop.abort();
        errChunks.push(c);
      },
      backpressure: true,
      signal: AbortSignal.any([interrupt, stop.signal]),
    });
  } finally {
    file.close();
  }
  if (over) throw tooMuch(name, over);
  const stderr = new TextDecoder().decode(concatBytes(errChunks));
  if (res.errorKind === "aborted") throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
  if (res.error && res.errorKind !== "remote") {
    throw new KodamaError(`session fetch: the exec stream failed: ${res.error}`, ExitCode.FAILED);
  }
  const said = stderr.split("\n").filter((l) => l.trim() && !l.includes(MARK)).join("\n");
  if (res.exitCode === 3) throw new KodamaError(said.replace(/^kodama: /, ""), ExitCode.NOT_FOUND);
  if (res.exitCode !== 0) {
    throw new KodamaError(
      `session fetch: ${said.replace(/^kodama: /, "") || `the bundle failed (exit code ${res.exitCode})`}`,
      ExitCode.FAILED,
    );
  }
  return { stderr, bytes };
}

/** Where the pack starts in a bundle file: after its header, which ends with an empty line. */
async function packStart(f: Deno.FsFile): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let prev = 0;
  for (let off = 0, n; off < MAX_BUNDLE_HEADER && (n = await f.read(buf)) !== null; off += n) {
    for (let i = 0; i < n; prev = buf[i++]) if (buf[i] === 10 && prev === 10) return off + i + 1;
  }
  throw new KodamaError("session fetch: the pod's bundle has no end of its header", ExitCode.FAILED);
}

const MAX_BUNDLE_HEADER = 16 * 1024 * 1024;

/** The object count a bundle's pack declares (its header: `PACK`, version, count), or 0 when unreadable. */
export async function packObjects(bundle: string): Promise<number> {
  const f = await Deno.open(bundle);
  try {
    await f.seek(await packStart(f), Deno.SeekMode.Start);
    const head = new Uint8Array(12);
    let n = 0;
    for (let r; n < 12 && (r = await f.read(head.subarray(n))) !== null;) n += r;
    if (n < 12 || new TextDecoder().decode(head.subarray(0, 4)) !== "PACK") return 0;
    return new DataView(head.buffer).getUint32(8);
  } finally {
    f.close();
  }
}

/**
 * Refuse (exit 1, nothing fetched) a bundle whose objects fail git's strict checks: a tree entry named
 * `..`, `.git` or holding a `/`, a malformed commit. git before 2.46 does not check what it fetches from
 * a bundle whatever transfer.fsckObjects says, so the pack is indexed with `--strict` into a scratch
 * object directory that borrows this repository's objects (the thin pack's bases) and is thrown away.
 */
export async function fsckBundle(root: string, bundle: string): Promise<void> {
  const objects = await localGit(["rev-parse", "--path-format=absolute", "--git-path", "objects"], root);
  const scratch = await Deno.makeTempDir({ prefix: "kodama-fsck-" });
  try {
    await Deno.mkdir(join(scratch, "pack"));
    await Deno.mkdir(join(scratch, "info"));
    await Deno.writeTextFile(join(scratch, "info", "alternates"), objects.out + "\n");
    const f = await Deno.open(bundle);
    try {
      await f.seek(await packStart(f), Deno.SeekMode.Start);
    } catch (e) {
      f.close();
      throw e;
    }
    const p = gitSpawn(["index-pack", "--stdin", "--fix-thin", "--strict"], {
      cwd: root,
      env: { GIT_OBJECT_DIRECTORY: scratch },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    });
    await f.readable.pipeTo(p.stdin).catch(() => {});
    const r = await p.output();
    if (r.success) return;
    const err = new TextDecoder().decode(r.stderr).split("\n");
    const why = err.find((l) => l.startsWith("error: ")) ?? err.find((l) => l.trim()) ?? "";
    throw new KodamaError(
      `session fetch: the session's commits hold objects git refuses: ${
        safeLine(why.replace(/^error: /, ""))
      }`,
      ExitCode.FAILED,
      "nothing was fetched or landed; look at the pod's history (kodama attach NAME, git log), fix it there",
    );
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/**
 * A session with several repositories reached by what takes one (no state file of its start here, `session
 * pr`): exit 2 before anything is fetched, rather than fetch /workspace, which is no repository.
 */
export function refuseSeveral(pod: V1Pod, name: string): void {
  if (!specOf(pod)?.repos?.length) return;
  throw usageError(
    `session ${name} has several repositories: this takes one`,
    "session fetch and land do every one, on the machine that started the session (its state file names them)",
  );
}

/** The diff of the session's branch since its clone; `repo`: one repository of several, its paths under it. */
export async function printDiff(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: Pick<FetchOptions, "out">,
  repo?: string,
  pod?: V1Pod,
): Promise<number> {
  pod ??= await runningPod(kube, namespace, name);
  const { execCapture } = await import("../access/podexec.ts");
  // one of several: its paths as the workspace sees them (a/api/x.ts), so the diffs of all read as one
  const cmd = repo === undefined ? ["sh", "-c", DIFF_SCRIPT, "kodama-diff"] : inRepo(repo, [
    "sh",
    "-c",
    DIFF_SCRIPT,
    "kodama-diff",
    `--src-prefix=a/${repo}/`,
    `--dst-prefix=b/${repo}/`,
  ]);
  const r = await execCapture(kube, pod, cmd, { out: o.out });
  if (r.code === 3) throw new KodamaError(r.stderr.trim().replace(/^kodama: /, ""), ExitCode.NOT_FOUND);
  if (r.code !== 0) {
    const said = r.stderr.trim().replace(/^kodama: /, "");
    throw new KodamaError(`session fetch --diff: ${said || `exit code ${r.code}`}`, ExitCode.FAILED);
  }
  return ExitCode.OK;
}
