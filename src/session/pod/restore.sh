# The restore of a session's volumes in its copy pod (src/session/volumes/snapshot.ts):
#   sh -c RESTORE kodama-restore SRC TOKEN MODE [ARG]
# SRC holds the session's volumes as SRC/workspace and SRC/home; TOKEN names the set-aside directory
# (.kodama-restore-old-TOKEN). MODE is what fills the volumes:
#   tar ARCHIVE   a snapshot archive in the pod: read through first (`tar -tf`), before anything is touched
#   stdin BYTES   a snapshot archive on stdin, which must be BYTES long: tee hands the stream to tar and
#                 to `wc -c` (through /dev/fd/3), the group drains what tar leaves unread (the end-of-archive
#                 padding) so tee never meets a closed pipe, and a tar that fails adds a line to the count,
#                 which then cannot match (tar ends without an error when a stream is cut after an entry)
#   volumes DIR   restored volumes mounted at DIR/workspace and DIR/home (checked first): their entries,
#                 but lost+found, are copied in
# It replaces both volumes' contents and never loses them: each volume's entries (but lost+found) are
# first set aside in a directory of their own on the same volume (renames, no copy), the volumes are filled,
# and only once that succeeded are the set-aside entries removed. When it fails (a short or broken archive,
# a full volume, a signal) what it wrote goes and the set-aside entries are put back. Safe to run again after
# a try that was cut off with no chance to put things back (its pod lost with its node; issue 80: the copy
# pod is a Job's, and kodama starts the restore over in the next pod): a try first puts back what an earlier
# one set aside — dropping what that one wrote only when its mark `.kodama-restore-filling-TOKEN` (made once
# both volumes were set aside, before anything was written) says it had begun to fill — so every try starts
# from the volumes as they were. No output on stdout;
# what went wrong on stderr; exit 0, or 1 (the volumes are as they were). POSIX sh, as busybox sh and dash
# run it (no bashisms).
src=$1; B=.kodama-restore-old-$2; mode=$3; arg=$4
set -e
case $mode in
  tar) tar -tf "$arg" >/dev/null ;;
  stdin) ;;
  volumes)
    for d in workspace home; do
      mountpoint -q "$arg/$d" 2>/dev/null || [ -d "$arg/$d" ] || { echo "the restored $d volume is not mounted" >&2; exit 1; }
    done ;;
  *) echo "kodama-restore: no mode $mode" >&2; exit 2 ;;
esac
set +e
# an earlier try's leftovers (see above): its set-aside entries back, what it wrote gone if it had written
for d in "$src/workspace" "$src/home"; do
  for old in "$d"/.kodama-restore-old-*; do
    [ -d "$old" ] || continue
    t=${old##*/.kodama-restore-old-}
    if [ -e "$d/.kodama-restore-filling-$t" ]; then
      find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name ".kodama-restore-old-$t" -exec rm -rf {} +
    fi
    find "$old" -mindepth 1 -maxdepth 1 -exec mv {} "$d/" \;
    rmdir "$old" || { echo "kodama: an earlier restore's files could not all be put back: they are in $old" >&2; exit 1; }
  done
  rm -f "$d"/.kodama-restore-filling-*
done
fill() {
  case $mode in
    tar) tar -xf "$arg" -C "$src" ;;
    stdin)
      n=$( { tee /dev/fd/3 | { tar -xf - -C "$src" 3>&- || echo tar-failed >&3; cat >/dev/null; }; } 3>&1 >&2 | wc -c )
      [ "$n" -eq "$arg" ] 2>/dev/null && return 0
      [ "$n" -gt "$arg" ] 2>/dev/null && return 1
      echo "kodama: the snapshot stream was cut short: $((n)) of $arg bytes arrived" >&2; return 1 ;;
    volumes)
      for v in workspace home; do
        for f in "$arg/$v"/* "$arg/$v"/.[!.]* "$arg/$v"/..?*; do
          [ -e "$f" ] || [ -L "$f" ] || continue
          [ "$f" = "$arg/$v/lost+found" ] && continue
          cp -a "$f" "$src/$v/" || return 1
        done
      done ;;
  esac
}
# $1 = written: what fill wrote is removed before the set-aside entries go back
back() {
  for d in "$src/workspace" "$src/home"; do
    [ -d "$d/$B" ] || continue
    [ "$1" = written ] && find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name "$B" -exec rm -rf {} +
    find "$d/$B" -mindepth 1 -maxdepth 1 -exec mv {} "$d/" \;
    rmdir "$d/$B" 2>/dev/null || echo "kodama: what could not be put back in $d is in $d/$B" >&2
  done
}
for d in "$src/workspace" "$src/home"; do
  mkdir "$d/$B" || { back; exit 1; }
  find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name "$B" -exec mv {} "$d/$B/" \;
  if [ -n "$(find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name "$B")" ]; then
    back; echo "kodama: could not set aside the files of $d: nothing was changed" >&2; exit 1
  fi
done
# both volumes set aside: from here on, what is outside the set-aside directory is this try's writing
for d in "$src/workspace" "$src/home"; do : > "$d/.kodama-restore-filling-$2" || { back; exit 1; }; done
trap 'back written; exit 1' HUP INT TERM
if ! fill; then
  back written; echo "kodama: the restore failed: the workspace and home are as they were" >&2; exit 1
fi
trap - HUP INT TERM
rm -rf "${src:?}/workspace/$B" "${src:?}/home/$B"
# the set-aside entries gone first, then the marks: a mark without its directory is only a stale file
rm -f "$src/workspace/.kodama-restore-filling-$2" "$src/home/.kodama-restore-filling-$2"
