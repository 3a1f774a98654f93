# One repository of a session with several (src/session/git/repos.ts): another pod program run in its
# directory, as if that directory were the workspace.
#   sh -c INREPO kodama-repo NAME SCRIPT ARG0 ARGS…
# NAME is a checked directory name (one segment: letters, digits, '.', '_', '-'); SCRIPT then runs as
# `sh -c SCRIPT ARG0 ARGS…` there, with KODAMA_WORKSPACE set to that directory (the pod programs cd to it).
# Exit 3 when the session has no such repository. POSIX sh, as busybox sh and dash run it (no bashisms).
set -u
ws="${KODAMA_WORKSPACE:-$PWD}"
case "$1" in "" | .* | */*) echo "kodama: invalid repository name" >&2; exit 2 ;; esac
[ -d "$ws/$1" ] || { echo "kodama: the session has no repository $1 (no $ws/$1)" >&2; exit 3; }
cd "$ws/$1" || exit 3
KODAMA_WORKSPACE="$ws/$1"
export KODAMA_WORKSPACE
shift
script="$1"
shift
exec sh -c "$script" "$@"
