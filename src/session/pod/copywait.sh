# The main process of a session's copy pod (src/session/volumes/snapshot.ts buildCopyPod): it only waits, the work
# is done over exec (snapshot.sh, restore.sh); TERM or INT end it at once. No arguments, no output.
# POSIX sh, as busybox sh and dash run it (no bashisms).
trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done
