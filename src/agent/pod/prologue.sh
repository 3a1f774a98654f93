# shellcheck shell=sh
# The start of every agent script kodama runs in the pod (status, logs, stop, the start, the truth's reads):
# `alive PID`, the workspace in $ws, where runs live in $runs (on the home volume, outside the workspace, so
# the agent's `git add -A` never commits them; a session that has them under the workspace from before keeps
# them there), and the PATH with the agent-home install last. agent.ts: RUNS_DIR, OLD_RUNS_DIR.
# a process that is gone or a zombie (ended, not yet reaped by the container's init) is not alive
alive() { kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }
ws="${KODAMA_WORKSPACE:-$PWD}"
# shellcheck disable=SC2034 # the scripts after it use runs
if [ -d "$ws/.kodama/runs" ] && [ ! -d "$HOME/.kodama/runs" ]; then runs="$ws/.kodama/runs"; else runs="$HOME/.kodama/runs"; fi
# The PATH kodama's pod programs call their tools (tail, cat, node, …) by: the image's system directories
# first; what the agent can write (the home volume, with the agent-home install $HOME/.local, and the
# workspace) last, so a `tail` the agent put in ~/.local/bin answers nothing kodama reads (issue 79); a relative or empty
# entry (the working directory) is dropped. The agent-home install is still found: it holds only the CLIs
# the image lacks (install.sh).
kp_home="${HOME:-/nonexistent}"; [ "$kp_home" = / ] && kp_home=/nonexistent
kp_first=; kp_last=; kp_rest="$PATH:"
while [ -n "$kp_rest" ]; do
  kp_d="${kp_rest%%:*}"; kp_rest="${kp_rest#*:}"
  case "$kp_d" in
    /*) ;;
    *) continue ;;
  esac
  case "$kp_d" in
    "$kp_home" | "$kp_home"/* | "$ws" | "$ws"/*) kp_last="$kp_last:$kp_d" ;;
    *) kp_first="$kp_first:$kp_d" ;;
  esac
done
export PATH="${kp_first#:}:$HOME/.local/node_modules/.bin:$HOME/.local/bin$kp_last"
unset kp_home kp_first kp_last kp_rest kp_d
