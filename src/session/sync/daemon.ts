/**
 * The background sync process of a session: `kodama sync start` (and `start --sync`, `resume`) run
 * `kodama … sync __daemon NAME` detached in its own session, so it outlives the command that started it;
 * `sync stop`, `stop` and `delete` end it (src/base/proc/liveness.ts: SIGTERM, or a stop file on Windows; SIGKILL after
 * 10 s). It is alive exactly while it holds `daemon.lock` in its directory — never judged by its pid. It
 * writes `status.json` on every state change and after every batch, and logs to `sync.log` (both in
 * `$KODAMA_HOME/sync/NAME/`).
 */
import type { Kube, V1Pod } from "../../kube/client.ts";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { withInterrupt } from "../../base/proc/proc.ts";
import { claim, stopHolder } from "../../base/proc/liveness.ts";
import { DAEMON_CLAIM, running } from "./column.ts";
import {
  emptyStatus,
  loadConfig,
  loadStatus,
  paths,
  saveConfig,
  saveStatus,
  sessionOf,
  startAgain,
  type SyncConfig,
  type SyncStatus,
  unitsOf,
} from "./store.ts";
import type { LoopHooks, PodComing as PodComingT, SessionStopped as SessionStoppedT } from "./loop.ts";
import { lookAgain, PodTracker } from "../state/replaced.ts";
import { findSessionPod } from "../state/cluster.ts";
import { sessionSelector } from "../spec/names.ts";
import { openSyncLog } from "./synclog.ts";
import { endedByItself } from "../state/status.ts";

/** The body of `sync __daemon NAME`: runs until SIGTERM/SIGINT. */
export async function runDaemon(kube: Kube, name: string, home?: string): Promise<number> {
  const c = await loadConfig(name, home);
  if (!c) throw new KodamaError(`no sync configured for session ${name}`, ExitCode.NOT_FOUND);
  const p = paths(name, home);
  const held = await claim(p.dir, DAEMON_CLAIM);
  if (!held) throw new KodamaError(`the background sync of ${name} is already running`, ExitCode.USAGE);
  // the engine, loaded here only: stop, delete and resume stop a daemon through this module, and the engine
  // (node:path, the ignore rules' npm package: Deno's Node layer) would cost each of them ~60 ms of CPU
  const { PodComing, SessionStopped, TwoWayLoop } = await import("./loop.ts");
  const log = openSyncLog(p.log);
  const write = (line: string) => log.write(line);
  // what earlier syncs of this session sent (start --sync, resume, sync push, an earlier run) still counts
  const before = await loadStatus(name, home);
  const status: SyncStatus = {
    ...emptyStatus("starting"),
    ...(before
      ? {
        lastSync: before.lastSync,
        filesSent: before.filesSent,
        bytesSent: before.bytesSent,
        batches: before.batches,
        filesReceived: before.filesReceived,
      }
      : {}),
    pid: Deno.pid,
    startedAt: new Date().toISOString(),
  };
  let saving = Promise.resolve();
  // never made again once the session's directory is gone (deleted here): nothing is left behind
  const save = () => (saving = saving.then(async () => {
    if (await Deno.lstat(p.config).then(() => true, () => false)) await saveStatus(name, status, home);
  }).catch(() => {}));
  await save();
  // SIGTERM, SIGINT, or the stop file (Windows has no SIGTERM to catch) end the loop
  return await withInterrupt(async (signal) => {
    write(
      `sync started (pid ${Deno.pid}, ${
        c.mode ?? "two-way"
      }): ${c.root} -> ${c.namespace}/${c.pod}:${c.workdir}`,
    );
    const loop = new TwoWayLoop(kube, c, {
      status,
      save,
      log: write,
      home,
      ...podHooks(kube, c, name, { status, write, home, SessionStopped, PodComing }),
      giveUp: (e, downMs) => giveUpReason(name, c.pod, e, downMs, home),
    });
    // the parent waits for this line: the watch is being set up, the process is on its own now
    console.log(JSON.stringify({ ready: true, pid: Deno.pid }));
    // a session deleted here (or a test's KODAMA_HOME removed) while the cluster still answers: end too,
    // looked at every 30 s (KODAMA_SYNC_ORPHAN_MS: a test that deletes the settings need not wait that out)
    const orphan = new AbortController();
    const watchdog = setInterval(async () => {
      if (orphan.signal.aborted || (await loadConfig(name, home).catch(() => undefined))) return;
      write(`giving up: the sync settings of ${name} are gone (${p.dir}): the session was deleted here`);
      orphan.abort();
    }, envMs("KODAMA_SYNC_ORPHAN_MS", 30_000));
    try {
      await loop.run(AbortSignal.any([signal, orphan.signal]));
    } finally {
      clearInterval(watchdog);
      status.state = "stopped";
      status.pending = loop.pending;
      await save();
      write("sync stopped");
      log.close();
      held.release();
    }
    return ExitCode.OK;
  }, { signals: ["SIGTERM", "SIGINT"], signal: held.stopRequested });
}

/**
 * The loop's look at the session's pod: by its labels (issue 80: the cluster replaces it under a new name);
 * a replacement is followed, said once in the log (replaced.ts), and kept in sync.json for the next start.
 */
function podHooks(
  kube: KubeObjects & KubeIdentity,
  c: SyncConfig,
  name: string,
  o: {
    status: SyncStatus;
    write: (line: string) => void;
    home?: string;
    SessionStopped: typeof SessionStoppedT;
    PodComing: typeof PodComingT;
  },
): Pick<LoopHooks, "checkPod" | "waitBack"> {
  const { status, write, home, SessionStopped, PodComing } = o;
  // a repository's sync (`NAME@REPO`) follows its session's pod
  name = sessionOf(name);
  const tracker = new PodTracker(name, { metadata: { name: c.pod } });
  return {
    // the session's pod by its labels (issue 80: the cluster replaces it under a new name); a replacement
    // is followed, said once in the log, and kept in sync.json for the next start
    checkPod: async () => {
      const step = await lookAgain(kube, c.namespace, tracker);
      if (step.kind === "waiting") throw new PodComing(step.why);
      const pod = step.view.pod;
      if (!pod) {
        throw new KodamaError(`session ${name} has no pod`, ExitCode.NOT_FOUND);
      }
      if (step.kind === "moved") {
        c.pod = pod.metadata!.name!;
        await saveConfig(c, home).catch(() => {});
        write(step.line);
        status.lastError = undefined;
        status.lastErrorAt = undefined;
        return c.pod;
      }
      const ended = !pod.metadata?.deletionTimestamp && endedByItself(pod);
      if (ended) throw new SessionStopped(name, ended.reason, ended.stoppedAt);
      const phase = pod.status?.phase;
      const ready = pod.status?.containerStatuses?.every((s) => s.ready) ?? false;
      if (phase !== "Running" || !ready || pod.metadata?.deletionTimestamp) {
        throw new KodamaError(`pod ${pod.metadata?.name} is not running (${phase ?? "unknown"})`);
      }
      return c.pod;
    },
    // a resumed session's pod (a new name) is followed with nothing to say: it was not a replacement
    waitBack: async (signal) => {
      const why = await podBack(kube, c.namespace, name, signal);
      const pod = why || signal.aborted ? undefined : await findSessionPod(kube, c.namespace, name);
      if (pod?.metadata?.name) {
        tracker.reset(pod);
        if (pod.metadata.name !== c.pod) {
          c.pod = pod.metadata.name;
          await saveConfig(c, home).catch(() => {});
        }
      }
      return why;
    },
  };
}

/** How long a pod that is gone (404) is waited for before the background sync ends: 2 min. */
const GONE_MS = 2 * 60_000;
/** How long an unreachable cluster is retried before the background sync ends: 6 h. */
const OFFLINE_MS = 6 * 3600_000;

function envMs(name: string, dflt: number): number {
  const v = Number(Deno.env.get(name));
  return Number.isFinite(v) && v >= 0 && Deno.env.get(name) ? v : dflt;
}

/**
 * Why the background sync should end instead of retrying, or undefined. Its own settings gone (the session
 * was deleted here, or a test's KODAMA_HOME removed): at once. The pod not found for 2 min
 * (KODAMA_SYNC_GONE_MS): the session was deleted. No answer from the cluster for 6 h
 * (KODAMA_SYNC_OFFLINE_MS). `sync start` or `resume` start it again; nothing is lost, the ancestor stays.
 */
export async function giveUpReason(
  name: string,
  pod: string,
  e: Error,
  downMs: number,
  home?: string,
): Promise<string | undefined> {
  if (!(await loadConfig(name, home).catch(() => undefined))) {
    return `the sync settings of ${name} are gone (${paths(name, home).dir}): the session was deleted here`;
  }
  const min = (ms: number) =>
    ms >= 2 * 3600_000 ? `${Math.round(ms / 3600_000)} h` : `${Math.round(ms / 60_000)} min`;
  const gone = envMs("KODAMA_SYNC_GONE_MS", GONE_MS);
  if (e instanceof KodamaError && e.code === ExitCode.NOT_FOUND && downMs >= gone) {
    return `pod ${pod} has not been found for ${min(downMs)} (was the session deleted?); ` +
      `\`${startAgain(name)}\` starts the sync again`;
  }
  const offline = envMs("KODAMA_SYNC_OFFLINE_MS", OFFLINE_MS);
  if (downMs >= offline) {
    return `the cluster has not answered for ${min(downMs)}; \`${startAgain(name)}\` starts the sync again`;
  }
  return undefined;
}

/** A pod that runs and is ready (the session came back). */
function runs(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && !pod.metadata?.deletionTimestamp &&
    (pod.status?.containerStatuses?.every((s) => s.ready) ?? false);
}

/**
 * While the session is stopped by itself: wait, with one watch on its pods (by its labels: `resume` makes a
 * pod under a new name, issue 80; no polling), until one runs again (`resume` here or elsewhere: undefined),
 * or until it has had none for GONE_MS (the session was stopped or deleted: the reason to give up). A watch
 * the cluster ends is made again; one that fails (the cluster unreachable) is tried again a minute later.
 */
export async function podBack(
  kube: KubeObjects,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const gone = envMs("KODAMA_SYNC_GONE_MS", GONE_MS);
  const ctrl = new AbortController();
  const both = AbortSignal.any([signal, ctrl.signal]);
  const labelSelector = sessionSelector(name);
  let result: string | undefined;
  let absentSince: number | undefined;
  const pods = new Map<string, V1Pod>();
  const judge = () => {
    if ([...pods.values()].some(runs)) return ctrl.abort();
    if (pods.size) absentSince = undefined;
    else absentSince ??= Date.now();
  };
  try {
    const { items } = await kube.listObjects<V1Pod>("pods", namespace, { labelSelector });
    for (const p of items) pods.set(p.metadata?.name ?? "", p);
    judge();
  } catch { /* judged by the watch */ }
  const timer = setInterval(() => {
    if (absentSince !== undefined && Date.now() - absentSince >= gone) {
      result = `session ${name} has had no pod for ${Math.round((Date.now() - absentSince) / 1000)} s ` +
        `(the session was stopped or deleted); \`kodama resume\` or \`kodama sync start\` starts the sync again`;
      ctrl.abort();
    }
  }, Math.min(10_000, Math.max(100, gone / 4)));
  try {
    while (!both.aborted) {
      try {
        await kube.watchObjects<V1Pod>(
          "pods",
          namespace,
          { labelSelector },
          (type, p) => {
            if (type === "DELETED") pods.delete(p.metadata?.name ?? "");
            else pods.set(p.metadata?.name ?? "", p);
            judge();
          },
          { signal: both },
        );
      } catch {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 60_000);
          both.addEventListener("abort", () => {
            clearTimeout(t);
            r();
          }, { once: true });
        });
      }
    }
  } finally {
    clearInterval(timer);
  }
  return signal.aborted ? undefined : result;
}

/** Start the background process (unless one runs); resolves once it is on its own. */
export async function spawnDaemon(
  kube: Kube,
  name: string,
  namespace: string,
  home?: string,
): Promise<number> {
  if (running(name, home)) return (await loadStatus(name, home))?.pid ?? 0;
  // `session land` left a merge to finish: never sync into a half-merged tree
  const held = await (await import("./hold.ts")).holdReason(name, home);
  if (held) throw new KodamaError(held, ExitCode.USAGE);
  const { selfCommand } = await import("../../base/proc/proc.ts");
  const self = selfCommand();
  const args = [...self.slice(1), ...kube.childFlags(), "-n", namespace, "sync", "__daemon", name];
  const proc = new Deno.Command(self[0], {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    detached: true,
    ...(home ? { env: { KODAMA_HOME: home } } : {}),
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let pid: number | undefined;
  try {
    while (pid === undefined) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const m = /\{"ready":true,"pid":(\d+)\}/.exec(buf);
      if (m) pid = Number(m[1]);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (pid === undefined) {
    const st = await proc.status;
    throw new KodamaError(
      `the background sync of ${name} exited (code ${st.code}) before it started`,
      ExitCode.FAILED,
      `see ${paths(name, home).log}`,
    );
  }
  proc.unref();
  return pid;
}

/**
 * End the background process (SIGTERM, or the stop file on Windows; SIGKILL after 10 s); true when one
 * was running. Only the process that holds the daemon lock is ever signalled: a pid left in status.json
 * by a sync that died may belong to another program by now.
 */
export async function stopDaemon(name: string, home?: string): Promise<boolean> {
  const r = await stopHolder(paths(name, home).dir, DAEMON_CLAIM);
  const after = await loadStatus(name, home);
  if (after && after.state !== "stopped") await saveStatus(name, { ...after, state: "stopped" }, home);
  return r !== "none";
}

/**
 * End every background sync of a session (its own, and each repository's of a session with several);
 * the keys of those that were running.
 */
export async function stopSessionSyncs(session: string, home?: string): Promise<string[]> {
  const ran: string[] = [];
  for (const k of unitsOf(session, home)) if (running(k, home) && await stopDaemon(k, home)) ran.push(k);
  return ran;
}
