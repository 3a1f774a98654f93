# A snapshot of a session's volumes taken in its copy pod, and the unpack of `start --from-snapshot`
# (src/session/volumes/snapshot.ts):
#   sh -c SNAPSHOT kodama-snapshot SRC MODE [ARCHIVE]
# SRC holds the session's volumes as SRC/workspace and SRC/home. MODE:
#   stream          stdout: a tar of both volumes (the snapshot goes to the laptop)
#   claim ARCHIVE   the tar is written to ARCHIVE.part, then renamed to ARCHIVE; stdout: its size in bytes
#   into-empty ARCHIVE  unpack ARCHIVE into SRC only while the workspace is empty (never over data: a
#                   message on stderr and exit 0 when it is not). The mark SRC/workspace/.kodama-unpacking
#                   is there while it unpacks: a try cut off (its pod lost; kodama starts over in the copy
#                   Job's next pod) left it, so the next try removes what that one wrote and unpacks anew,
#                   never taking a half-unpacked workspace for one that was not empty
#   claim is safe to run again as it is: the archive is written anew and renamed into place
# Exit 0, else the failing tool's code. POSIX sh, as busybox sh and dash run it (no bashisms).
src=$1; mode=$2; tar=$3
set -e
case $mode in
  stream) tar -cf - -C "$src" workspace home ;;
  claim) tar -cf "$tar.part" -C "$src" workspace home; mv "$tar.part" "$tar"; wc -c < "$tar" ;;
  into-empty)
    mark="$src/workspace/.kodama-unpacking"
    # shellcheck disable=SC2010 # only whether a name other than lost+found is there: any name will do
    if [ -e "$mark" ]; then
      for d in "$src/workspace" "$src/home"; do
        find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name .kodama-unpacking -exec rm -rf {} +
      done
    elif ls -A "$src/workspace" | grep -qvx 'lost+found'; then
      echo "kodama: the workspace is not empty: the snapshot was not unpacked" >&2; exit 0
    fi
    : > "$mark"
    tar -xf "$tar" -C "$src"
    rm -f "$mark" ;;
  *) echo "kodama-snapshot: no mode $mode" >&2; exit 2 ;;
esac
