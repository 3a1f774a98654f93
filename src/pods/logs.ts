/**
 * Multi-pod logs in stern's shape: a set of targets keyed `ns/pod/container`, one stream per
 * target, whole prefixed lines in a stable colour per pod. With `follow`:
 *  - pods that appear later (watch) get streams as soon as their container runs;
 *  - a stream that ends (EOF, a dropped connection, an API-server outage) is re-opened with backoff
 *    while its container runs, resuming where it left off (`sinceTime`, see ResumePoint): no line is
 *    lost or shown twice, also across a container restart;
 *  - while the API server cannot be reached every stream keeps retrying (the command says so once on
 *    stderr, and again when it is back); after `kube.reach.giveUpMs` the whole command fails (exit 1).
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeReachEvents, KubeStreams, KubeTargets } from "../kube/seam.ts";
import { isUnreachable } from "../kube/errors.ts";
import { ResumePoint } from "./resume.ts";
import { ExitCode, isRefusal, KodamaError } from "../base/errors.ts";
import type { Sink } from "../base/sink.ts";
import { formatPrefix, LineBuffer, prefixShape, type PrefixTarget } from "./lines.ts";
import {
  cutLineEnding,
  keepLine,
  type LineFilter,
  type LogOutput,
  renderLine,
  type RenderOptions,
} from "./log_filter.ts";
import { chooseContainer, filterPods, type TargetFlags, targetNamespace } from "./target.ts";

export interface LogsOptions {
  container?: string;
  allContainers?: boolean;
  follow?: boolean;
  sinceSeconds?: number;
  tail?: number;
  timestamps?: boolean;
  previous?: boolean;
  /** most streams open at once (default 50) */
  maxStreams?: number;
  out: Sink;
  /** warnings (a stream that failed, a pod skipped) */
  err?: Sink;
  /** colour: per-pod prefixes and the highlight of include matches (never in json output) */
  color?: boolean;
  /** `prefix: false` is `output: "raw"` (kept for callers that predate `output`) */
  prefix?: boolean;
  /** default: prefixed lines; raw: just the message; json: one object per line */
  output?: LogOutput;
  /** show only lines matching an include pattern and no exclude pattern (see log_filter.ts) */
  filter?: LineFilter;
  signal?: AbortSignal;
  /** follow pods that appear later, matched by these flags */
  watch?: TargetFlags;
  allNamespaces?: boolean;
  /** the kubeconfig context, shown in prefixes when logs come from several clusters */
  context?: string;
  /** re-open backoff (ms): first delay and cap */
  backoff?: { initial: number; max: number };
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const TS_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;

/** Split a log line into its RFC3339 timestamp and the rest (pure, unit-tested). */
export function splitTimestamp(line: string): { ts?: string; rest: string } {
  const m = TS_RE.exec(line);
  return m ? { ts: m[1], rest: line.slice(m[0].length) } : { rest: line };
}

function containersOf(pod: V1Pod, o: LogsOptions): string[] {
  if (o.allContainers) return pod.spec?.containers?.map((c) => c.name) ?? [];
  return [chooseContainer(pod, o.container)];
}

function containerRunning(pod: V1Pod | undefined, container: string): boolean {
  if (!pod || pod.metadata?.deletionTimestamp) return false;
  const st = pod.status?.containerStatuses?.find((c) => c.name === container);
  return !!st?.state?.running;
}

function containerStarted(pod: V1Pod, container: string): boolean {
  const st = pod.status?.containerStatuses?.find((c) => c.name === container);
  return !!(st?.state?.running || st?.state?.terminated);
}

interface Target extends PrefixTarget {
  key: string;
}

/**
 * What multi-pod logs need of the cluster: pods (the watch for new ones, a pod's state after EOF), each
 * container's log stream, and the server's reachability with its events. `Kube` is one; so is the in-memory
 * cluster of the tests.
 */
export type LogsCluster = KubeTargets & KubeStreams & KubeReachEvents;

export async function streamLogs(kube: LogsCluster, pods: V1Pod[], o: LogsOptions): Promise<void> {
  const maxStreams = o.maxStreams ?? 50;
  const stop = new AbortController();
  const onOuter = () => stop.abort();
  if (o.signal?.aborted) return;
  o.signal?.addEventListener("abort", onOuter, { once: true });
  const warn = (m: string) => o.err?.write(`warning: ${o.context ? `context ${o.context}: ` : ""}${m}\n`);
  // several clusters: the context leads every prefix (and is a field of -o json)
  const ctx = o.context !== undefined ? { context: o.context } : {};
  const initial: Target[] = [];
  for (const p of pods) {
    for (const c of containersOf(p, o)) {
      const ns = p.metadata?.namespace ?? kube.namespace;
      const name = p.metadata?.name ?? "?";
      initial.push({ ...ctx, namespace: ns, pod: name, container: c, key: `${ns}/${name}/${c}` });
    }
  }
  if (initial.length > maxStreams) {
    o.signal?.removeEventListener("abort", onOuter);
    throw new KodamaError(
      `${initial.length} log streams needed, more than --max-streams ${maxStreams}`,
      ExitCode.USAGE,
      "narrow the pods (-m, -l) or raise --max-streams",
    );
  }
  const anyMulti = pods.some((p) => (p.spec?.containers?.length ?? 0) > 1);
  const shape = prefixShape(initial, {
    allNamespaces: o.allNamespaces,
    containerGiven: !!o.allContainers || !!o.container || anyMulti,
  });
  const output: LogOutput = o.output ?? (o.prefix === false ? "raw" : "default");
  const color = !!o.color && output !== "json";
  const active = new Map<string, Promise<void>>();
  const errors: KodamaError[] = [];
  let succeeded = 0;
  const backoff = o.backoff ?? { initial: 500, max: 10_000 };
  /** where each target's stream resumes; kept when a target ends, for its container's restart */
  const resumes = new Map<string, ResumePoint>();
  /** an error that ends the whole command (the API server unreachable for too long) */
  let fatal: KodamaError | undefined;
  const fail = (e: KodamaError) => {
    fatal ??= e;
    stop.abort();
  };
  // when the server is back, every stream waiting out its backoff retries at once
  let back = Promise.withResolvers<void>();
  const offReach = kube.reach.subscribe((e) => {
    if (e.type !== "back") return;
    back.resolve();
    back = Promise.withResolvers<void>();
  });

  const runTarget = async (t: Target) => {
    const render: RenderOptions = {
      output,
      timestamps: !!o.timestamps,
      prefix: output === "default" ? formatPrefix(t, { ...shape, color }) : "",
      highlight: color ? o.filter?.include : undefined,
    };
    let resume = resumes.get(t.key);
    if (!resume) resumes.set(t.key, resume = new ResumePoint());
    let delay = backoff.initial;
    // a target seen before (its container restarted) resumes where it was, not with --since/--tail
    let first = !resume.started;
    let counted = false;
    while (!stop.signal.aborted) {
      const buf = new LineBuffer();
      const started = Date.now();
      const rp = resume;
      const emit = (block: Uint8Array) => {
        // one write per block of whole lines; drop lines already shown before a re-open
        const text = dec.decode(block);
        let out = "";
        let start = 0;
        while (start < text.length) {
          let nl = text.indexOf("\n", start);
          if (nl < 0) nl = text.length - 1;
          const line = text.slice(start, nl + 1);
          start = nl + 1;
          const { ts, rest } = splitTimestamp(line);
          if (!rp.accept(ts, rest)) continue;
          const { message, eol } = cutLineEnding(rest);
          if (!keepLine(message, o.filter)) continue;
          out += renderLine(t, { ts, message, eol }, render);
        }
        if (out) o.out.write(enc.encode(out));
      };
      let unreachable = false;
      try {
        const sinceTime = first ? undefined : rp.resume();
        await kube.logOf(t.namespace, t.pod, t.container, {
          follow: o.follow,
          timestamps: true,
          previous: o.previous,
          sinceSeconds: first ? o.sinceSeconds : undefined,
          sinceTime,
          // nothing shown yet after an outage: the user's --tail still applies
          tailLines: first || !sinceTime ? o.tail : undefined,
        }, (chunk) => {
          const block = buf.push(chunk);
          if (block) emit(block);
        }, stop.signal);
        const rest = buf.end();
        if (rest) emit(rest);
        if (!counted) {
          counted = true;
          succeeded++;
        }
        first = false;
      } catch (e) {
        const ke = e instanceof KodamaError ? e : new KodamaError(String((e as Error)?.message ?? e));
        unreachable = isUnreachable(ke);
        // refused (bad request, forbidden, no such container): that is this target's answer; unreachable or
        // dropped mid-stream (a reset connection, a proxy timing out): retry below while following
        const refused = isRefusal(ke);
        if (refused || !o.follow) {
          if (!counted) {
            errors.push(ke);
            if (initial.length > 1) warn(`${t.pod}/${t.container}: ${ke.message}`);
          }
          return;
        }
      }
      if (!o.follow || o.previous || stop.signal.aborted) return;
      if (unreachable) {
        const gaveUp = kube.reach.gaveUp();
        if (gaveUp) return fail(gaveUp);
      } else {
        // EOF while following: re-open only if the container still runs (the watch brings it back when
        // it restarts); an outage while asking means: try the stream again
        let pod: V1Pod | undefined;
        try {
          pod = await kube.getObject<V1Pod>("pods", t.namespace, t.pod);
        } catch (e) {
          if (!isUnreachable(e)) return; // gone (404) or refused
          const gaveUp = kube.reach.gaveUp();
          if (gaveUp) return fail(gaveUp);
          pod = undefined;
        }
        if (pod && !containerRunning(pod, t.container)) return;
      }
      if (Date.now() - started > 30_000) delay = backoff.initial;
      await sleep(delay, stop.signal, back.promise);
      delay = Math.min(delay * 2, backoff.max);
    }
  };

  const start = (t: Target) => {
    if (active.has(t.key) || stop.signal.aborted) return;
    if (active.size >= maxStreams) {
      warn(`not following ${t.pod}/${t.container}: --max-streams ${maxStreams} reached`);
      return;
    }
    const p = runTarget(t).finally(() => active.delete(t.key));
    active.set(t.key, p);
  };

  for (const t of initial) start(t);

  let watchDone: Promise<void> | undefined;
  if (o.follow && o.watch) {
    const w = o.watch;
    watchDone = kube.watchPods(targetNamespace(kube, w), {
      labelSelector: w.selector,
      fieldSelector: w.fieldSelector,
    }, (type, pod) => {
      if (type === "DELETED") return;
      if (filterPods([pod], { ...w, includeNotReady: true }).length === 0) return;
      let cs: string[];
      try {
        cs = containersOf(pod, o);
      } catch {
        return; // -c names a container this pod lacks
      }
      for (const c of cs) {
        if (!containerStarted(pod, c)) continue;
        const ns = pod.metadata?.namespace ?? kube.namespace;
        const name = pod.metadata?.name ?? "?";
        start({ ...ctx, namespace: ns, pod: name, container: c, key: `${ns}/${name}/${c}` });
      }
    }, stop.signal).catch((e) => {
      if (e instanceof KodamaError && kube.reach.gaveUp()) fail(e);
      else warn(`watching for new pods stopped: ${(e as Error).message}`);
    });
  }

  try {
    if (watchDone) {
      // following with a watch: run until interrupted
      await new Promise<void>((r) => {
        if (stop.signal.aborted) r();
        stop.signal.addEventListener("abort", () => r(), { once: true });
      });
    }
    while (active.size) await Promise.all([...active.values()]);
  } finally {
    stop.abort();
    offReach();
    o.signal?.removeEventListener("abort", onOuter);
    // don't let a watch that ignores its abort keep us here
    await Promise.race([watchDone, new Promise((r) => setTimeout(r, 300))]);
  }
  if (fatal) throw fatal;
  // every stream refused (forbidden, not found, …): that is the command's error
  if (errors.length > 0 && succeeded === 0 && !o.signal?.aborted) throw errors[0];
}

/** Wait `ms`, or less when `signal` aborts or `wake` resolves. */
function sleep(ms: number, signal: AbortSignal, wake?: Promise<void>): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      r();
    }
    signal.addEventListener("abort", done, { once: true });
    wake?.then(done);
  });
}
