/**
 * The background sync process of a session: `kodama sync start` (and `start --sync`, `resume`) run
 * `kodama … sync __daemon NAME` detached in its own session, so it outlives the command that started it;
 * `sync stop`, `stop` and `delete` end it with SIGTERM. It writes `status.json` on every state change and
 * after every batch, and logs to `sync.log` (both in `$KODAMA_HOME/sync/NAME/`).
 */
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { isAlive, procStartTime } from "../pods/pf_state.ts";
import { running } from "./column.ts";
import { emptyStatus, loadConfig, loadStatus, paths, saveStatus, type SyncStatus } from "./store.ts";
import { SyncLoop } from "./watch.ts";

/** The body of `sync __daemon NAME`: runs until SIGTERM/SIGINT. */
export async function runDaemon(kube: Kube, name: string, home?: string): Promise<number> {
  const c = await loadConfig(name, home);
  if (!c) throw new KodamaError(`no sync configured for session ${name}`, ExitCode.NOT_FOUND);
  const p = paths(name, home);
  const log = await Deno.open(p.log, { append: true, create: true, mode: 0o600 });
  const enc = new TextEncoder();
  const write = (line: string) => {
    try {
      log.writeSync(enc.encode(`${new Date().toISOString()} ${line}\n`));
    } catch { /* disk full: keep syncing */ }
  };
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
      }
      : {}),
    pid: Deno.pid,
    procStart: procStartTime(Deno.pid),
    startedAt: new Date().toISOString(),
  };
  let saving = Promise.resolve();
  const save = () => (saving = saving.then(() => saveStatus(name, status, home)).catch(() => {}));
  await save();
  const ctrl = new AbortController();
  const stop = () => ctrl.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  write(`sync started (pid ${Deno.pid}): ${c.root} -> ${c.namespace}/${c.pod}:${c.workdir}`);
  const loop = new SyncLoop(kube, c, {
    status,
    save,
    log: write,
    home,
    checkPod: async () => {
      const pod = await kube.getPod(c.namespace, c.pod);
      const phase = pod.status?.phase;
      const ready = pod.status?.containerStatuses?.every((s) => s.ready) ?? false;
      if (phase !== "Running" || !ready || pod.metadata?.deletionTimestamp) {
        throw new KodamaError(`pod ${c.pod} is not running (${phase ?? "unknown"})`);
      }
    },
  });
  // the parent waits for this line: the watch is being set up, the process is on its own now
  console.log(JSON.stringify({ ready: true, pid: Deno.pid }));
  try {
    await loop.run(ctrl.signal);
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
    status.state = "stopped";
    status.pending = loop.pending;
    await save();
    write("sync stopped");
    log.close();
  }
  return ExitCode.OK;
}

/** Start the background process (unless one runs); resolves once it is on its own. */
export async function spawnDaemon(
  kube: Kube,
  name: string,
  namespace: string,
  home?: string,
): Promise<number> {
  const cur = await loadStatus(name, home);
  if (running(cur)) return cur!.pid!;
  const { selfCommand } = await import("../pods/self.ts");
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

/** End the background process (SIGTERM, then SIGKILL after 10 s); true when one was running. */
export async function stopDaemon(name: string, home?: string): Promise<boolean> {
  const s = await loadStatus(name, home);
  if (!running(s)) {
    if (s && s.state !== "stopped") await saveStatus(name, { ...s, state: "stopped" }, home);
    return false;
  }
  const who = { pid: s!.pid!, procStart: s!.procStart } as never;
  try {
    Deno.kill(s!.pid!, "SIGTERM");
  } catch { /* gone meanwhile */ }
  const until = Date.now() + 10_000;
  while (isAlive(who) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(who)) {
    try {
      Deno.kill(s!.pid!, "SIGKILL");
    } catch { /* gone */ }
  }
  const after = await loadStatus(name, home);
  if (after && after.state !== "stopped") await saveStatus(name, { ...after, state: "stopped" }, home);
  return true;
}
