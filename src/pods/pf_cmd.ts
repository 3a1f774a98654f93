/**
 * The `kodama port-forward` command: resolve the target, listen, print the Forwarding lines, and run until
 * Ctrl-C (a quiet end with the traffic figures and exit 0, as kubectl ends), `port-forward stop`, or the
 * pod going away without --reconnect. On a terminal a live line per port shows connections, bytes, rates
 * and errors; `--stats-json FILE` gets the same figures, at most a second behind. Every forward registers itself
 * under $KODAMA_HOME/port-forwards (pf_state.ts), so `list` and `stop` see foreground and background ones.
 *
 * `--detach` starts the same command as a background process (its own session, so it outlives the
 * terminal), waits for it to listen, prints its id and mappings, and returns.
 */
import type { Kube } from "../kube/client.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { ExitCode, KodamaError, usageError } from "../base/errors.ts";
import { type Sink, stderrSink, stdoutSink } from "../base/sink.ts";
import { isTerminal } from "../ui/color.ts";
import { LiveBlock } from "../ui/progress.ts";
import { renderTable } from "../ui/table.ts";
import { atomicWrite } from "../config/atomic.ts";
import { refString } from "./resource.ts";
import type { TargetFlags } from "./target.ts";
import {
  type ActiveForward,
  formatStats,
  forwardingLine,
  type ForwardSpec,
  type ForwardTarget,
  looksLikePortSpec,
  parsePortSpec,
  parseResourceArg,
  reconnectsByDefault,
  resolveForwardTarget,
  startPortForward,
  totalStats,
} from "./portforward.ts";
import {
  formatPortLine,
  type ForwardRecord,
  LIST_HEADERS,
  listRow,
  portSnapshots,
  RateMeter,
  totalsOf,
} from "./pf_stats.ts";
import { forwardsDir, logPath, newForwardId, readRecords, removeRecord, writeRecord } from "./pf_state.ts";
import { claim, stopHolder, sweepClaims } from "../base/proc/liveness.ts";
import { checkListenAddresses } from "../base/listen.ts";

export interface PortForwardCliOptions {
  target: TargetFlags;
  service?: string;
  address?: string;
  /** undefined: the target's default (on for svc/ and workload targets) */
  reconnect?: boolean;
  first?: boolean;
  pick?: boolean;
  verbose?: boolean;
  /** stop after this signal instead of SIGINT/SIGTERM (tests) */
  signal?: AbortSignal;
  /** live lines on stderr (default: stderr is a terminal) */
  live?: boolean;
  /** run in the background; `argv` is the command line to start it with */
  detach?: boolean;
  argv?: string[];
  /** write the figures to this file as they change (checked 4 times a second) */
  statsJson?: string;
  /** internal: this process is the background forward with this id */
  daemon?: string;
  /** with reconnect: the line said once after the target moved to another pod (a session's: the cli's) */
  moved?: (from: V1Pod, to: V1Pod) => string | undefined;
}

function hasTargeting(t: TargetFlags): boolean {
  return !!(t.match?.length || t.regex || t.selector || t.fieldSelector || t.pod);
}

/** Split positional args into the target and the port specs (kubectl's `[TYPE/]NAME PORT...`). */
export function parseForwardArgs(
  args: string[],
  o: PortForwardCliOptions,
  defaultNamespace: string,
): { target: ForwardTarget; specs: ForwardSpec[] } {
  if (o.address !== undefined) checkListenAddresses(o.address, "--address", { list: true });
  const rest = [...args];
  const namespace = o.target.namespace ?? defaultNamespace;
  let target: ForwardTarget | undefined;
  const res = rest.length ? parseResourceArg(rest[0]) : undefined;
  if (res) {
    rest.shift();
    if (res.kind === "pod" || res.kind === "service") target = { kind: res.kind, namespace, name: res.name };
    else {
      // deploy/, sts/, ds/, rs/, job/, session/: one of its pods, chosen like kubectl
      target = { kind: "select", flags: { ...o.target, namespace, resource: res }, choose: {} };
    }
  } else if (!o.service && !hasTargeting(o.target) && rest.length >= 2 && !looksLikePortSpec(rest[0])) {
    target = { kind: "pod", namespace, name: rest.shift()! }; // kubectl port-forward NAME PORT...
  }
  if (o.service) {
    if (target) throw usageError(`give either --service ${o.service} or ${args[0]}, not both`);
    target = { kind: "service", namespace, name: o.service };
  }
  if (target && hasTargeting(o.target)) {
    throw usageError(
      `${
        o.service ? `--service ${o.service}` : args[0]
      } and the targeting flags (-m, -l, --pod, --regex) exclude each other`,
    );
  }
  if (o.target.allNamespaces && target) throw usageError(`-A cannot be used with ${args[0]}`);
  if (!rest.length) {
    throw usageError("port-forward needs at least one port", "e.g. 8080, 9000:8080, :8080 (free local port)");
  }
  target ??= { kind: "select", flags: o.target, choose: { first: o.first, pick: o.pick } };
  return { target, specs: rest.map(parsePortSpec) };
}

/** How `list` names a target: `svc/api`, `deploy/web`, `pod/x`, or its filters (`-l app=api -m web`). */
export function describeForwardTarget(t: ForwardTarget): string {
  if (t.kind === "pod") return `pod/${t.name}`;
  if (t.kind === "service") return `svc/${t.name}`;
  if (t.flags.resource) return refString(t.flags.resource);
  const f = t.flags;
  const parts = [
    ...(f.match ?? []).map((m) => `-m ${m}`),
    f.regex ? `--regex ${f.regex}` : "",
    f.selector ? `-l ${f.selector}` : "",
    f.fieldSelector ? `--field-selector ${f.fieldSelector}` : "",
    f.pod ? `--pod ${f.pod}` : "",
  ].filter(Boolean);
  return parts.join(" ") || "(any pod)";
}

/** A sink appending to a file (a background forward's log). */
function fileSink(path: string): Sink {
  const f = Deno.openSync(path, { create: true, append: true, mode: 0o600 });
  const enc = new TextEncoder();
  return {
    write(chunk) {
      const data = typeof chunk === "string" ? enc.encode(chunk) : chunk;
      let off = 0;
      while (off < data.length) off += f.writeSync(data.subarray(off));
    },
  };
}

/** Run the command; returns the exit code (0 after Ctrl-C or `stop`, as kubectl). */
export async function portForwardCommand(
  kube: Kube,
  args: string[],
  o: PortForwardCliOptions,
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<number> {
  const { target, specs } = parseForwardArgs(args, o, kube.namespace);
  if (o.statsJson !== undefined && !o.daemon) {
    // a stats file that can never be written is refused now, not warned about every second while it runs
    const { checkOutputFile } = await import("../base/fs/localfs.ts");
    await checkOutputFile(o.statsJson, "--stats-json", { replace: true });
  }
  if (o.detach) return await detach(kube, o, out, err);
  const id = o.daemon ?? newForwardId();
  if (o.daemon) {
    // a background forward: messages go to its log; stdout carries one line to the process that started it
    await Deno.mkdir(forwardsDir(), { recursive: true, mode: 0o700 });
    err = fileSink(logPath(id));
    err.write(
      `${new Date().toISOString()} starting: kodama ${splitSecretArgs(o.argv ?? []).args.join(" ")}\n`,
    );
    try {
      return await forward(kube, target, specs, { ...o, live: false }, id, err, (r) => {
        stdoutSink.write(JSON.stringify({ ready: r }) + "\n");
      });
    } catch (e) {
      const ke = e instanceof KodamaError ? e : new KodamaError(String((e as Error)?.message ?? e));
      err.write(`error: ${ke.message}\n`);
      stdoutSink.write(JSON.stringify({ error: ke.message, code: ke.code, hint: ke.hint }) + "\n");
      return ke.code;
    }
  }
  return await forward(kube, target, specs, o, id, err, (r) => {
    for (const p of r.ports) {
      for (const a of p.addresses) {
        out.write(forwardingLine({ address: a, local: p.local, pod: p.pod, remote: p.remote }) + "\n");
      }
    }
  });
}

async function forward(
  kube: Kube,
  target: ForwardTarget,
  specs: ForwardSpec[],
  o: PortForwardCliOptions,
  id: string,
  err: Sink,
  onReady: (r: ForwardRecord) => void,
): Promise<number> {
  const { isDebug } = await import("../base/log.ts");
  const verbose = o.verbose || isDebug();
  // the target first: a forward that cannot start (nothing matched, forbidden) leaves nothing behind
  const resolved = await resolveForwardTarget(kube, target);
  const ac = new AbortController();
  /** undefined: ended by a signal or `stop` (quiet, exit 0); else why the forward could not go on */
  const stop = Promise.withResolvers<KodamaError | undefined>();
  const onSignal = () => {
    ac.abort();
    stop.resolve(undefined);
  };
  const signals: Deno.Signal[] = o.signal ? [] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  // a background forward has no terminal to lose; a foreground one ends with its terminal (kubectl does)
  const onHup = () => {};
  if (o.daemon) Deno.addSignalListener("SIGHUP", onHup);
  o.signal?.addEventListener("abort", onSignal, { once: true });
  // alive exactly while this claim is held (list, stop); `stop` on Windows asks through a file
  await Deno.mkdir(forwardsDir(), { recursive: true, mode: 0o700 });
  sweepClaims(forwardsDir()); // what crashed forwards left
  const held = await claim(forwardsDir(), id);
  if (!held) throw new KodamaError(`port-forward ${id} is already running`, ExitCode.USAGE);
  held.stopRequested.addEventListener("abort", onSignal, { once: true });
  let forwards: ActiveForward[] = [];
  const live = o.live ?? isTerminal("stderr");
  const block = live ? new LiveBlock(err) : undefined;
  const meter = new RateMeter();
  const startedAt = new Date().toISOString();
  const record = (): ForwardRecord => {
    const now = Date.now();
    const ports = portSnapshots(
      forwards.map((f) => ({ address: f.address, local: f.local, remote: f.remote, pod: f.pod, ...fig(f) })),
      meter,
      now,
    );
    return {
      id,
      pid: Deno.pid,
      detached: !!o.daemon,
      target: describeForwardTarget(target),
      namespace: target.kind === "select" ? (target.flags.namespace ?? kube.namespace) : target.namespace,
      context: kube.contextName,
      pod: forwards[0]?.pod ?? "",
      startedAt,
      updatedAt: new Date(now).toISOString(),
      reconnects: forwards[0]?.reconnects ?? 0,
      ports,
      totals: totalsOf(ports),
      ...(o.daemon ? { log: logPath(id) } : {}),
    };
  };
  let writing = Promise.resolve();
  let lastWritten = "";
  const save = (r: ForwardRecord) => {
    const key = JSON.stringify({
      ...r,
      updatedAt: "",
      ports: r.ports.map((p) => ({ ...p, rateIn: 0, rateOut: 0 })),
    });
    const rates = r.ports.some((p) => p.rateIn || p.rateOut);
    if (key === lastWritten && !rates) return writing; // nothing new: no disk write
    lastWritten = key;
    writing = writing.then(async () => {
      await writeRecord(r).catch((e) =>
        err.write(`warning: cannot write the port-forward state: ${e.message}\n`)
      );
      if (o.statsJson) {
        await atomicWrite(o.statsJson, JSON.stringify(r, null, 2) + "\n").catch((e) =>
          err.write(`warning: cannot write ${o.statsJson}: ${e.message}\n`)
        );
      }
    });
    return writing;
  };
  // 4 times a second: the live lines, and the state file (`port-forward list`) when a figure changed,
  // so both are current within a second of the traffic
  const ticker = setInterval(() => {
    if (!forwards.length) return;
    const r = record();
    block?.update(r.ports.map(formatPortLine));
    save(r);
  }, 250);
  try {
    const started = await startPortForward(kube, target, specs, {
      signal: ac.signal,
      resolved,
      address: o.address,
      reconnect: o.reconnect ?? reconnectsByDefault(target),
      moved: o.moved,
      onEvent: (e) => {
        if (e.startsWith("lost connection")) return; // ends the command below, as its error
        if (!verbose && (e.startsWith("Handling connection") || e.startsWith("Closed connection"))) return;
        const line = o.daemon ? `${new Date().toISOString()} ${e}` : e;
        if (block) block.print(line);
        else err.write(line + "\n");
      },
      onLost: (e) => stop.resolve(e),
    });
    forwards = started.forwards;
    if (ac.signal.aborted) return 0;
    const r = record();
    await save(r);
    onReady(r);
    block?.update(r.ports.map(formatPortLine));
    const reason = await stop.promise;
    ac.abort();
    await Promise.all(forwards.map((f) => f.close()));
    if (reason) throw reason;
    return 0;
  } finally {
    clearInterval(ticker);
    block?.done();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    if (o.daemon) Deno.removeSignalListener("SIGHUP", onHup);
    if (forwards.length) {
      const final = record();
      if (o.statsJson) await atomicWrite(o.statsJson, JSON.stringify(final, null, 2) + "\n").catch(() => {});
      const per = final.ports.length > 1
        ? " (" + forwards.map((f) => `${f.local}: ${formatStats(f.stats())}`).join("; ") + ")"
        : "";
      err.write(`port-forward: ${formatStats(totalStats(forwards))}${per}\n`);
    }
    await writing;
    await removeRecord(id);
    held.release();
  }
}

function fig(f: ActiveForward) {
  const s = f.stats();
  return {
    connections: s.connections,
    active: s.active ?? 0,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    errors: s.errors ?? 0,
  };
}

/**
 * `--detach`: start this command again as a background process in its own session, wait until it listens
 * (or fails: its error is ours), print the id and the Forwarding lines, and leave it running.
 */
async function detach(
  kube: Pick<Kube, "childFlags">,
  o: PortForwardCliOptions,
  out: Sink,
  err: Sink,
): Promise<number> {
  if (o.pick) {
    throw usageError(
      "--pick needs a terminal; a background port-forward has none",
      "use --first or narrow the target",
    );
  }
  const { selfCommand } = await import("../base/proc/proc.ts");
  const id = newForwardId();
  // `--daemon ID` goes before a `--`: after it, it would be read as ports (`port-forward … --detach -- :8080`)
  const given = o.argv ?? [];
  const dd = given.indexOf("--");
  const before = (dd < 0 ? given : given.slice(0, dd)).filter((a) => a !== "--detach");
  const argv = [...before, "--daemon", id, ...(dd < 0 ? [] : given.slice(dd))];
  // the same cluster even if the kubeconfig's current context changes later (none when --server made it)
  const child = kube.childFlags();
  const ctx = child.indexOf("--context");
  if (ctx >= 0 && !argv.some((a) => a === "--context" || a.startsWith("--context="))) {
    argv.unshift("--context", child[ctx + 1]);
  }
  const self = selfCommand();
  // a credential given as a flag must not show in the background process's arguments (/proc/PID/cmdline)
  const { args: clean, secrets } = splitSecretArgs(argv);
  const proc = new Deno.Command(self[0], {
    args: [...self.slice(1), ...clean],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    detached: true,
    env: secrets.length ? { [SECRET_ARGS_ENV]: JSON.stringify(secrets) } : {},
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let msg: { ready?: ForwardRecord; error?: string; code?: number; hint?: string } | undefined;
  try {
    while (!msg) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        try {
          msg = JSON.parse(buf.slice(0, nl));
        } catch {
          buf = buf.slice(nl + 1);
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (!msg?.ready) {
    const status = await proc.status;
    await removeRecord(id, { log: !!msg?.error }); // the error is ours now; without one, the log tells
    if (msg?.error) throw new KodamaError(msg.error, msg.code ?? ExitCode.FAILED, msg.hint);
    throw new KodamaError(
      `the background port-forward exited (code ${status.code}) before it listened`,
      ExitCode.FAILED,
      `see ${logPath(id)}`,
    );
  }
  proc.unref();
  const r = msg.ready;
  out.write(`${r.id}\n`);
  for (const p of r.ports) {
    for (const a of p.addresses) {
      out.write(forwardingLine({ address: a, local: p.local, pod: p.pod, remote: p.remote }) + "\n");
    }
  }
  err.write(
    `port-forward ${r.id} runs in the background (pid ${r.pid}); \`kodama port-forward list\` shows it, ` +
      `\`kodama port-forward stop ${r.id}\` ends it\n`,
  );
  return 0;
}

/** Flags whose values are credentials (kubectl's --token, --password). */
const SECRET_FLAGS = ["--token", "--password"];

/** Where a detached forward finds its credential flags (its environment, readable by its user only). */
export const SECRET_ARGS_ENV = "KODAMA_DETACHED_ARGS";

/** Take credential flags (`--token X`, `--token=X`) out of a command line. */
export function splitSecretArgs(argv: string[]): { args: string[]; secrets: string[] } {
  const args: string[] = [];
  const secrets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (SECRET_FLAGS.includes(a) && i + 1 < argv.length) secrets.push(a, argv[++i]);
    else if (SECRET_FLAGS.some((f) => a.startsWith(`${f}=`))) secrets.push(a);
    else args.push(a);
  }
  return { args, secrets };
}

/**
 * The credential flags a detached forward's parent put in SECRET_ARGS_ENV: a JSON array of strings that
 * holds credential flags only (what splitSecretArgs took out). Anything else is refused (exit 2): a stray
 * variable must not add operands or flags to a command line.
 */
export function detachedSecretArgs(raw: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  const ok = Array.isArray(v) && v.every((a) => typeof a === "string") &&
    splitSecretArgs(v as string[]).args.length === 0;
  if (!ok) {
    throw usageError(
      `${SECRET_ARGS_ENV} is not what a background port-forward is started with (a JSON list of ${
        SECRET_FLAGS.join("/")
      } flags)`,
      `unset ${SECRET_ARGS_ENV}; kodama sets it only for the port-forwards it starts with --detach`,
    );
  }
  return v as string[];
}

/** `port-forward list`: the running forwards of this machine, as a table or JSON. */
export async function portForwardListCommand(format: string, out: Sink = stdoutSink): Promise<number> {
  const records = await readRecords();
  if (format === "json") {
    const now = Date.now();
    const items = records.map((r) => ({
      ...r,
      uptimeSeconds: Math.round((now - Date.parse(r.startedAt)) / 1000),
    }));
    out.write(JSON.stringify(items, null, 2) + "\n");
    return 0;
  }
  if (!records.length) {
    stderrSink.write("no port-forwards running\n");
    return 0;
  }
  const now = Date.now();
  out.write(renderTable(LIST_HEADERS, records.map((r) => listRow(r, now))));
  return 0;
}

/** `port-forward stop ID…|--all`: SIGTERM each (it ends quietly), wait for it to go, then its files. */
export async function portForwardStopCommand(
  ids: string[],
  all: boolean,
  out: Sink = stdoutSink,
): Promise<number> {
  if (!all && !ids.length) {
    throw usageError("name the port-forwards to stop, or --all", "see `kodama port-forward list`");
  }
  if (all && ids.length) throw usageError("give IDs or --all, not both");
  const records = await readRecords();
  const chosen: ForwardRecord[] = [];
  for (const id of ids) {
    const hits = records.filter((r) => r.id === id || r.id.startsWith(id));
    const exact = hits.find((r) => r.id === id);
    if (!hits.length) {
      throw new KodamaError(
        `no port-forward ${id} is running`,
        ExitCode.NOT_FOUND,
        "see `kodama port-forward list`",
      );
    }
    if (!exact && hits.length > 1) {
      throw usageError(`${id} matches several port-forwards: ${hits.map((h) => h.id).join(", ")}`);
    }
    chosen.push(exact ?? hits[0]);
  }
  for (const r of all ? records : chosen) {
    // the forward closes its listeners and removes its record; SIGKILL after 5 s. Only the process
    // holding the forward's lock is signalled, never a pid the record names (it may be reused)
    await stopHolder(forwardsDir(), r.id, { graceMs: 5000 });
    await removeRecord(r.id, { log: true });
    out.write(`stopped ${r.id} (${r.target} ${r.ports.map((p) => `:${p.local}`).join(" ")})\n`);
  }
  return 0;
}
