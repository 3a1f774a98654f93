/**
 * Following a run's log (`agent logs -f`, the web UI's log pane, the server's watch on a run's end) so that a
 * cut stream does not end it: a loaded cluster, an API server restart or a network blip ends an exec without
 * the command's end. The follow is taken up again where it was (pod/logs.sh's FROM: the bytes already
 * shown), on the run it started on (`latest` is resolved by the first read), after 1 s and then twice as long
 * each time up to 10 s, for two minutes of failures in a row at most, as `stern` goes on where `kubectl logs -f`
 * ends. The read of the run's outcome after it is tried again the same way.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeReachEvents, KubeSessions } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import { ExitCode, isRefusal, KodamaError } from "../../base/errors.ts";
import { type Clock, doubling, realClock } from "../../base/clock.ts";
import { execCapture } from "../../session/access/podexec.ts";
import { notAttachable } from "../../session/access/attach.ts";
import { lookAgain, podGoing, PodTracker } from "../../session/state/replaced.ts";
import { LOGS_SCRIPT } from "./agent.ts";

/** How long failures in a row are tried again before the last one is the caller's. */
export const FOLLOW_GIVE_UP_MS = 120_000;

/** The line pod/logs.sh says first on stderr when it follows: the run it follows. */
const RUN_LINE = /^kodama-logs: run (\d+)$/m;

/** Errors that end a follow at once whatever their code: the session is no longer Running. */
const FINAL = new WeakSet<object>();
/** Cuts not told (the session's pod is being replaced: the follow says its one line when it is back). */
const QUIET = new WeakSet<object>();

/** A failure that is the stream's, not the run's or the user's: worth trying again after. */
export function isCut(e: unknown): boolean {
  if (e && typeof e === "object" && FINAL.has(e)) return false;
  return !isRefusal(e) && !(e instanceof KodamaError && e.code === ExitCode.INTERRUPTED);
}

export interface AgainOptions {
  /** told each cut, in one line */
  err: Sink;
  signal: AbortSignal;
  clock?: Clock;
  /** a count that grows while things arrive: a failure after progress starts the two minutes again */
  progress?: () => number;
  /** the API server's reachability: a wait ends as soon as the server answers again (waitOrBack) */
  reach?: KubeReachEvents["reach"];
}

/**
 * Sleep `ms` on `clock`, or until `signal` aborts, or until `reach` says the API server is back: after an
 * outage, whatever else reached it first (the UI server's session watch) ends every retry's wait at once.
 */
export async function waitOrBack(
  clock: Clock,
  ms: number,
  signal: AbortSignal,
  reach?: KubeReachEvents["reach"],
): Promise<void> {
  const back = new AbortController();
  const off = reach?.subscribe((e) => e.type === "back" && back.abort());
  try {
    await clock.sleep(ms, reach ? AbortSignal.any([signal, back.signal]) : signal);
  } finally {
    off?.();
  }
}

/**
 * `fn` until it ends without a cut (isCut), waiting 1 s, then twice as long each time up to 10 s, between
 * tries; the last cut is thrown after two minutes of them in a row, anything else at once. Each cause is
 * told once.
 */
export async function againOnCut<T>(what: string, fn: () => Promise<T>, o: AgainOptions): Promise<T> {
  const clock = o.clock ?? realClock;
  let misses = 0, since = 0, seen = o.progress?.() ?? 0, said = "";
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (o.signal.aborted || !isCut(e)) throw e;
      const now = o.progress?.() ?? 0;
      if (now !== seen) [misses, seen] = [0, now];
      if (misses === 0) since = clock.now();
      if (clock.now() - since >= FOLLOW_GIVE_UP_MS) throw e;
      const wait = doubling(misses++, 1000, 10_000);
      const why = ((e as Error).message ?? String(e)).split("\n")[0];
      // once per cause: an outage of a minute is one line, not one per try
      if (why !== said && !QUIET.has(e as object)) {
        o.err.write(`kodama: ${what} was cut (${why}); trying again for up to 2 minutes\n`);
      }
      said = why;
      await waitOrBack(clock, wait, o.signal, o.reach);
      if (o.signal.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
    }
  }
}

/**
 * Follow run `id` (`latest` or a number) of session `name` from its pod into `out` until the run has ended;
 * the last read's exit code and stderr (without pod/logs.sh's run line), the pod it was read from and the
 * run it followed (`latest` as the first read named it).
 */
export async function followRunLog(
  kube: KubeSessions & KubeReachEvents,
  namespace: string,
  name: string,
  first: V1Pod,
  id: string,
  o: AgainOptions & { out: Sink },
): Promise<{ code: number; stderr: string; pod: V1Pod; run: string }> {
  let pod = first, run = id, shown = 0, tries = 0;
  const out: Sink = {
    write(c) {
      shown += typeof c === "string" ? new TextEncoder().encode(c).length : c.length;
      o.out.write(c);
    },
  };
  // the pod followed; a replacement (the cluster took it away, its Job made another) is followed and told once
  const tracker = new PodTracker(name, first);
  const replaced = async () => {
    tracker.noticed();
    const step = await lookAgain(kube, namespace, tracker).catch((e) =>
      isCut(e) ? undefined : Promise.reject(e)
    );
    if (!step) return; // the API server is still away: the last pod
    if (step.kind === "waiting") throw quiet(step.why);
    if (step.kind === "moved") o.err.write(`kodama: ${step.line}\n`);
    // not Running any more (stopped, failed): the follow ends at once
    const why = step.kind !== "moved" ? notAttachable(step.view) : undefined;
    if (why) {
      FINAL.add(why);
      throw why;
    }
    if (step.view.pod) pod = step.view.pod;
  };
  return await againOnCut("the log stream", async () => {
    // after a cut: the session's pod again (a new one when the cluster replaced it)
    if (tries++) await replaced();
    let said = "";
    const err: Sink = {
      write(c) {
        said += typeof c === "string" ? c : new TextDecoder().decode(c);
        const m = RUN_LINE.exec(said);
        if (m) run = m[1];
      },
    };
    const argv = ["sh", "-c", LOGS_SCRIPT, "kodama-logs", run, "1", String(shown)];
    const r = await execCapture(kube, pod, argv, { out, err, signal: o.signal });
    // the pod's end ends its processes (the run's and this read's): a pod going away is a cut, not the end
    if (await podGoing(kube, namespace, name, pod)) throw quiet(`the pod of session ${name} went away`);
    return { code: r.code, stderr: r.stderr.replace(RUN_LINE, "").trim(), pod, run };
  }, { ...o, progress: () => shown, reach: kube.reach });
}

function quiet(why: string): KodamaError {
  const e = new KodamaError(why);
  QUIET.add(e);
  return e;
}
