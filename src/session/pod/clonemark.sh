# The marker that proves a storage driver's clone copied a session's volumes (src/session/volumes/clonemark.ts):
#   sh -c CLONEMARK kodama-clone ACTION TOKEN WORKSPACE HOME
# The marker's places: the workspace's git dir when there is one (out of `git status`), else the
# workspace's root (WORKSPACE; empty: the session's own, $KODAMA_WORKSPACE), and the home volume. ACTION:
#   write   TOKEN into both (then `sync`), in the source's volumes before the clone
#   check   both hold TOKEN (else exit 9 and a `kodama-clone: …` line on stderr), then both are removed
#   remove  both are removed (the source's, once the clone is made)
# POSIX sh, as busybox sh and dash run it (no bashisms).
action=$1; token=$2; ws=${3:-$KODAMA_WORKSPACE}; home=$4
if [ -d "$ws/.git" ]; then w="$ws/.git/kodama-clone-marker"; else w="$ws/.kodama-clone-marker"; fi
h="$home/.kodama-clone-marker"
case $action in
  write)
    set -e
    printf %s "$token" > "$w"
    printf %s "$token" > "$h"
    sync ;;
  remove) rm -f "$w" "$h" ;;
  check)
    [ "$(cat "$w" 2>/dev/null)" = "$token" ] || { echo "kodama-clone: the workspace volume does not have the source's marker" >&2; exit 9; }
    [ "$(cat "$h" 2>/dev/null)" = "$token" ] || { echo "kodama-clone: the home volume does not have the source's marker" >&2; exit 9; }
    rm -f "$w" "$h" ;;
  *) echo "kodama-clone: no action $action" >&2; exit 2 ;;
esac
