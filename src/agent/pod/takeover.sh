# shellcheck shell=sh
# `agent attach`'s interactive agent in the pod (agent/attach.ts), after prologue.sh:
#   sh -c TAKEOVER kodama-takeover probe            prints `tmux=0|1 live=0|1` (is there tmux; a live session)
#   sh -c TAKEOVER kodama-takeover end              ends a live `kodama-agent` session (agent run --force)
#   sh -c TAKEOVER kodama-takeover open TERM CMD...  attaches to the tmux session `kodama-agent`, creating it
#                                                    with CMD (the agent's interactive CLI) when none is live
# One tmux server per pod, on its own socket (TMPDIR and the pod's uid): never the user's own tmux. CMD is the
# agent's argv as a run gets it (presets.ts: env K=V, envload.sh, the wrap): its keys come from the
# container's environment and the home volume, never from an argument. Detaching (C-b d, a closed terminal)
# leaves the CLI running in tmux. Exit 64 when the image has no tmux. busybox sh and dash run it.
# shellcheck disable=SC2154 # ws is prologue.sh's
set -u
mode="$1"; shift
sock="${TMPDIR:-/tmp}/kodama-agent-${KODAMA_POD_UID:-$(id -u)}"
has=0; command -v tmux >/dev/null 2>&1 && has=1
live=0; [ "$has" = 1 ] && tmux -S "$sock" has-session -t kodama-agent 2>/dev/null && live=1
if [ "$mode" = probe ]; then echo "tmux=$has live=$live"; exit 0; fi
if [ "$mode" = end ]; then [ "$live" = 0 ] || tmux -S "$sock" kill-session -t kodama-agent; exit 0; fi
[ "$has" = 1 ] || { echo "kodama: the image has no tmux" >&2; exit 64; }
term="$1"; shift
case "$term" in "" | *[!A-Za-z0-9._+-]*) term=xterm-256color ;; esac
export TERM="$term"
if [ "$live" = 1 ]; then exec tmux -S "$sock" attach-session -t kodama-agent; fi
[ "$#" -gt 0 ] || { echo "kodama: no interactive agent is running in tmux" >&2; exit 3; }
cd "$ws" 2>/dev/null || true
exec tmux -S "$sock" new-session -s kodama-agent -c "$ws" "$@"
