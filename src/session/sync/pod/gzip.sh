# A compressed sync batch (src/session/sync/remote.ts applyBatch with compress):
#   sh -c GZIP sh WORKDIR APPLY
# stdout: first `z` when the pod can `gzip -dc` (the batch then comes gzipped) or `r` (an image without
# gzip gets it raw, and no error); then the batch is applied by APPLY ($2, apply.sh) in its `eof` mode:
# stdin ends with the stream's half-close (v5, or SPDY on older clusters), which ends `gzip -dc`.
# POSIX sh, as busybox sh and dash run it (no bashisms).
if echo | gzip -c 2>/dev/null | gzip -dc >/dev/null 2>&1; then
  echo z; gzip -dc | sh -c "$2" sh "$1" eof
else echo r; exec sh -c "$2" sh "$1" eof; fi
