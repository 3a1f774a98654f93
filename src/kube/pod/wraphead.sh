# shellcheck shell=sh
# kodama's exec wrapper (kube/exec.ts), `sh -c WRAP TAG CMD ARGS…`: a command the container cannot find is
# reported as such (the line `\036kodama-notfound`, exit 127), not as sh's 127; else the line
# `\036kodama-pid PID`, the shell's PID (the process group's leader), and the environment tagged with the
# run's id TAG, which every process the command starts inherits (pod/killer.sh ends them by it).
# A run cut off while its exec was opening is marked by pod/killer.sh: it never starts (exit 130, no output).
# First, so that a wrapper the killer's look missed (it finds this shell by TAG in its command line from
# its first instant) started after the mark was made, and sees it.
[ -e "/tmp/.kodama-cancelled-$0" ] && { rm -f "/tmp/.kodama-cancelled-$0"; exit 130; }
command -v -- "$1" >/dev/null 2>&1 || { printf '\036kodama-notfound\n'; exit 127; }
printf '\036kodama-pid %s\n' "$$"; export KODAMA_RUN="$0"
