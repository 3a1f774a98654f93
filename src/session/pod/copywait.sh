# The main process of a session's copy pod (src/session/volumes/snapshot.ts buildCopyPod): it only waits, the work
# is done over exec (snapshot.sh, restore.sh); TERM or INT end it at once, with 143: the pod is its Job's
# (issue 80), and a pod ended from outside (an eviction, a delete) must count as Failed — the Job then makes
# another for the copy to start over in — never as Succeeded, which would end the Job with the copy undone.
# No arguments, no output. POSIX sh, as busybox sh and dash run it (no bashisms).
trap 'exit 143' TERM INT; while :; do sleep 3600 & wait $!; done
