/**
 * Sync as the session verbs use it — each hook is one call from `src/session/`:
 *
 *   start --sync PATH   syncSessionStart: forget old state, send the whole tree, start the background sync
 *   resume              syncSessionResume: when this machine syncs the session, send what changed, restart
 *   stop                syncSessionStop: end the background sync (the manifest stays for resume)
 *   delete              syncSessionDelete: end it and forget the session's sync state
 *   list (SYNC column)  syncColumn in column.ts (light: list loads it)
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import { formatBytes } from "../../base/text/bytes.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { formatDuration } from "../../base/duration.ts";
import { CONTAINER, namesOf, type SessionSpec } from "../spec/spec.ts";
import { findSessionPod } from "../state/cluster.ts";
import { spawnDaemon, stopDaemon } from "./daemon.ts";
import { reconcileOnce, recordPushed } from "./reconcile.ts";
import { type PushResult, pushTree } from "./push.ts";
import {
  addCycle,
  emptyStatus,
  loadConfig,
  loadStatus,
  paths,
  removeSyncState,
  repoOf,
  saveConfig,
  saveStatus,
  sessionOf,
  type SyncConfig,
  unitKey,
  unitsOf,
} from "./store.ts";

export interface SyncIO {
  err: Sink;
  tty: boolean;
  cwd?: string;
  signal?: AbortSignal;
  /** files whose contents went into a Secret (the session's env files): never sent, wherever they are */
  secretFiles?: string[];
  /** the prompt file (`start --prompt-file`): the agent's task, never sent, so never in its commits */
  promptFiles?: string[];
  /** resume: a background sync ran before (it was ended), so it starts again whatever sync.watch says */
  restart?: boolean;
}

/** Whether `.git/` is sent: sync.git, where auto means "unless the session clones a repo itself". */
export function syncGitFor(cfg: Config, spec: SessionSpec): boolean {
  const mode = cfg.sync.git;
  if (mode === "always") return true;
  if (mode === "never") return false;
  return !spec.git;
}

/**
 * The sync root, checked: exit 3 when it is missing, exit 2 when it is not a directory. `start` calls it
 * before anything is created (a bad path costs nothing), and again where the sync begins.
 */
export async function checkSyncDir(path: string, cwd?: string): Promise<string> {
  const abs = resolve(cwd ?? Deno.cwd(), path);
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(abs);
  } catch {
    throw new KodamaError(`--sync ${path}: no such directory`, ExitCode.NOT_FOUND);
  }
  if (!st.isDirectory) throw usageError(`--sync ${path}: not a directory`);
  return abs;
}

export function configFor(
  kube: Pick<Kube, "childFlags">,
  spec: SessionSpec,
  root: string,
  cfg: Config,
  secretFiles: string[] = [],
  /** the session's pod now (its name is its Job's generated one; a legacy session's is `kodama-NAME`) */
  pod: string = namesOf(spec).workload,
): SyncConfig {
  return {
    name: spec.name,
    namespace: spec.namespace,
    root,
    workdir: spec.workdir,
    pod,
    container: CONTAINER,
    syncGit: syncGitFor(cfg, spec),
    useGitignore: cfg.sync.useGitignore,
    // a template's excludes (recorded with the session) come on top of the config's
    excludePatterns: [...new Set([...cfg.sync.excludePatterns, ...(spec.syncExclude ?? [])])],
    secretFiles: inside(root, secretFiles),
    connection: kube.childFlags(),
    mode: cfg.sync.mode,
  };
}

/** The files of `files` inside `root`, relative to it ('/'-separated). */
function inside(root: string, files: string[]): string[] {
  return files.flatMap((f) => {
    const rel = relative(root, resolve(f)).replaceAll("\\", "/");
    return rel && !rel.startsWith("../") && rel !== ".." && !isAbsolute(rel) ? [rel] : [];
  });
}

/**
 * The one-line warning for a tree whose git turns LF into CRLF on checkout (`core.autocrlf=true`, Git
 * for Windows' default): sync sends files as they are on disk, so the pod gets CRLF. Undefined when git
 * says otherwise, or the tree is not in a git work tree.
 */
export async function autocrlfWarning(root: string): Promise<string | undefined> {
  try {
    const r = await new Deno.Command("git", {
      args: ["-C", root, "config", "--get", "core.autocrlf"],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
    if (!r.success || new TextDecoder().decode(r.stdout).trim().toLowerCase() !== "true") return undefined;
  } catch {
    return undefined; // no git
  }
  return "warning: git's core.autocrlf is true here: files go to the pod as they are on disk, with CRLF line " +
    "endings (set core.autocrlf=input, or `* text=auto eol=lf` in .gitattributes, for LF)\n";
}

const PROJECT_MARKERS = [".git", ".kodama.yaml", ".kodamaignore"];

/**
 * What `start` without --sync syncs: the current directory when it is a project (it has .git,
 * .kodama.yaml or .kodamaignore), never $HOME or / and never a tree of more than `maxFiles` files.
 * A refusal comes with one line saying why and how to choose; a directory that is no project is
 * simply not synced.
 */
export async function defaultSyncDir(
  cwd: string,
  maxFiles: number,
): Promise<{ dir: string } | { reason?: string }> {
  const abs = resolve(cwd);
  const how = "choose with --sync PATH, or --no-sync";
  const { homeDir, hostPlatform } = await import("../../base/platform.ts");
  const home = homeDir(hostPlatform());
  if (abs === resolve(abs, "..")) {
    return { reason: `not syncing ${abs}: it is the file system's root (${how})` };
  }
  if (home && resolve(home) === abs) {
    return { reason: `not syncing ${abs}: it is your home directory (${how})` };
  }
  const marked = await Promise.all(
    PROJECT_MARKERS.map((m) => Deno.lstat(join(abs, m)).then(() => true, () => false)),
  );
  if (!marked.some(Boolean)) return {};
  // count what would be synced (ignored paths left out), stopping once over the limit
  const { IgnoreRules, globalExcludesFile } = await import("./ignore.ts");
  const rules = new IgnoreRules(abs, {
    useGitignore: true,
    excludePatterns: [],
    syncGit: false,
    globalExcludes: globalExcludesFile(abs),
  });
  let n = 0;
  const walk = (dir: string): boolean => {
    let names: string[];
    try {
      names = [...Deno.readDirSync(join(abs, dir))].map((d) => d.name);
    } catch {
      return true;
    }
    rules.listed(dir, names);
    for (const name of names) {
      const rel = dir ? `${dir}/${name}` : name;
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(join(abs, rel));
      } catch {
        continue;
      }
      if (rules.ignoredHere(rel, st.isDirectory)) continue;
      if (++n > maxFiles) return false;
      if (st.isDirectory && !walk(rel)) return false;
    }
    return true;
  };
  if (!walk("")) {
    return { reason: `not syncing ${abs}: it holds more than ${maxFiles} files (sync.maxFiles; ${how})` };
  }
  return { dir: abs };
}

export function pushSummary(r: PushResult): string {
  const rate = r.bytes / Math.max(0.001, r.ms / 1000);
  const wire = r.wire !== undefined && r.wire < r.bytes * 0.9 ? `, ${formatBytes(r.wire)} sent` : "";
  return `synced ${r.files} file${r.files === 1 ? "" : "s"} (${formatBytes(r.bytes)}${wire})${
    r.deletes ? `, ${r.deletes} deleted` : ""
  } in ${formatDuration(r.ms)}${r.bytes > 1 << 20 ? `, ${formatBytes(rate)}/s` : ""}`;
}

/** `start --sync PATH`: the whole tree, then (sync.watch) the background sync. */
export async function syncSessionStart(
  kube: Kube,
  spec: SessionSpec,
  path: string,
  cfg: Config,
  io: SyncIO,
): Promise<void> {
  if (spec.repos?.length) throw (await import("../git/repos.ts")).multiRepoRefusal("sync of a session");
  const root = await checkSyncDir(path, io.cwd);
  await stopDaemon(spec.name);
  await removeSyncState(spec.name); // a new session: nothing was sent to it yet
  const prompts = io.promptFiles ?? [];
  const pod = (await findSessionPod(kube, spec.namespace, spec.name))?.metadata?.name;
  const c = configFor(kube, spec, root, cfg, [...(io.secretFiles ?? []), ...prompts], pod);
  await saveConfig(c);
  // the prompt file inside the tree: said once, and kept out like the env files (never in the agent's commits)
  const kept = inside(root, prompts);
  for (const p of kept) {
    io.err.write(
      `not syncing the prompt file ${p}: it is the agent's task, not its work (kept out of its commits)\n`,
    );
  }
  // every env file stays out, even an optional one that does not exist yet; the note names those read
  const present = (await Promise.all(
    (c.secretFiles ?? []).filter((f) => !kept.includes(f)).map(async (f) =>
      (await Deno.stat(join(root, f)).then(() => true, () => false)) ? [f] : []
    ),
  )).flat();
  if (present.length) {
    io.err.write(
      `not syncing the env file${present.length > 1 ? "s" : ""} ${
        present.join(", ")
      }: the values are in the session's Secret\n`,
    );
  }
  const crlf = await autocrlfWarning(root);
  if (crlf) io.err.write(crlf);
  const r = await pushTree(kube, c, {
    full: true,
    err: io.err,
    tty: io.tty,
    signal: io.signal,
    record: true,
    // what goes, before the first byte: a wrong directory is seen before it is uploaded
    announce: (files, bytes) =>
      io.err.write(
        `syncing ${root} -> ${c.pod}:${c.workdir}: ${files} file${files === 1 ? "" : "s"}, ${
          formatBytes(bytes)
        }${c.syncGit ? " (.git included, once)" : ""}\n`,
      ),
  });
  // both sides hold the local tree now: the common ancestor the two-way sync starts from
  await recordPushed(c, undefined, r.sent);
  io.err.write(`${pushSummary(r)}: ${root} -> ${c.pod}:${c.workdir}\n`);
  if (cfg.sync.watch) await startBackground(kube, c, io.err);
}

/**
 * A repository's sync settings in a session with several: keyed `SESSION@REPO`, from its directory here to
 * `WORKDIR/REPO` in the pod; .git/ stays on each side unless sync.git is always (the clone in the pod has
 * its own history, as with one cloned repository).
 */
export function repoConfig(
  kube: Pick<Kube, "childFlags">,
  spec: SessionSpec,
  repo: string,
  root: string,
  cfg: Config,
  secretFiles: string[] = [],
  pod?: string,
): SyncConfig {
  return {
    ...configFor(kube, spec, root, cfg, secretFiles, pod),
    name: unitKey(spec.name, repo),
    workdir: `${spec.workdir.replace(/\/+$/, "")}/${repo}`,
    syncGit: cfg.sync.git === "always",
  };
}

async function startBackground(kube: Kube, c: SyncConfig, err: Sink): Promise<void> {
  const pid = await spawnDaemon(kube, c.name, c.namespace);
  err.write(
    `syncing in the background (pid ${pid}): \`kodama sync status ${sessionOf(c.name)}\`, log ${
      paths(c.name).log
    }\n`,
  );
}

/**
 * `resume`: when this machine syncs the session, send what changed meanwhile and restart the sync (its
 * own, or each repository's of a session with several: units.ts).
 */
export async function syncSessionResume(
  kube: Kube,
  spec: SessionSpec,
  cfg: Config,
  io: SyncIO,
): Promise<void> {
  // its own, or each repository's of a session with several (units.ts)
  const one = async (key: string): Promise<void> => {
    const saved = await loadConfig(key);
    if (!saved || saved.namespace !== spec.namespace) return;
    // the pod resume made has a new name (its Job names it, issue 80): the sync goes to it
    const pod = (await findSessionPod(kube, spec.namespace, spec.name))?.metadata?.name;
    const c = pod && pod !== saved.pod ? { ...saved, pod } : saved;
    if (c !== saved) await saveConfig(c);
    try {
      await Deno.stat(c.root);
    } catch {
      io.err.write(`warning: not syncing: ${c.root} is gone\n`);
      return;
    }
    // `session land` left a merge to finish: nothing syncs into a half-merged tree
    const held = await (await import("./hold.ts")).holdReason(key);
    if (held) {
      io.err.write(`warning: not syncing: ${held}\n`);
      return;
    }
    // a background sync still running (paused since an idle stop) would reconcile at the same time as this:
    // it is ended, and started again after
    const was = await stopDaemon(key);
    // both sides may have changed while the session was stopped (here, and in the pod before the stop):
    // a three-way cycle against the common ancestor reconciles them, conflicts kept on both sides
    const r = await reconcileOnce(kube, c);
    await saveStatus(key, addCycle((await loadStatus(key)) ?? emptyStatus(), r));
    io.err.write(
      `synced changes since the last sync${
        repoOf(key) ? ` of ${repoOf(key)}` : ""
      }: ${r.toPod} to the pod, ${r.toLocal} back${
        r.conflicts.length
          ? `; ${r.conflicts.length} conflict(s) left on both sides: \`kodama sync status ${spec.name}\``
          : ""
      }\n`,
    );
    if (cfg.sync.watch || was || io.restart) await startBackground(kube, c, io.err);
  };
  for (const key of unitsOf(spec.name)) await one(key);
}
