/**
 * Following a run's log (`agent logs -f`, the web UI's log pane, the server's watch on a run's end) so that a
 * cut stream does not end it: a loaded cluster, an API server restart or a network blip ends an exec without
 * the command's end. The follow is taken up again where it was (pod/logs.sh's FROM: the bytes already
 * shown), on the run it started on (`latest` is resolved by the first read), after 1 s and then twice as long
 * each time up to 10 s, for two minutes of failures in a row at most, as `stern` goes on where `kubectl logs -f`
 * ends.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeSessions } from "../kube/seam.ts";
import type { Sink } from "../base/sink.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { type Clock, realClock } from "../base/clock.ts";
import { execCapture, runningPod } from "../session/access/podexec.ts";
import { LOGS_SCRIPT } from "./agent.ts";

/** How long failures in a row are tried again before the last one is the follow's. */
export const FOLLOW_GIVE_UP_MS = 120_000;

/** The line pod/logs.sh says first on stderr when it follows: the run it follows. */
const RUN_LINE = /^kodama-logs: run (\d+)$/m;

/** A failure that is the stream's, not the run's or the user's: worth reading on after. */
export function isCut(e: unknown): boolean {
  if (!(e instanceof KodamaError)) return true;
  const final: number[] = [ExitCode.USAGE, ExitCode.NOT_FOUND, ExitCode.FORBIDDEN, ExitCode.INTERRUPTED];
  return !final.includes(e.code);
}

/**
 * Follow run `id` (`latest` or a number) of session `name` from its pod into `out` until the run has ended;
 * the last read's exit code and stderr (without pod/logs.sh's run line).
 */
export async function followRunLog(
  kube: KubeSessions,
  namespace: string,
  name: string,
  first: V1Pod,
  id: string,
  o: { out: Sink; err: Sink; signal: AbortSignal; clock?: Clock },
): Promise<{ code: number; stderr: string }> {
  const clock = o.clock ?? realClock;
  let pod = first, run = id, shown = 0, misses = 0, since = 0;
  const out: Sink = {
    write(c) {
      shown += typeof c === "string" ? new TextEncoder().encode(c).length : c.length;
      misses = 0;
      o.out.write(c);
    },
  };
  for (;;) {
    let said = "";
    const err: Sink = {
      write(c) {
        said += typeof c === "string" ? c : new TextDecoder().decode(c);
        const m = RUN_LINE.exec(said);
        if (m) run = m[1];
      },
    };
    try {
      const r = await execCapture(kube, pod, [
        "sh",
        "-c",
        LOGS_SCRIPT,
        "kodama-logs",
        run,
        "1",
        String(shown),
      ], {
        out,
        err,
        signal: o.signal,
      });
      return { code: r.code, stderr: r.stderr.replace(RUN_LINE, "").trim() };
    } catch (e) {
      if (o.signal.aborted || !isCut(e)) throw e;
      if (misses === 0) since = clock.now();
      if (clock.now() - since >= FOLLOW_GIVE_UP_MS) throw e;
      const wait = Math.min(10_000, 1000 * 2 ** misses++);
      const why = ((e as Error).message ?? String(e)).split("\n")[0];
      o.err.write(`kodama: the log stream was cut (${why}); following again in ${wait / 1000} s\n`);
      await clock.sleep(wait, o.signal);
      if (o.signal.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
      pod = await runningPod(kube, namespace, name).catch((e2) => {
        if (!isCut(e2)) throw e2;
        return pod; // not reached either: the next read says so
      });
    }
  }
}
