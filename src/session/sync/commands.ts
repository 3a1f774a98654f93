/**
 * `kodama sync push|start|stop|status|pull NAME`: each takes the connected client and parsed flags,
 * runs one feature function, and returns the exit code.
 */
import { join, resolve } from "node:path";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { formatBytes } from "../../base/text/bytes.ts";
import { ExitCode, KodamaError, notFound, usageError } from "../../base/errors.ts";
import { isTerminal } from "../../ui/color.ts";
import { formatAge } from "../../ui/table.ts";
import { type Sink, stderrSink, stdoutSink } from "../../base/sink.ts";
import { requireSession } from "../state/cluster.ts";
import type { SessionView } from "../state/status.ts";
import { columnOf, running } from "./column.ts";
export { watchSyncStatus } from "./column.ts";
import { runDaemon, spawnDaemon, stopDaemon } from "./daemon.ts";
import { pushTree, targetOf } from "./push.ts";
import { reconcileOnce } from "./reconcile.ts";
import type { Conflict } from "./cycleplan.ts";
import { execInPod } from "../../kube/exec.ts";
import { concatBytes } from "../../base/text/bytes.ts";
import { parentProblem } from "../../base/fs/safewrite.ts";
import { isWithin, whereTo } from "../../config/confine.ts";
import { isDotGit } from "../../base/platform.ts";
import { autocrlfWarning, configFor, pushSummary } from "./session.ts";
import {
  addCycle,
  emptyStatus,
  loadConfig,
  loadStatus,
  paths,
  recordSync,
  repoOf,
  saveConfig,
  saveStatus,
  sessionOf,
  type SyncConfig,
  type SyncStatus,
} from "./store.ts";
import { keysFor, needsRepo, syncedKeys, unitConfig } from "./units.ts";
import SHOW from "./pod/show.sh" with { type: "text" };

/** `sync pull` (./pull.ts): front ends import src/session/sync through this module only. */
export { pullCommand } from "./pull.ts";
export { syncTarget } from "./units.ts";

/**
 * The session's sync settings: the recorded ones, with the local root replaced when PATH is given
 * (a new root starts a new manifest). A session never synced from here needs PATH (default: `.`).
 */
async function ensureConfig(
  kube: Kube,
  v: SessionView,
  path: string | undefined,
  cfg: Config,
): Promise<SyncConfig> {
  const name = v.name;
  const cur = await loadConfig(name);
  if (cur && cur.namespace === kube.namespace && path === undefined) return cur;
  if (v.spec?.repos?.length) {
    throw usageError(
      `session ${name} has several repositories: each syncs on its own`,
      `kodama sync start ${name} syncs each one it writes; --repo REPO names one`,
    );
  }
  if (!v.spec) {
    throw new KodamaError(`session ${name} carries no recorded settings`, ExitCode.FAILED);
  }
  const root = resolve(path ?? ".");
  const st = await Deno.stat(root).catch(() => undefined);
  if (!st) throw notFound(`${path ?? "."}: no such directory`);
  if (!st.isDirectory) throw new KodamaError(`${path}: not a directory`, ExitCode.USAGE);
  // the session's env files stay out of the workspace whatever tree is synced now (they were recorded,
  // relative to the tree synced before, by `start --sync`)
  const secretFiles = (cur?.secretFiles ?? []).map((f) => resolve(cur!.root, f));
  const c = configFor(
    kube,
    { ...v.spec, namespace: kube.namespace },
    root,
    cfg,
    secretFiles,
    v.pod?.metadata?.name,
  );
  await saveConfig(c);
  return c;
}

/** The session, read once: a command that also needs its settings passes it on (ensureConfig). */
async function requireRunning(kube: KubeObjects & KubeIdentity, name: string): Promise<SessionView> {
  name = sessionOf(name); // a repository's sync (`SESSION@REPO`, units.ts) needs its session's pod
  const v = await requireSession(kube, kube.namespace, name);
  if (v.status !== "Running") {
    throw new KodamaError(
      `session ${name} is ${v.status.toLowerCase()}: sync needs its pod running`,
      ExitCode.FAILED,
      v.status === "Stopped" ? `resume it with \`kodama resume ${name}\`` : undefined,
    );
  }
  return v;
}

export async function pushCommand(
  kube: Kube,
  name: string,
  path: string | undefined,
  f: { full?: boolean },
  cfg: Config,
): Promise<number> {
  const v = await requireRunning(kube, name);
  // the session's sync, or each repository's of a session with several (units.ts)
  const one = async (name: string): Promise<void> => {
    const c = repoOf(name)
      ? await unitConfig(kube, v, name, path, cfg)
      : await ensureConfig(kube, v, path, cfg);
    // the background sync owns the manifest and the totals while it runs: it pauses for the push (saving
    // what it counted), and starts again after it from what the push left (on the new root, if PATH is one)
    const daemon = running(name);
    if (daemon) await stopDaemon(name);
    try {
      const r = await pushTree(kube, c, { full: f.full, err: stderrSink, tty: isTerminal("stderr") });
      stdoutSink.write(`${pushSummary(r)}: ${c.root} -> ${c.pod}:${c.workdir}\n`);
    } finally {
      if (daemon) {
        const pid = await spawnDaemon(kube, name, c.namespace);
        stderrSink.write(`the background sync goes on (pid ${pid})\n`);
      }
    }
  };
  for (const key of keysFor(v, name)) await one(key);
  return ExitCode.OK;
}

export async function startCommand(
  kube: Kube,
  name: string,
  path: string | undefined,
  cfg: Config,
  mode?: string,
  allowOverlap = false,
): Promise<number> {
  const v = await requireRunning(kube, name);
  // the session's sync, or each repository's of a session with several (units.ts)
  const one = async (name: string): Promise<void> => {
    const unit = repoOf(name) !== undefined;
    // one directory, one two-way session (overlap.ts): checked before anything is recorded
    const cur = await loadConfig(name);
    const c0 = unit ? await unitConfig(kube, v, name, path, cfg) : undefined;
    const { refuseOverlap } = await import("./overlap.ts");
    await refuseOverlap(
      c0?.root ?? (path !== undefined ? resolve(path) : cur?.root ?? resolve(".")),
      (mode ?? cur?.mode ?? cfg.sync.mode) as NonNullable<SyncConfig["mode"]>,
      { name, namespace: kube.namespace },
      allowOverlap,
    );
    const c = c0 ?? await ensureConfig(kube, v, path, cfg);
    const modeChanged = mode !== undefined && mode !== (c.mode ?? "two-way");
    if (modeChanged) {
      c.mode = mode as SyncConfig["mode"];
      await saveConfig(c);
    }
    const before = await loadStatus(name);
    if (running(name) && path === undefined && !modeChanged) {
      stderrSink.write(`the background sync of ${name} is already running (pid ${before!.pid})\n`);
      return;
    }
    if (running(name)) await stopDaemon(name); // a new root
    const crlf = await autocrlfWarning(c.root);
    if (crlf) stderrSink.write(crlf);
    const pid = await spawnDaemon(kube, name, c.namespace);
    stdoutSink.write(`sync/${name} started\n`);
    stderrSink.write(
      `syncing ${c.root} -> ${c.pod}:${c.workdir} in the background (pid ${pid}); log ${paths(name).log}\n`,
    );
  };
  for (const key of keysFor(v, name)) await one(key);
  return ExitCode.OK;
}

export async function stopCommand(name: string): Promise<number> {
  const keys = syncedKeys(name);
  if (!keys.length) throw notFound(`session ${name} is not synced from this machine`);
  for (const key of keys) {
    const c = (await loadConfig(key))!;
    const was = await stopDaemon(key);
    await recordSync(c, false);
    stdoutSink.write(`sync/${key} stopped\n`);
    if (!was) stderrSink.write(`(it was not running)\n`);
  }
  return ExitCode.OK;
}

/** The status as shown and as `-o json` prints it: the file, with a dead process said plainly. */
export function effectiveStatus(s: SyncStatus | undefined, alive: boolean): SyncStatus & { column: string } {
  const base: SyncStatus = s ?? emptyStatus();
  if (base.state !== "stopped" && !alive) {
    return {
      ...base,
      state: "error",
      lastError: `the background sync is not running (pid ${base.pid} exited); see the log`,
      column: "Error",
    };
  }
  return { ...base, column: columnOf(base, alive) };
}

export function formatStatus(c: SyncConfig, s: SyncStatus, log: string, now = Date.now()): string {
  const ago = (t?: string) => (t ? `${t} (${formatAge(t, now)} ago)` : "never");
  const rows: [string, string][] = [
    ["Session", `${sessionOf(c.name)} (namespace ${c.namespace})`],
    ...(repoOf(c.name) ? [["Repository", repoOf(c.name)!] as [string, string]] : []),
    ["Local", c.root],
    ["Pod", `${c.pod}:${c.workdir}`],
    ["Mode", c.mode ?? "two-way"],
    [
      "State",
      `${s.state}${s.pid && s.state !== "stopped" ? ` (pid ${s.pid})` : ""}${
        s.state === "paused"
          ? `: session stopped (${s.pausedReason ?? "idle"})${
            s.pausedSince ? ` since ${ago(s.pausedSince)}` : ""
          }; syncs again when it runs (\`kodama resume ${sessionOf(c.name)}\`)`
          : ""
      }`,
    ],
    ["Last sync", ago(s.lastSync)],
    [
      "Sent",
      `${s.filesSent} file${s.filesSent === 1 ? "" : "s"}, ${formatBytes(s.bytesSent)} in ${s.batches} batch${
        s.batches === 1 ? "" : "es"
      }`,
    ],
    ["Received", `${s.filesReceived ?? 0} change${s.filesReceived === 1 ? "" : "s"} from the pod`],
    ["Last change", s.lastDirection ?? "none"],
    ["Pending", `${s.pendingToPod ?? s.pending} to the pod, ${s.pendingToLocal ?? 0} from the pod`],
    ["Conflicts", String(s.conflicts?.length ?? 0)],
    ["Reconnects", `${s.reconnects}${s.lastReconnect ? ` (last ${ago(s.lastReconnect)})` : ""}`],
    ["Last error", s.lastError ? `${s.lastError}${s.lastErrorAt ? ` (${ago(s.lastErrorAt)})` : ""}` : "none"],
    ["Log", log],
  ];
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  let text = rows.map(([k, v]) => `${(k + ":").padEnd(w)}${v}`).join("\n") + "\n";
  if (s.conflicts?.length) text += "\n" + formatConflicts(s.conflicts, c.name);
  return text;
}

/** One line per conflict with both versions' size and time, then how to resolve. */
export function formatConflicts(list: Conflict[], name: string): string {
  const side = (v: Conflict["local"]) =>
    v ? `${v.kind === "file" ? formatBytes(v.size) : v.kind}${v.mtime ? ` ${v.mtime}` : ""}` : "deleted";
  const lines = list.map((k) => `  ${k.path}  here: ${side(k.local)}  pod: ${side(k.pod)}  (${k.why})`);
  return `Conflicts (both versions kept, nothing synced for these paths):\n${lines.join("\n")}\n` +
    `resolve with \`kodama sync resolve ${
      withRepo(name)
    } PATH --keep local|pod\` (or --all); see one with \`kodama sync diff ${withRepo(name)} PATH\`\n`;
}

/** A sync's key as typed: `SESSION --repo REPO` for a repository's. */
function withRepo(key: string): string {
  return repoOf(key) ? `${sessionOf(key)} --repo ${repoOf(key)}` : key;
}

/**
 * `sync status NAME`: its sync, or each repository's of a session with several (one block each; `-o json`
 * an array of them). `home`: another machine's kodama home than this process's (tests look at theirs
 * in-process).
 */
export async function statusCommand(
  name: string,
  f: { output?: string },
  out: Sink = stdoutSink,
  home?: string,
): Promise<number> {
  const keys = syncedKeys(name, home);
  if (!keys.length) {
    throw notFound(
      `session ${name} is not synced from this machine`,
      `start syncing with \`kodama sync start ${sessionOf(name)}${
        repoOf(name) ? ` --repo ${repoOf(name)}` : " PATH"
      }\``,
    );
  }
  const each = [];
  for (const key of keys) {
    const c = (await loadConfig(key, home))!;
    each.push({ key, c, s: effectiveStatus(await loadStatus(key, home), running(key, home)) });
  }
  const several = keys.length > 1 || repoOf(keys[0]) !== undefined;
  if (f.output === "json") {
    const docs = each.map(({ key, c, s }) => {
      const { procStart: _p, ...rest } = s;
      const repo = repoOf(key);
      return {
        name: sessionOf(key),
        ...(repo ? { repo } : {}),
        namespace: c.namespace,
        root: c.root,
        workdir: c.workdir,
        ...rest,
      };
    });
    out.write(JSON.stringify(several && !repoOf(name) ? docs : docs[0], null, 2) + "\n");
  } else {
    out.write(each.map(({ key, c, s }) => formatStatus(c, s, paths(key, home).log)).join("\n"));
  }
  // like `git diff --exit-code`: a script can wait for a clean state
  return each.some(({ s }) => s.conflicts?.length) ? ExitCode.FAILED : ExitCode.OK;
}

/** `sync resolve NAME PATH... --keep local|pod` (or --all): take one side for conflicting paths. */
export async function resolveCommand(
  kube: Kube,
  name: string,
  pathsIn: string[],
  f: { keep?: string; all?: boolean },
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<number> {
  if (f.keep !== "local" && f.keep !== "pod") {
    throw usageError("sync resolve needs --keep local or --keep pod");
  }
  if (!f.all && !pathsIn.length) throw usageError("name the conflicting paths to resolve, or give --all");
  needsRepo(name, "sync resolve");
  const c = await loadConfig(name);
  if (!c || c.namespace !== kube.namespace) throw notFound(`session ${name} is not synced from this machine`);
  await requireRunning(kube, name);
  const want = f.all
    ? "all" as const
    : new Set(pathsIn.map((p) => p.replace(/^\.\/+/, "").replace(/\/+$/, "")));
  const daemon = await running(name);
  const now = daemon && want !== "all" ? await loadStatus(name) : undefined;
  if (now?.state === "watching") {
    // what the running sync found in its last cycle (it is idle now): a path in no conflict is refused
    // without stopping it
    const all = (now.conflicts ?? []).map((k) => k.path);
    const none = [...want].filter((p) =>
      !all.some((q) => q === p || q.startsWith(p + "/") || p.startsWith(q + "/"))
    );
    if (none.length) {
      throw notFound(
        `${none.map((p) => JSON.stringify(p)).join(", ")} ${
          none.length === 1 ? "is" : "are"
        } not in conflict${
          all.length ? ` (in conflict: ${all.slice(0, 5).join(", ")}${all.length > 5 ? ", ..." : ""})` : ""
        }; nothing was changed`,
      );
    }
  }
  if (daemon) await stopDaemon(name);
  try {
    const r = await reconcileOnce(kube, c, { force: { paths: want, keep: f.keep, strict: true } });
    const st = (await loadStatus(name)) ?? emptyStatus();
    await saveStatus(name, { ...addCycle(st, r), conflicts: r.conflicts });
    const left = r.conflicts.length;
    out.write(
      `resolved with the ${f.keep === "local" ? "local" : "pod's"} version: ${
        f.keep === "local" ? r.toPod : r.toLocal
      } path(s)${left ? `; ${left} conflict(s) left` : ""}\n`,
    );
    if (want !== "all") {
      const still = r.conflicts.filter((k) => want.has(k.path));
      if (still.length) err.write(`still in conflict: ${still.map((k) => k.path).join(", ")}\n`);
    }
    return left && want === "all" ? ExitCode.FAILED : ExitCode.OK;
  } finally {
    if (daemon) await spawnDaemon(kube, name, c.namespace);
  }
}

/** A refusal of `sync diff` / the web UI's "View both" to read a path (exit 4: a 403 for the page). */
function notShown(rel: string, why: string): KodamaError {
  return new KodamaError(
    `refusing to show ${rel}: ${why}`,
    ExitCode.FORBIDDEN,
    "only regular files inside the synced directory are shown, as sync sees them: a link is never followed, .git never read",
  );
}

/**
 * The local side of `rel` as sync sees it: read only when no component is a symlink (each one lstat'ed,
 * as src/base/fs/safewrite.ts checks a write) and its real path stays inside the root and outside .git; a path
 * that is not there or not a regular file is undefined. A committed `lnk -> ~/.ssh` makes
 * `lnk/id_ed25519` a refusal, never the key.
 */
async function readSyncedLocal(root: string, rel: string): Promise<string | undefined> {
  const abs = join(root, rel);
  const why = await parentProblem(root, abs, { self: true });
  if (why) throw notShown(rel, why);
  const realRoot = (await whereTo(root)).real;
  const to = await whereTo(abs);
  if (to.dangling || !isWithin(realRoot, to.real)) {
    throw notShown(rel, `it leads to ${to.real}, outside ${root}`);
  }
  if (to.real.slice(realRoot.length).split(/[\\/]/).some(isDotGit)) throw notShown(rel, "it is inside .git");
  const st = await Deno.lstat(to.real).catch(() => undefined);
  if (!st?.isFile) return undefined;
  if (st.size > SHOW_LIMIT) throw tooLarge(rel, "here");
  return await Deno.readTextFile(to.real).catch(() => undefined);
}

/** What `sync diff` and the web UI's "View both" read of one side of a path, at most. */
export const SHOW_LIMIT = 4 * 1024 * 1024;

function tooLarge(rel: string, where: string): KodamaError {
  return usageError(
    `${rel} is larger than ${formatBytes(SHOW_LIMIT)} ${where}: too large to show side by side`,
    `compare it another way: kodama cp, or kodama attach and a diff tool in the pod`,
  );
}

/**
 * A path's text here and in the pod (undefined: not a file on that side), for `sync diff` and the web UI.
 * Both sides are read as sync sees them: a path through a symlink (here or in the pod) or into .git is
 * refused (exit 4), never followed.
 */
export async function bothVersions(
  kube: Kube,
  name: string,
  path: string,
): Promise<{ path: string; local?: string; pod?: string }> {
  needsRepo(name, "sync diff");
  const c = await loadConfig(name);
  if (!c || c.namespace !== kube.namespace) throw notFound(`session ${name} is not synced from this machine`);
  await requireRunning(kube, name);
  const segs = path.split("/").filter((s) => s !== "" && s !== ".");
  if (!segs.length || segs.includes("..") || path.startsWith("/")) {
    throw usageError(`${path}: a path inside the synced directory`);
  }
  const rel = segs.join("/");
  // the local side first: a refusal sends nothing to the pod
  const localText = await readSyncedLocal(c.root, rel);
  const t = targetOf(c);
  const parts: Uint8Array[] = [];
  const errParts: Uint8Array[] = [];
  // in the pod, too, no component may be a symlink: exit 6 with the index of the first that is
  const res = await execInPod(kube, t.namespace, t.pod, t.container, [
    "sh",
    "-c",
    SHOW,
    "sh",
    t.workdir,
    rel,
    String(SHOW_LIMIT + 1),
  ], { stdout: (b) => void parts.push(b.slice()), stderr: (b) => void errParts.push(b.slice()) });
  if (res.error) throw new KodamaError(`cannot read ${rel} in ${t.pod}: ${res.error}`);
  if (res.exitCode === 6) {
    const n = Number(new TextDecoder().decode(concatBytes(errParts)).trim());
    const link = Number.isInteger(n) && n >= 1 && n <= segs.length
      ? segs.slice(0, n).join("/")
      : "a part of it";
    throw notShown(rel, `in the pod, ${link} is a symlink`);
  }
  const podBytes = res.exitCode === 0 ? concatBytes(parts) : undefined;
  if (podBytes && podBytes.length > SHOW_LIMIT) throw tooLarge(rel, "in the pod");
  const podText = podBytes ? new TextDecoder().decode(podBytes) : undefined;
  if (podText === undefined && localText === undefined) throw notFound(`${rel}: neither here nor in the pod`);
  return {
    path: rel,
    ...(localText !== undefined ? { local: localText } : {}),
    ...(podText !== undefined ? { pod: podText } : {}),
  };
}

/** `sync diff NAME PATH`: the local version against the pod's, as a unified diff. */
export async function diffCommand(
  kube: Kube,
  name: string,
  path: string,
  out: Sink = stdoutSink,
): Promise<number> {
  const { path: rel, local: localText, pod: podText } = await bothVersions(kube, name, path);
  const { createTwoFilesPatch } = await import("diff");
  const patch = createTwoFilesPatch(
    localText === undefined ? "/dev/null" : `local/${rel}`,
    podText === undefined ? "/dev/null" : `pod/${rel}`,
    localText ?? "",
    podText ?? "",
  );
  out.write(patch.split("\n").slice(1).join("\n"));
  return localText === podText ? ExitCode.OK : ExitCode.FAILED;
}

/**
 * A session's sync from this machine as data (the web UI): where, which mode, the status with its
 * conflicts. Nothing secret: the connection flags a background process uses stay out.
 */
export async function syncData(name: string, namespace: string): Promise<Record<string, unknown>> {
  const keys = syncedKeys(name);
  // several repositories: each one's (units.ts)
  if (keys.length && repoOf(keys[0]) !== undefined && !repoOf(name)) {
    const repos = [];
    for (const k of keys) {
      const d = await unitData(k, namespace);
      if (d) repos.push({ repo: repoOf(k), ...d });
    }
    return repos.length ? { synced: true, repos } : { synced: false };
  }
  const d = await unitData(name, namespace);
  return d ? { synced: true, ...d } : { synced: false };
}

async function unitData(key: string, namespace: string): Promise<Record<string, unknown> | undefined> {
  const c = await loadConfig(key);
  if (!c || c.namespace !== namespace) return undefined;
  const { procStart: _p, pid: _pid, ...status } = effectiveStatus(await loadStatus(key), running(key));
  return { root: c.root, workdir: c.workdir, mode: c.mode ?? "two-way", status };
}

export async function daemonCommand(kube: Kube, name: string): Promise<number> {
  return await runDaemon(kube, name);
}

/** Does this machine's background sync of the session run (for this namespace)? */
export async function syncRunning(name: string, namespace: string): Promise<boolean> {
  const c = await loadConfig(name);
  return !!c && c.namespace === namespace && running(name);
}

/**
 * Pause the background sync with both sides agreeing (`session land`): the process ends, one full
 * three-way cycle runs here, and nothing is in flight until `resumeSync`. Conflicts stay as they are.
 */
export async function quiesce(kube: Kube, name: string, err: Sink = stderrSink): Promise<void> {
  const c = await loadConfig(name);
  if (!c) return;
  await stopDaemon(name);
  const r = await reconcileOnce(kube, c);
  const st = (await loadStatus(name)) ?? emptyStatus();
  await saveStatus(name, { ...addCycle(st, r), conflicts: r.conflicts });
  err.write(
    `paused the sync of ${name} after a last cycle (${r.toPod} to the pod, ${r.toLocal} from it)${
      r.conflicts.length ? `; ${r.conflicts.length} path(s) in conflict stay as they are` : ""
    }\n`,
  );
}

/** Start the background sync again after `quiesce`. */
export async function resumeSync(kube: Kube, name: string, namespace: string): Promise<void> {
  await spawnDaemon(kube, name, namespace);
}
