# `kodama session land`'s pod side (src/session/git/land.ts): the pod's branch moves from OLD to NEW.
#   sh -c MOVE kodama-land SIZE NEW OLD
# stdin: a git bundle of SIZE bytes (0: none, NEW is already in the pod). The branch HEAD names moves only
# when it still is at OLD (exit 4 when it moved, 3 when HEAD is detached, 1 when the bundle or NEW did not
# arrive); the index follows it; the working tree is the sync's, and it already holds the landed files.
# POSIX sh, as busybox sh and dash run it (no bashisms).
set -u
cd "${KODAMA_WORKSPACE:-$PWD}" || exit 1
if [ "$1" -gt 0 ]; then
  b="$(git rev-parse --absolute-git-dir)/kodama-land.bundle"
  head -c "$1" > "$b"
  [ "$(wc -c < "$b")" -eq "$1" ] || { rm -f "$b"; echo "kodama: the bundle did not arrive whole" >&2; exit 1; }
  git fetch -q --no-tags "$b" HEAD >&2 || { rm -f "$b"; exit 1; }
  rm -f "$b"
fi
git cat-file -e "$2^{commit}" || { echo "kodama: commit $2 did not arrive" >&2; exit 1; }
cur=$(git symbolic-ref -q HEAD) || { echo "kodama: the pod's HEAD is detached" >&2; exit 3; }
git update-ref -m "kodama land" "$cur" "$2" "$3" || { echo "kodama: the pod's branch moved" >&2; exit 4; }
git read-tree "$2" && git update-index -q --refresh >/dev/null; exit 0
