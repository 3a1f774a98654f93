# shellcheck shell=sh
# The pod's one tmux server of `agent attach`'s take-over (takeover.sh) and whether its `kodama-agent` session
# is live, for takeover.sh and start.sh: `sock` (its own socket under TMPDIR and the pod's uid: never the
# user's own tmux), `has` 1 when the image has tmux, `live` 1 when the interactive agent runs in it. Sourced
# after prologue.sh.
# shellcheck disable=SC2034 # sock, has and live are for the script after it
sock="${TMPDIR:-/tmp}/kodama-agent-${KODAMA_POD_UID:-$(id -u)}"
has=0; command -v tmux >/dev/null 2>&1 && has=1
live=0; [ "$has" = 1 ] && tmux -S "$sock" has-session -t kodama-agent 2>/dev/null && live=1
