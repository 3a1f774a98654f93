# kodama-idle-ignore
# A two-way sync fetch from the pod in its own exec (src/session/sync/twoway.ts fetchPod, groups of 200):
#   sh -c TAR sh WORKDIR ./PATH...
# stdout: a tar archive of those paths. A path gone meanwhile makes tar complain and go on: that path is
# then simply not fetched. Always exit 0. Reading is not activity for an idle stop (the mark on the first
# line). POSIX sh, as busybox sh and dash run it (no bashisms).
cd "$1" && shift && tar -cf - "$@" 2>/dev/null; exit 0
