# shellcheck shell=sh
# The start of every agent script kodama runs in the pod (status, logs, stop, the start, the truth's reads):
# `alive PID`, the workspace in $ws, where runs live in $runs (on the home volume, outside the workspace, so
# the agent's `git add -A` never commits them; a session that has them under the workspace from before keeps
# them there), and the PATH with the agent-home install. agent.ts: RUNS_DIR, OLD_RUNS_DIR.
# a process that is gone or a zombie (ended, not yet reaped by the container's init) is not alive
alive() { kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }
ws="${KODAMA_WORKSPACE:-$PWD}"
# shellcheck disable=SC2034 # the scripts after it use runs
if [ -d "$ws/.kodama/runs" ] && [ ! -d "$HOME/.kodama/runs" ]; then runs="$ws/.kodama/runs"; else runs="$HOME/.kodama/runs"; fi
export PATH="$HOME/.local/node_modules/.bin:$HOME/.local/bin:$PATH"
