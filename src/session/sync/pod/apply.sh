# One sync batch (src/session/sync/batch.ts builds it) applied in the pod by one exec:
#   sh -c APPLY sh WORKDIR [eof]
# stdin: `LENGTH\n`, the paths to delete one a line (`\` and newline escaped as `\\` and `\n`), an empty
# line, then a tar archive of LENGTH bytes (the new and changed paths). The deletes go first (`rm -rf`, in
# groups of 200), then the archive is extracted in WORKDIR. `head -c LENGTH` hands tar the archive and then
# an end, so a stream that carries several batches (channel.sh) is not read past this one; with `eof`
# ($2), for a stdin that ends where the batch does (a push's own half-closed stdin, gzip -dc's output), tar
# reads stdin itself: one process and one pipe copy fewer. No output; exit 0, or 96 no length, 97 no
# workdir, 98 a delete failed, else tar's. POSIX sh, as busybox sh and dash run it (no bashisms);
# the shell's `read` takes a pipe one byte at a time, so what follows starts exactly at the archive.
# It carries no idle-ignore mark: what a push writes is activity for a session's idle stop.
umask 0
IFS= read -r n || exit 96
mkdir -p "$1" && cd "$1" || exit 97
eof=$2
set --
while IFS= read -r p; do
  [ -z "$p" ] && break
  case $p in *\\*) p=$(printf '%b_' "$p"); p=${p%_} ;; esac
  set -- "$@" "./$p"
  if [ $# -ge 200 ]; then rm -rf -- "$@" || exit 98; set --; fi
done
if [ $# -gt 0 ]; then rm -rf -- "$@" || exit 98; fi
if [ "$eof" = eof ]; then tar -xof -; else head -c "$n" | tar -xof -; fi
