# `kodama sync diff`'s and the UI's read of one pod file (src/session/sync/commands.ts), never through a link:
#   sh -c SHOW sh WORKDIR PATH LIMIT
# PATH is `/`-separated, relative to WORKDIR; no component may be a symlink (exit 6, the 1-based index of
# the first that is on stderr). stdout: at most LIMIT bytes of the file. Exit 5 no workdir, 4 not a regular
# file, 3 not there. POSIX sh, as busybox sh and dash run it (no bashisms).
cd "$1" || exit 5
set -f; IFS=/; p=.; n=0
# word splitting on / is the point here (globbing is off)
# shellcheck disable=SC2086
for c in $2; do
  p="$p/$c"; n=$((n+1))
  if [ -L "$p" ]; then echo "$n" >&2; exit 6; fi
done
if [ -f "$p" ]; then head -c "$3" < "$p"; elif [ -e "$p" ]; then exit 4; else exit 3; fi
