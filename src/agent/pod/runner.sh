# shellcheck shell=sh
# The detached runner of one agent run: `sh -c RUNNER kodama-run RUNDIR RUNNER_JS NOTIFY_JS CMD ARGS...`, started by
# the start script with nohup and setsid (each where the image has it), so it survives kodama exiting (a
# closed laptop). RUNNER is watch.sh's functions and then this file (agent.ts). A preset's run (KODAMA_RESUME
# set) in an image with Node goes through RUNNER_JS (runner.js: waits out a transient end and continues the
# conversation, budgets, the byte watchdog); any other run (a custom command, a busybox image) is run once,
# watched by run_watched. Then the check, and the exit code, written last; then the webhook to the gateway's
# relay (notify.js, where the gateway relays the session's and the image has Node), its one-line result in
# RUNDIR/notify.
run="$1"; js="$2"; notify="$3"; shift 3
# the webhook's relay, this session's key and token (the env Secret) go to notify.js, not into the agent's
# environment: tidiness, not a secret kept (whatever is in the pod is the agent's; the relay holds the
# webhook's URL and the user's key, docs/security.md)
n_relay="${KODAMA_NOTIFY_RELAY:-}"; n_key="${KODAMA_NOTIFY_KEY:-}"; n_tok="${KODAMA_NOTIFY_TOKEN:-}"
n_on="${KODAMA_NOTIFY_ON:-}"
unset KODAMA_NOTIFY_RELAY KODAMA_NOTIFY_KEY KODAMA_NOTIFY_TOKEN KODAMA_NOTIFY_ON
echo $$ > "$run/pid"
# a TERM (`agent stop`, `kodama stop`, the pod's end) waits for the agent's runner, then ends this one: the
# run is not over here (a stop reads as stopped or interrupted; a cut resumes on the next pod, runner.js)
term=0
trap 'term=1' TERM
cd "${KODAMA_WORKSPACE:-$PWD}" 2>/dev/null || true
export KODAMA_PROMPT_FILE="$run/prompt" KODAMA_RUN_DIR="$run" KODAMA_SUMMARY_FILE="$run/summary"
code=0
# a resumed run (resume.sh: KODAMA_RESUMING=1, its command in RUN/argv.json) is always the Node runner's
if { [ -n "${KODAMA_RESUME:-}" ] || [ "${KODAMA_RESUMING:-}" = 1 ]; } && command -v node >/dev/null 2>&1; then
  git_start
  node -e "$js" "$run" "$@"; code=$?
  git_end
else
  unset KODAMA_PROJCHECK KODAMA_PROJCHECK_PATTERN KODAMA_PROJCHECK_FILES
  run_watched "$@"
fi
# the pod is ending (keepalive.sh names it in $HOME/.kodama/ending before it signals anyone, one by one): a
# stop or a cut, never the run's end, even when the agent's runner ended before this shell's TERM came
ending() {
  [ -n "${KODAMA_POD_UID:-}" ] && grep -qx "pod=$KODAMA_POD_UID" "${HOME:-/home/kodama}/.kodama/ending" 2>/dev/null
}
if [ "$term" = 1 ] || [ -f "$run/cut" ] || ending; then exit 143; fi
# was a stop asked for before the agent ended? Then its end (whatever its code: an agent may exit 0 on
# SIGTERM) is the stop's; otherwise a stop that comes after this is too late, and the run exited
if [ -f "$run/stopped" ]; then echo 1; else echo 0; fi > "$run/stop-seen"
date -u +%Y-%m-%dT%H:%M:%SZ > "$run/ended"
# the check (a script file, never an argument): when the agent has ended, whatever its exit code
if [ -s "$run/check" ]; then sh "$run/check" > "$run/check.log" 2>&1 < /dev/null; echo $? > "$run/check-exit"; fi
# whole or not at all: a status read never sees the file created but still empty
echo "$code" > "$run/exit.tmp" && mv -f "$run/exit.tmp" "$run/exit"
# told from the pod through the gateway's relay (bounded: notify.js makes at most two 10 s attempts); an
# image without Node says so. Without a gateway the pod tells nothing: kodama on the laptop sends it when
# it sees the run end (agent wait, agent logs -f, compare --wait).
if [ -n "$n_relay" ] && [ -n "$n_key" ] && [ ! -f "$run/no-notify" ]; then
  if command -v node >/dev/null 2>&1; then
    KODAMA_NOTIFY_RELAY="$n_relay" KODAMA_NOTIFY_KEY="$n_key" KODAMA_NOTIFY_TOKEN="$n_tok" \
      KODAMA_NOTIFY_ON="$n_on" node -e "$notify" "$run" > "$run/notify" 2>/dev/null < /dev/null
  else
    echo "skipped: the image has no node" > "$run/notify"
  fi
fi
