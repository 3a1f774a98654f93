# kodama-idle-ignore
# The pod's side of a kept-open sync batch channel (src/session/sync/remote.ts BatchChannel): one exec that
# applies batch after batch, so a save costs one round trip on an open stream instead of a new exec.
#   sh -c CHANNEL sh WORKDIR APPLY [APPLY_JS]
# APPLY ($2) applies one batch from its stdin (apply.sh, or the two-way sync's apply2.sh). With a node
# program as $3 (apply.js, the same protocol as apply2.sh) and node in the image, that program is the
# channel instead: it says `ready node` and takes each batch raw; a node it cannot run on exits 86
# (NODE_UNFIT, podapply.ts) before reading, and the shell loop takes over. NODE_OPTIONS is cleared: an
# image's `--require` (an APM agent that prints) must not speak before `ready node`.
# The shell loop says `ready`, then reads each batch as a line with N and N lines of base64 (the shell's
# `read` takes a pipe one byte at a time, so it never reads past the batch), decodes it to a temporary file,
# applies it and answers `done CODE`. Waiting for batches is not activity for an idle stop (the mark on the
# first line); applying one is. POSIX sh, as busybox sh and dash run it (no bashisms): mktemp, base64.
if [ -n "$3" ] && command -v node >/dev/null 2>&1; then NODE_OPTIONS='' node -e "$3" -- "$1"; c=$?; [ "$c" = 86 ] || exit "$c"; fi
tmp=$(mktemp) || exit 95
trap 'rm -f "$tmp"' EXIT
echo ready
while IFS= read -r n; do
  i=0
  while [ "$i" -lt "$n" ] && IFS= read -r l; do printf '%s\n' "$l"; i=$((i+1)); done | base64 -d > "$tmp"
  sh -c "$2" sh "$1" < "$tmp"
  echo "done $?"
done
