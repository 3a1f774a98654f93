# shellcheck shell=sh
# `agent attach`'s interactive agent in the pod (agent/runs/attach.ts), after prologue.sh and agenttmux.sh:
#   sh -c TAKEOVER kodama-takeover probe            prints `tmux=0|1 live=0|1` (is there tmux; a live session)
#   sh -c TAKEOVER kodama-takeover open TERM CMD...  attaches to the tmux session `kodama-agent`, creating it
#                                                    with CMD (the agent's interactive CLI) when none is live
# One tmux server per pod, on its own socket (TMPDIR and the pod's uid): never the user's own tmux. CMD is the
# agent's argv as a run gets it (presets.ts: env K=V, envload.sh, the wrap): its keys come from the
# container's environment and the home volume, never from an argument. Detaching (C-b d, a closed terminal)
# leaves the CLI running in tmux (`agent run` refuses to start beside it, or ends it with --force: start.sh).
# Exit 64 when the image has no tmux. busybox sh and dash run it. Claude Code's first-run state is set before
# (agent/runs/claudestate.ts).
# shellcheck disable=SC2154 # ws is prologue.sh's; sock, has and live are agenttmux.sh's
set -u
mode="$1"; shift
if [ "$mode" = probe ]; then echo "tmux=$has live=$live"; exit 0; fi
[ "$has" = 1 ] || { echo "kodama: the image has no tmux" >&2; exit 64; }
term="$1"; shift
case "$term" in "" | *[!A-Za-z0-9._+-]*) term=xterm-256color ;; esac
export TERM="$term"
if [ "$live" = 1 ]; then exec tmux -S "$sock" attach-session -t kodama-agent; fi
[ "$#" -gt 0 ] || { echo "kodama: no interactive agent is running in tmux" >&2; exit 3; }
cd "$ws" 2>/dev/null || true
# an agent that fails at once leaves its words on the screen (not a tmux that vanished)
# shellcheck disable=SC2016 # the inner script's $@ and $? are its own
exec tmux -S "$sock" new-session -s kodama-agent -c "$ws" sh -c '"$@"; c=$?; [ "$c" = 0 ] && exit 0; printf "\nkodama: the agent exited with code %s; press Enter to close\n" "$c"; read -r _' kodama-agent "$@"
