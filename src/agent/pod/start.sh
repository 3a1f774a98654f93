# shellcheck shell=sh
# Start an agent run (agent.ts: startArgv), after prologue.sh, install.sh and agenttmux.sh:
#   sh -c START kodama-agent SIZES PRESETS RUNNER RUNNER_JS NOTIFY_JS PROJCHECK_JS STEERING CMD ARGS...
# SIZES is BYTES[+CHECK][:c][~N][%B64][!r|!e][^][&][@AGENT]: the check command (CHECK bytes, when given) and then
# the prompt (BYTES long) come on stdin; `:c` continues the latest run (recorded only when that run was of the
# same AGENT, its preset); `~N` is agent.stallTimeout in seconds, for the runner's watchdog; `%B64` what a
# preset's continuation runs (base64 JSON), for the Node runner; `!r` refuses (exit 65, nothing started) when an
# interactive agent taken over with `agent attach` is live in the pod's tmux, `!e` ends it first (`--force`);
# `^` no webhook for this run (`--no-notify`); `&` the session goes through a gateway (no real key in the pod).
# PRESETS is one line per preset, `NAME BIN PACKAGE VERSION NODE FILES` (presets.ts; FILES `FORMAT:PATH,…` or
# `-`: the project config files its CLI reads). PROJCHECK_JS checks them (projcheck.js) against STEERING, the
# pattern of the variables only the user chooses (config/steering.ts): one that sets one refuses the run (exit
# 77, recorded as failed, a `refused:` line on stdout before the run id), through a gateway a `note:` line. RUNNER, RUNNER_JS and NOTIFY_JS are the detached runner's programs (runner.sh, runner.js,
# notify.js). CMD may start with `env K=V…` (a preset's variables). Prints the run id on stdout as its last
# line; an install's one progress line (and npm's tail when it fails) on stderr. Exit 127 when the command is
# missing and cannot be installed (the run is recorded as failed), 125 when its install failed.
# shellcheck disable=SC2154 # ws and runs are prologue.sh's, live agenttmux.sh's, kodama_resume_hook agent.ts's
set -u
bytes="$1"; presets="$2"; runner="$3"; runnerjs="$4"; notifyjs="$5"; projjs="$6"; steer="$7"; shift 7
cb=0; missing=0; cont=0; agent=""; nn=0; tk=""; gw=0; pfiles="-"
case "$bytes" in *@*) agent="${bytes#*@}"; bytes="${bytes%%@*}" ;; esac
case "$bytes" in *"&") gw=1; bytes="${bytes%&}" ;; esac
case "$bytes" in *^) nn=1; bytes="${bytes%^}" ;; esac
case "$bytes" in *!r) tk=r; bytes="${bytes%!r}" ;; *!e) tk=e; bytes="${bytes%!e}" ;; esac
case "$bytes" in *%*) export KODAMA_RESUME="${bytes##*%}"; bytes="${bytes%\%*}" ;; esac
case "$bytes" in *~*) export KODAMA_STALL_SECONDS="${bytes##*~}"; bytes="${bytes%~*}" ;; esac
case "$bytes" in *:c) cont=1; bytes="${bytes%:c}" ;; esac
case "$bytes" in *+*) cb="${bytes#*+}"; bytes="${bytes%+*}" ;; esac
# never two agents at once: the one taken over still runs in tmux (its stdin read, so the exec ends cleanly)
if [ "$live" = 1 ] && [ "$tk" = r ]; then head -c "$((bytes + cb))" > /dev/null; exit 65; fi
if [ "$live" = 1 ] && [ "$tk" = e ]; then tmux -S "$sock" kill-session -t kodama-agent; fi
# `preset_row NAME BIN PACKAGE VERSION NODE FILES`, with `$1` matched against p_key by the field p_at (1 or 2)
preset_row() {
  case "$p_at" in 1) [ "$1" = "$p_key" ] ;; *) [ "$2" = "$p_key" ] ;; esac || return 1
  p_name="$1" p_bin="$2" p_pkg="$3" p_ver="$4" p_node="$5" p_files="${6:--}"
}
# `preset_find FIELD KEY`: the row of PRESETS whose FIELD (1: name, 2: program) is KEY, in p_name… (else 1)
preset_find() {
  p_at="$1" p_key="$2" pf_ifs="$IFS"
  IFS='
'
  set -f
  for pf_row in $presets; do
    IFS=' '
    # shellcheck disable=SC2086 # the row's words, split on purpose
    if preset_row $pf_row; then IFS="$pf_ifs"; set +f; return 0; fi
  done
  IFS="$pf_ifs"; set +f
  return 1
}
# the program: after `env K=V…`
prog="$1"
if [ "$prog" = env ]; then for a in "$@"; do case "$a" in env | *=*) ;; *) prog="$a"; break ;; esac; done; fi
# a preset's run is its CLI, whatever runs it (a wrapper script)
if [ -n "$agent" ] && preset_find 1 "$agent"; then prog="$p_bin"; pfiles="$p_files"; fi
if ! command -v "$prog" >/dev/null 2>&1; then
  # kodama says it (one line): nothing of its own on stderr first; the run is recorded as failed (127)
  if preset_find 2 "$prog"; then
    kodama_install "$p_name" "$p_pkg" "$p_ver" "$p_bin" "$p_node" 125 127 || missing=1
  else
    missing=1
  fi
fi
mkdir -p "$runs" || exit 1
# runs of an older session under the workspace never get committed: the clone's local exclude
if [ "$runs" = "$ws/.kodama/runs" ] && [ -d "$ws/.git" ]; then grep -qxF '/.kodama/runs/' "$ws/.git/info/exclude" 2>/dev/null || { mkdir -p "$ws/.git/info" && echo '/.kodama/runs/' >> "$ws/.git/info/exclude"; }; fi
# shellcheck disable=SC2010 # run directories are numbers
n=$(ls "$runs" | grep -E '^[0-9]+$' | sort -n | tail -n 1)
prev="${n:-}"
n=$((${n:-0} + 1))
while ! mkdir "$runs/$n" 2>/dev/null; do n=$((n + 1)); done
run="$runs/$n"
umask 077
# the check first, byte by byte (dd reads no further than asked: the prompt follows on the same stdin)
if [ "$cb" -gt 0 ]; then dd bs=1 count="$cb" of="$run/check" 2>/dev/null || exit 1; fi
# exactly as many bytes as kodama sends: older exec protocols (v4) cannot signal the end of stdin
head -c "$bytes" > "$run/prompt" || exit 1
date -u +%Y-%m-%dT%H:%M:%SZ > "$run/started"
printf '%s\n' "${KODAMA_POD_UID:-}" > "$run/pod"
printf '%s\n' "$agent" > "$run/agent"
# the conversation it continues is the previous run's only when that run was of the same agent (a run
# from before runs recorded their agent counts as the same)
pa=""; [ -n "$prev" ] && pa=$(cat "$runs/$prev/agent" 2>/dev/null)
if [ "$cont" = 1 ] && [ -n "$prev" ] && { [ -z "$pa" ] || [ "$pa" = "$agent" ]; }; then echo "$prev" > "$run/continues"; fi
# a continuation given no check of its own runs the check of the run before it again, as that run did (a
# group's `start --check`, kept by `agent run GROUP --continue`, the web UI's and MCP's continue)
if [ "$cont" = 1 ] && [ "$cb" = 0 ] && [ -n "$prev" ] && [ -s "$runs/$prev/check" ]; then cp "$runs/$prev/check" "$run/check"; fi
: > "$run/log"
if [ "$nn" = 1 ]; then : > "$run/no-notify"; fi
if [ "$missing" = 1 ]; then
  echo "kodama: $prog is not in the image (agent ${agent:-command})" > "$run/log"
  date -u +%Y-%m-%dT%H:%M:%SZ > "$run/ended"; echo 127 > "$run/exit"; echo "$n"; exit 127
fi
# a repository's own agent-CLI config never steers the user's key: the files this preset's CLI reads, checked
# at every run (the agent may have written one in an earlier run), never changed. Without node (a CLI that
# needs none) a file that is there cannot be checked: that refuses too.
pc=""
if [ "$pfiles" != - ]; then
  pc_ifs="$IFS"; IFS=,; set -f
  if command -v node >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # FORMAT:PATH words, split on commas on purpose
    pc=$(cd "$ws" && node -e "$projjs" "$steer" $pfiles 2>/dev/null) || pc="${pc:-the project config files could not be checked}"
  else
    for pf in $pfiles; do
      if [ -e "$ws/${pf#*:}" ] || [ -L "$ws/${pf#*:}" ]; then pc="${pc:+$pc; }${pf#*:} is there and the image has no node to check it"; fi
    done
  fi
  IFS="$pc_ifs"; set +f
fi
if [ -n "$pc" ] && [ "$gw" = 0 ]; then
  pc="refused: $pc: only you choose where your key goes (remove it, or run through a gateway: kodama gateway ensure)"
  echo "kodama: $pc" > "$run/log"
  date -u +%Y-%m-%dT%H:%M:%SZ > "$run/ended"; echo 77 > "$run/exit"; echo "$pc"; echo "$n"; exit 77
fi
if [ -n "$pc" ]; then
  pc="note: $pc: the run goes on: through the gateway the pod holds a session token, never your key, and reaches only the hosts the gateway allows"
  echo "kodama: $pc" > "$run/log"; echo "$pc"
fi
# detached: its own session (survives the exec and kodama), no terminal, stdin the prompt
if command -v setsid >/dev/null 2>&1; then detach="setsid"; else detach=""; fi
# nohup where there is one: Debian's busybox image has none, and a missing nohup started nothing while the
# run read as running (the runner, a session of its own writing to files, never sees a hang-up anyway)
if command -v nohup >/dev/null 2>&1; then nh="nohup"; else nh=""; fi
# a pod's end cuts a run off (runner.js records it); the session's next pod resumes it: resume.sh (its text in
# $kodama_resume_hook, agent.ts) is the session's start hook, with the runner's programs beside it
ag="$HOME/.kodama/agent"; hk="$HOME/.kodama/on-start.d"
if mkdir -p "$ag" "$hk" 2>/dev/null; then
  printf '%s\n' "$runner" > "$ag/runner.sh"; printf '%s\n' "$runnerjs" > "$ag/runner.js"
  printf '%s\n' "$notifyjs" > "$ag/notify.js"; printf '%s\n' "$PATH" > "$ag/path"; printf '%s\n' "$runs" > "$ag/runs"
  printf '%s\n' "$kodama_resume_hook" > "$hk/.agent-resume.$$" && mv -f "$hk/.agent-resume.$$" "$hk/agent-resume"
fi
# the Node runner checks the same files again before each continuation it starts (runner.js)
if [ "$pfiles" != - ] && [ "$gw" = 0 ]; then export KODAMA_PROJCHECK="$projjs" KODAMA_PROJCHECK_PATTERN="$steer" KODAMA_PROJCHECK_FILES="$pfiles"; fi
$nh $detach sh -c "$runner" kodama-run "$run" "$runnerjs" "$notifyjs" "$@" > /dev/null 2>&1 < /dev/null &
echo "$n"
