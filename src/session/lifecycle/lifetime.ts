/**
 * A session's lifetime settings, and the idle watchdog that runs in its pod. Pure.
 *
 *   idle stop  `start --idle-stop 30m` (defaults.idleStop): the pod's own main process watches for
 *              activity and, after that long without any, ends the pod cleanly (exit 0, restartPolicy
 *              Never: phase Succeeded). Volumes, Secret and settings stay; `resume`/`attach` bring it back.
 *   expiry     `start --ttl 8h` (defaults.ttl): an expiry time recorded in the settings; `list` shows and
 *              warns, `kodama gc` deletes.
 *
 * No controller in the cluster: the watchdog is POSIX sh (busybox and Debian), reading /proc. Activity is
 *  - a process started through exec (attach, exec, what sync sends in, an agent run): a process of this
 *    pod — its environment carries KODAMA_POD_UID, which the kubelet gives every exec — that is not the
 *    watchdog's own (those carry KODAMA_IDLE_IGNORE=1, set on the main process) nor marked
 *    `kodama-idle-ignore` on its command line (sync's watcher, fetches and hashes, which only look);
 *  - a write under the workspace (`find -newer` a stamp two looks old: busybox compares whole seconds).
 * A TCP connection into the pod ends at a process in the pod (a dev server, a port-forward's target),
 * which is such a process: it counts through it.
 *
 * The background sync flushes first. When a sync watcher is connected (a process of this pod whose command
 * line carries SYNC_WATCHER_MARK: the two-way sync's pod watcher, src/session/sync/podside.ts), the watchdog
 * does not stop at once: it writes a deadline to `/tmp/kodama-idle.stopping` and waits up to idleGrace
 * seconds. Each watcher reports the announcement in its next round (`@stopping DEADLINE`); its daemon runs
 * one last cycle both ways (the pod's changes come down, local ones go up) and appends the deadline to
 * `/tmp/kodama-idle.ack` through a process marked `kodama-idle-ignore`. The pod stops once there are as many
 * acks as watchers, or when the grace runs out (a sync that does not answer: its laptop asleep). Any
 * activity meanwhile (a local edit the flush pushed counts too) cancels the stop and restarts the clock.
 * With no watcher connected, it stops without waiting.
 */
import { formatDuration, parseDuration } from "../../base/duration.ts";
import { usageError } from "../../base/errors.ts";
import WATCHDOG_SH from "../pod/watchdog.sh" with { type: "text" };
import { quote } from "../../base/text/escape.ts";

/** The shortest idle stop: a watchdog looking more often than every few seconds would cost more than it saves. */
export const MIN_IDLE_STOP_S = 10;
/** Where the watchdog leaves its reason: the container's termination message (`get` shows it). */
export const TERMINATION_LOG = "/tmp/kodama-termination-log";
/** The termination message of an idle stop starts with this. */
export const IDLE_MESSAGE = "kodama: idle";
/** A process whose command line holds this is not activity (sync's watcher). */
export const IDLE_IGNORE_MARK = "kodama-idle-ignore";
/** The command line of a background sync's pod watcher holds this: the watchdog waits for its flush. */
export const SYNC_WATCHER_MARK = "kodama-sync-watcher";
/**
 * The watchdog's files in the pod: `.0`/`.1` its stamps, `.stopping` the announced deadline, `.ack` the
 * syncs' acknowledgements (one line each). KODAMA_IDLE_STATE (never set in a pod) moves them for a test,
 * as KODAMA_TERMINATION_LOG does the termination message.
 */
export const IDLE_STATE = "/tmp/kodama-idle";
/** POSIX sh for the path of a watchdog file in the pod (`stopping`, `ack`). */
export const idleFile = (ext: "stopping" | "ack") => `\${KODAMA_IDLE_STATE:-${IDLE_STATE}}.${ext}`;

/** `--idle-stop` / defaults.idleStop -> seconds (undefined: never). 0 turns it off; less than 10s is refused. */
export function resolveIdleStop(value: string | number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === "number" ? value * 1000 : parseDuration(value, what);
  if (ms === 0) return undefined;
  if (ms < MIN_IDLE_STOP_S * 1000) {
    throw usageError(
      `invalid ${what} ${quote(value)}: at least ${MIN_IDLE_STOP_S}s (0 turns idle stop off)`,
      "e.g. --idle-stop 30m",
    );
  }
  return Math.round(ms / 1000);
}

/**
 * `--ttl` / defaults.ttl -> the expiry (an RFC 3339 time, seconds). A duration from now (`8h`, `2d`), or a
 * time (`2026-12-01T18:00:00Z`); zero, or a time already past, is refused (exit 2).
 */
export function resolveTtl(value: string | number | undefined, what: string, now: Date): string | undefined {
  if (value === undefined) return undefined;
  let at: number;
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value.trim())) {
    at = Date.parse(value.trim());
    if (Number.isNaN(at)) {
      throw usageError(`invalid ${what} ${quote(value)}: not a time`, "e.g. 8h, 2d, or 2026-12-01T18:00:00Z");
    }
    if (at <= now.getTime()) {
      throw usageError(
        `invalid ${what} ${quote(value)}: that time has passed`,
        "give a duration (8h, 2d) or a future time",
      );
    }
  } else {
    const ms = typeof value === "number" ? value * 1000 : parseDuration(value, what);
    if (ms <= 0) throw usageError(`invalid ${what} ${quote(value)}: must be longer than 0`, "e.g. --ttl 8h");
    at = now.getTime() + ms;
  }
  return new Date(Math.ceil(at / 1000) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

/** How often the watchdog looks: a tenth of the idle time, between 2 s and 60 s. */
export function idleTick(idleS: number): number {
  return Math.max(2, Math.min(60, Math.floor(idleS / 10)));
}

/**
 * How long a connected background sync is given to flush before an idle stop: a quarter of the idle time,
 * between 15 s and 30 s. Only an upper bound: a sync that answers (within a second or two) ends the wait.
 */
export function idleGrace(idleS: number): number {
  return Math.max(15, Math.min(30, Math.floor(idleS / 4)));
}

/**
 * The watchdog (pod/watchdog.sh), `sh -c WATCHDOG kodama-idle IDLE TICK GRACE DURATION`: the main process
 * once keepalive.sh has set the home up. That process was exec'd with KODAMA_IDLE_IGNORE=1 in its
 * environment, so it and everything it runs are known as its own. It reads KODAMA_POD_UID and
 * KODAMA_WORKSPACE. Its marks, files and message are literals in the file (pinned by lifetime_test).
 */
export const WATCHDOG: string = WATCHDOG_SH;

/** The watchdog's arguments after its $0: idle seconds, tick, grace, the idle time in words. */
export function watchdogArgs(idleS: number, graceS = idleGrace(idleS)): string[] {
  return [String(idleS), String(idleTick(idleS)), String(graceS), formatDuration(idleS * 1000)];
}
