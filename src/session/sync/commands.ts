/**
 * `kodama sync push|start|stop|status|pull NAME`: each takes the connected client and parsed flags,
 * runs one feature function, and returns the exit code.
 */
import { resolve } from "node:path";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import { formatBytes } from "../../bytes.ts";
import { ExitCode, KodamaError, notFound } from "../../errors.ts";
import { isTerminal } from "../../ui/color.ts";
import { formatAge } from "../../ui/table.ts";
import { type Sink, stderrSink, stdoutSink } from "../../base/sink.ts";
import { requireSession } from "../cluster.ts";
import { columnOf, running } from "./column.ts";
import { runDaemon, spawnDaemon, stopDaemon } from "./daemon.ts";
import { pushTree } from "./push.ts";
import { autocrlfWarning, configFor, pushSummary } from "./session.ts";
import {
  emptyStatus,
  loadConfig,
  loadStatus,
  paths,
  saveConfig,
  type SyncConfig,
  type SyncStatus,
} from "./store.ts";

/** `sync pull` (./pull.ts): front ends import src/session/sync through this module only. */
export { pullCommand } from "./pull.ts";

/**
 * The session's sync settings: the recorded ones, with the local root replaced when PATH is given
 * (a new root starts a new manifest). A session never synced from here needs PATH (default: `.`).
 */
async function ensureConfig(
  kube: Kube,
  name: string,
  path: string | undefined,
  cfg: Config,
): Promise<SyncConfig> {
  const cur = await loadConfig(name);
  if (cur && cur.namespace === kube.namespace && path === undefined) return cur;
  const v = await requireSession(kube, kube.namespace, name);
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
  const c = configFor(kube, { ...v.spec, namespace: kube.namespace }, root, cfg, secretFiles);
  await saveConfig(c);
  return c;
}

async function requireRunning(kube: Kube, name: string): Promise<void> {
  const v = await requireSession(kube, kube.namespace, name);
  if (v.status !== "Running") {
    throw new KodamaError(
      `session ${name} is ${v.status.toLowerCase()}: sync needs its pod running`,
      ExitCode.FAILED,
      v.status === "Stopped" ? `resume it with \`kodama resume ${name}\`` : undefined,
    );
  }
}

export async function pushCommand(
  kube: Kube,
  name: string,
  path: string | undefined,
  f: { full?: boolean },
  cfg: Config,
): Promise<number> {
  await requireRunning(kube, name);
  const c = await ensureConfig(kube, name, path, cfg);
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
  return ExitCode.OK;
}

export async function startCommand(
  kube: Kube,
  name: string,
  path: string | undefined,
  cfg: Config,
): Promise<number> {
  await requireRunning(kube, name);
  const c = await ensureConfig(kube, name, path, cfg);
  const before = await loadStatus(name);
  if (running(name) && path === undefined) {
    stderrSink.write(`the background sync of ${name} is already running (pid ${before!.pid})\n`);
    return ExitCode.OK;
  }
  if (running(name)) await stopDaemon(name); // a new root
  const crlf = await autocrlfWarning(c.root);
  if (crlf) stderrSink.write(crlf);
  const pid = await spawnDaemon(kube, name, c.namespace);
  stdoutSink.write(`sync/${name} started\n`);
  stderrSink.write(
    `syncing ${c.root} -> ${c.pod}:${c.workdir} in the background (pid ${pid}); log ${paths(name).log}\n`,
  );
  return ExitCode.OK;
}

export async function stopCommand(name: string): Promise<number> {
  const c = await loadConfig(name);
  if (!c) throw notFound(`session ${name} is not synced from this machine`);
  const was = await stopDaemon(name);
  stdoutSink.write(`sync/${name} stopped\n`);
  if (!was) stderrSink.write(`(it was not running)\n`);
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
    ["Session", `${c.name} (namespace ${c.namespace})`],
    ["Local", c.root],
    ["Pod", `${c.pod}:${c.workdir}`],
    ["State", `${s.state}${s.pid && s.state !== "stopped" ? ` (pid ${s.pid})` : ""}`],
    ["Last sync", ago(s.lastSync)],
    [
      "Sent",
      `${s.filesSent} file${s.filesSent === 1 ? "" : "s"}, ${formatBytes(s.bytesSent)} in ${s.batches} batch${
        s.batches === 1 ? "" : "es"
      }`,
    ],
    ["Pending", String(s.pending)],
    ["Reconnects", `${s.reconnects}${s.lastReconnect ? ` (last ${ago(s.lastReconnect)})` : ""}`],
    ["Last error", s.lastError ? `${s.lastError}${s.lastErrorAt ? ` (${ago(s.lastErrorAt)})` : ""}` : "none"],
    ["Log", log],
  ];
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${(k + ":").padEnd(w)}${v}`).join("\n") + "\n";
}

export async function statusCommand(
  name: string,
  f: { output?: string },
  out: Sink = stdoutSink,
): Promise<number> {
  const c = await loadConfig(name);
  if (!c) {
    throw notFound(
      `session ${name} is not synced from this machine`,
      `start syncing with \`kodama sync start ${name} PATH\``,
    );
  }
  const s = effectiveStatus(await loadStatus(name), running(name));
  if (f.output === "json") {
    const { procStart: _p, ...rest } = s;
    out.write(
      JSON.stringify({ name, namespace: c.namespace, root: c.root, workdir: c.workdir, ...rest }, null, 2) +
        "\n",
    );
  } else out.write(formatStatus(c, s, paths(name).log));
  return ExitCode.OK;
}

export async function daemonCommand(kube: Kube, name: string): Promise<number> {
  return await runDaemon(kube, name);
}
