# shellcheck shell=sh
# kodama session: the pod stays up until `kodama stop`. The main process (session/spec/manifests.ts):
#   sh -c KEEPALIVE kodama-session EDITOR_DIR REPLACE DEFAULTS [WATCHDOG IDLE TICK GRACE DURATION]
# First the editor configs from EDITOR_DIR (the ConfigMap's mount) into HOME: REPLACE and DEFAULTS are
# space-separated `FILE:PATH` pairs (a file of the ConfigMap, its path under HOME). A repository's file
# (REPLACE) replaces the copy at each start; a default only fills a missing file, so edits made in the
# session stay. Then it waits to be stopped: with WATCHDOG (watchdog.sh's text: idle stop) that program
# takes over the process, else `sleep` in a loop (busybox has it); an image without sleep blocks on the
# container's open stdin instead. TERM/INT end it at once, so `stop` is quick, with its `sleep` (in a pod
# the container's end takes it anyway; run anywhere else, it would be left sleeping a day). No double dollar
# anywhere: Kubernetes turns it into one in a container's command. busybox sh and dash run it.
trap 'kill "$!" 2>/dev/null; exit 0' TERM INT
dir="$1"; replace="$2"; defaults="$3"; shift 3
for f in $replace; do
  src=$dir/${f%%:*}; dst="$HOME/${f#*:}"
  # a copy on the home volume (editable in the session); the repo's version wins at each start
  [ -f "$src" ] && mkdir -p "${dst%/*}" && rm -f "$dst" && cp "$src" "$dst"
done
for f in $defaults; do
  src=$dir/${f%%:*}; dst="$HOME/${f#*:}"
  # a default never replaces what is there (a file edited in the session, a link, a directory)
  [ -f "$src" ] && [ ! -e "$dst" ] && [ ! -L "$dst" ] && mkdir -p "${dst%/*}" && cp "$src" "$dst"
done
if command -v sleep >/dev/null 2>&1; then
  if [ "$#" -gt 0 ]; then wd="$1"; shift; exec sh -c "$wd" kodama-idle "$@"; fi
  while :; do sleep 86400 & wait $!; done
fi
# no sleep: block on stdin (the container keeps it open); should it ever close, say why
while read -r _; do :; done
echo "kodama: this image has no sleep and the container's stdin closed" >&2
exit 1
