# shellcheck shell=sh
# After wraphead.sh, for a run that streams stdin: the command runs as the shell's child (its stdin the
# exec's, given explicitly: an asynchronous list's is /dev/null otherwise) and the shell waits for it,
# holding the exec's stdout and stderr open until it ends. containerd closes an exec's stdin the moment its
# stdout or stderr reaches its end (containerd#12734), so `sh -c 'cat > f'` got ~192 KiB of a bigger upload.
# The last words are the mark the idle watchdog knows this shell by (kube/execmark.ts: EXEC_HOLDER_MARK).
exec 3<&0; "$@" <&3 3<&- & exec 3<&-; wait $! # kodama-exec-holder
