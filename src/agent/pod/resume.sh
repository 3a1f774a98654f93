# shellcheck shell=sh
# The session's start hook that resumes an agent run a pod's end cut off (issue 80): start.sh installs it as
# $HOME/.kodama/on-start.d/agent-resume with the runner's programs in $HOME/.kodama/agent (runner.sh,
# runner.js, notify.js; path: the PATH the run had; runs: the runs folder). keepalive.sh runs it at each pod's
# start. Only the latest run, and only one the Node runner started (RUN/argv.json): not ended (RUN/exit), not
# stopped by `agent stop` (RUN/stopped), not of this pod, and not the pod `kodama stop` marked
# ($HOME/.kodama/stopped names it: a person's stop is never resumed). The runner (KODAMA_RESUMING=1) takes
# the run's lock, then continues or ends it (agent.resumeLimit).
set -u
k="$HOME/.kodama/agent"
[ -f "$k/runner.sh" ] && [ -f "$k/runs" ] || exit 0
IFS= read -r p < "$k/path" && PATH="$p" && export PATH
IFS= read -r runs < "$k/runs" || exit 0
# shellcheck disable=SC2010 # run directories are numbers
n=$(ls "$runs" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1)
[ -n "$n" ] || exit 0
r="$runs/$n"
[ -f "$r/argv.json" ] && [ ! -f "$r/exit" ] && [ ! -f "$r/stopped" ] || exit 0
rpod=""; { IFS= read -r rpod < "$r/pod"; } 2>/dev/null
[ -n "$rpod" ] && [ "$rpod" != "${KODAMA_POD_UID:-}" ] || exit 0
grep -qx "pod=$rpod" "$HOME/.kodama/stopped" 2>/dev/null && exit 0
command -v node >/dev/null 2>&1 || exit 0
cd "${KODAMA_WORKSPACE:-$HOME}" 2>/dev/null || true
if command -v setsid >/dev/null 2>&1; then detach="setsid"; else detach=""; fi
if command -v nohup >/dev/null 2>&1; then nh="nohup"; else nh=""; fi
KODAMA_RESUMING=1 $nh $detach sh -c "$(cat "$k/runner.sh")" kodama-run "$r" "$(cat "$k/runner.js")" \
  "$(cat "$k/notify.js")" > /dev/null 2>&1 < /dev/null &
