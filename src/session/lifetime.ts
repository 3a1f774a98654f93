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
 *  - a process started through exec (attach, exec, sync's transfers, an agent run): a process of this
 *    pod — its environment carries KODAMA_POD_UID, which the kubelet gives every exec — that is not the
 *    watchdog's own (those carry KODAMA_IDLE_IGNORE=1, set on the main process) nor marked
 *    `kodama-idle-ignore` on its command line (sync's long-lived watcher, which only looks);
 *  - a write under the workspace (`find -newer` a stamp two looks old: busybox compares whole seconds).
 * A TCP connection into the pod ends at a process in the pod (a dev server, a port-forward's target),
 * which is such a process: it counts through it.
 */
import { formatDuration, parseDuration } from "../base/duration.ts";
import { usageError } from "../errors.ts";

/** The shortest idle stop: a watchdog looking more often than every few seconds would cost more than it saves. */
export const MIN_IDLE_STOP_S = 10;
/** Where the watchdog leaves its reason: the container's termination message (`get` shows it). */
export const TERMINATION_LOG = "/tmp/kodama-termination-log";
/** The termination message of an idle stop starts with this. */
export const IDLE_MESSAGE = "kodama: idle";
/** A process whose command line holds this is not activity (sync's watcher). */
export const IDLE_IGNORE_MARK = "kodama-idle-ignore";

/** `--idle-stop` / defaults.idleStop -> seconds (undefined: never). 0 turns it off; less than 10s is refused. */
export function resolveIdleStop(value: string | number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === "number" ? value * 1000 : parseDuration(value, what);
  if (ms === 0) return undefined;
  if (ms < MIN_IDLE_STOP_S * 1000) {
    throw usageError(
      `invalid ${what} "${value}": at least ${MIN_IDLE_STOP_S}s (0 turns idle stop off)`,
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
      throw usageError(`invalid ${what} "${value}": not a time`, "e.g. 8h, 2d, or 2026-12-01T18:00:00Z");
    }
    if (at <= now.getTime()) {
      throw usageError(
        `invalid ${what} "${value}": that time has passed`,
        "give a duration (8h, 2d) or a future time",
      );
    }
  } else {
    const ms = typeof value === "number" ? value * 1000 : parseDuration(value, what);
    if (ms <= 0) throw usageError(`invalid ${what} "${value}": must be longer than 0`, "e.g. --ttl 8h");
    at = now.getTime() + ms;
  }
  return new Date(Math.ceil(at / 1000) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

/** How often the watchdog looks: a tenth of the idle time, between 2 s and 60 s. */
export function idleTick(idleS: number): number {
  return Math.max(2, Math.min(60, Math.floor(idleS / 10)));
}

/**
 * The watchdog, as lines of the main process's script. That process was exec'd with KODAMA_IDLE_IGNORE=1
 * in its environment, so it and everything it runs are known as its own. It reads KODAMA_POD_UID and
 * KODAMA_WORKSPACE.
 */
export function watchdogLines(idleS: number): string[] {
  const tick = idleTick(idleS);
  const reason = `${IDLE_MESSAGE} for ${
    formatDuration(idleS * 1000)
  } (no process started through exec, no write under the workspace)`;
  return [
    `# idle stop after ${idleS}s without activity`,
    // no "$$" anywhere: Kubernetes turns "$$" in a command into "$"
    `idle=${idleS}; tick=${tick}; st=/tmp/kodama-idle`,
    `touch "$st.0" "$st.1" 2>/dev/null`,
    `busy() {`,
    // a process of this pod that is neither this script's nor marked as only looking (no grep -F: busybox's
    // stops at the first NUL of an environ file; GNU grep lists binary files that match all the same)
    `  for f in $(grep -l "KODAMA_POD_UID=$KODAMA_POD_UID" /proc/[0-9]*/environ 2>/dev/null); do`,
    `    grep -q "KODAMA_IDLE_IGNORE=1" "$f" 2>/dev/null && continue`,
    `    grep -q "${IDLE_IGNORE_MARK}" "\${f%environ}cmdline" 2>/dev/null && continue`,
    // gone meanwhile (the listing's own grep is among the matches): not activity
    `    grep -q "KODAMA_POD_UID=$KODAMA_POD_UID" "$f" 2>/dev/null || continue`,
    `    return 0`,
    `  done`,
    // a write under the workspace since two looks ago
    `  w=$(find "$KODAMA_WORKSPACE" -newer "$st.0" 2>/dev/null | head -n 1)`,
    `  mv -f "$st.1" "$st.0" 2>/dev/null; touch "$st.1" 2>/dev/null`,
    `  [ -n "$w" ]`,
    `}`,
    `last=$(date +%s)`,
    `while :; do`,
    `  if command -v sleep >/dev/null 2>&1; then sleep "$tick" & wait $!; else read -t "$tick" _ 2>/dev/null || :; fi`,
    `  busy && last=$(date +%s)`,
    `  if [ $(( $(date +%s) - last )) -ge "$idle" ]; then`,
    `    echo "${reason}" > ${TERMINATION_LOG} 2>/dev/null`,
    `    echo "${reason}: stopping" >&2`,
    `    exit 0`,
    `  fi`,
    `done`,
  ];
}
