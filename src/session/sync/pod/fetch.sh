# kodama-idle-ignore: it only reads
# The pod's side of a two-way sync fetch over the kept-open channel (src/session/sync/twoway.ts):
#   sh -c FETCH sh WORKDIR
# stdin: one `./PATH` a line; stdout: the tar of those paths, base64-encoded (busybox base64), before the
# channel's `done` line. A path gone meanwhile is left out. Exit 97 when WORKDIR is missing, else 0.
# Reading is not activity for an idle stop (the mark on the first line). POSIX sh, as busybox sh and dash
# run it (no bashisms).
cd "$1" 2>/dev/null || exit 97
set --
while IFS= read -r p; do set -- "$@" "$p"; done
[ $# -eq 0 ] || tar -cf - "$@" 2>/dev/null | base64
exit 0
