# shellcheck shell=sh
# kodama's exec wrapper (kube/exec.ts), `sh -c WRAP TAG CMD ARGS…`: a command the container cannot find is
# reported as such (the line `\036kodama-notfound`, exit 127), not as sh's 127; else the line
# `\036kodama-pid PID`, the shell's PID (the process group's leader), and the environment tagged with the
# run's id TAG, which every process the command starts inherits (pod/killer.sh ends them by it).
command -v -- "$1" >/dev/null 2>&1 || { printf '\036kodama-notfound\n'; exit 127; }
printf '\036kodama-pid %s\n' "$$"; export KODAMA_RUN="$0"
