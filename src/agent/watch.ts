/**
 * The runner's watch over a run, as shell pieces of agent.ts's RUNNER_SCRIPT (run in the pod; `$run` is
 * the run's directory):
 *
 *   head-start   the commit the agent started from (`git rev-parse HEAD`), so the run's commits are counted
 *   git          `COMMITS FILES` when it has ended: commits made since head-start, files changed since it
 *                (committed or not, untracked included)
 *   ended-by     `stalled` or `unreachable` when kodama's watchdog ended it
 *
 * The watchdog (agent.stallTimeout, in KODAMA_STALL_SECONDS): a run whose log gains no line for that long
 * is ended as stalled; one whose log only gains the agent's own model-API retry lines for a minute (Codex
 * retries "waiting for network" forever; the Gemini CLI backs off for minutes) is ended as unreachable. It ends the agent with TERM, then KILL.
 */

/**
 * Lines that are an agent retrying its model API, not progress: Claude's api_retry, Codex's Reconnecting,
 * the Gemini CLI's `Attempt N failed. Retrying with backoff...` on stderr and the stack trace under it.
 */
export const RETRY_LINE_RE =
  `"subtype":"api_retry"|"message":"Reconnecting\\.\\.\\.|^Attempt [0-9]+ failed\\. Retrying with backoff|^ +at `;

/** How long a run may only retry its model API before it is ended as unreachable (seconds). */
export const UNREACHABLE_SECONDS = 60;

/** How often the watchdog looks (seconds). */
const POLL_SECONDS = 5;

/** Before the agent starts: the commit it starts from. */
export const GIT_START =
  `git rev-parse -q --verify HEAD > "$run/head-start" 2>/dev/null || rm -f "$run/head-start"`;

/** After the agent ended (before the check): what it did to the repository. */
export const GIT_END = [
  `if [ -s "$run/head-start" ] && command -v git >/dev/null 2>&1; then`,
  `  { IFS= read -r hs < "$run/head-start"; } 2>/dev/null`,
  `  c=$(git rev-list --count "$hs..HEAD" 2>/dev/null || echo 0)`,
  // changed since the start: committed or not, and new files git would add (never kodama's own .kodama/)
  `  f=$( { git diff --name-only "$hs" 2>/dev/null; git ls-files --others --exclude-standard -- . ':(exclude).kodama' 2>/dev/null; } | sort -u | wc -l)`,
  `  echo "$c $f" | tr -s ' ' > "$run/git"`,
  `fi`,
].join("\n");

/** `watchdog PID`: ends the agent when it stalls or only retries its model API. */
export const WATCHDOG = [
  `watchdog() {`,
  `  wl=$(date +%s); wp=-1; wr=0`,
  `  lim=${UNREACHABLE_SECONDS}; [ "$stall" -lt "$lim" ] && lim=$stall`,
  `  poll=${POLL_SECONDS}; [ "$stall" -lt 10 ] && poll=1`,
  `  while sleep "$poll"; do`,
  `    kill -0 "$1" 2>/dev/null || return 0`,
  `    r=$(grep -cE '${RETRY_LINE_RE}' "$run/log" 2>/dev/null); p=$(grep -cvE '${RETRY_LINE_RE}' "$run/log" 2>/dev/null)`,
  `    now=$(date +%s)`,
  `    if [ "$p" != "$wp" ]; then wp=$p; wl=$now; wr=$r; fi`,
  `    why=""`,
  // retrying only (and at least twice) since the last progress: the model API is not reachable
  `    if [ $((r - wr)) -ge 2 ] && [ $((now - wl)) -ge "$lim" ]; then why=unreachable; msg="the agent only retried its model API for \${lim}s: ended (is the model API reachable from the pod?)"`,
  `    elif [ $((now - wl)) -ge "$stall" ]; then why=stalled; msg="the agent made no progress for \${stall}s (agent.stallTimeout): ended"; fi`,
  `    if [ -n "$why" ]; then`,
  `      echo "$why" > "$run/ended-by"; echo "kodama: $msg" >> "$run/log"`,
  `      kill -TERM "$1" 2>/dev/null; sleep 3; kill -KILL "$1" 2>/dev/null; return 0`,
  `    fi`,
  `  done`,
  `}`,
].join("\n");

/** The agent, watched: replaces the runner's plain `"$@" < prompt >> log 2>&1`; leaves its exit code in `$code`. */
export const RUN_WATCHED = [
  WATCHDOG,
  `stall="\${KODAMA_STALL_SECONDS:-0}"; case "$stall" in "" | *[!0-9]*) stall=0 ;; esac`,
  GIT_START,
  `"$@" < "$run/prompt" >> "$run/log" 2>&1 &`,
  `apid=$!; wpid=""`,
  `if [ "$stall" -gt 0 ]; then watchdog "$apid" & wpid=$!; fi`,
  `wait "$apid"; code=$?`,
  `[ -n "$wpid" ] && kill "$wpid" 2>/dev/null`,
  `[ -s "$run/ended-by" ] && [ "$code" = 0 ] && code=124`,
  GIT_END,
].join("\n");

/** Seconds of agent.stallTimeout for the runner (0: off). */
export function stallSeconds(ms: number): number {
  return ms > 0 ? Math.max(1, Math.round(ms / 1000)) : 0;
}
