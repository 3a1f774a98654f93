# shellcheck shell=sh
# kodama session: the pod stays up until `kodama stop`. The main process (session/spec/manifests.ts):
#   sh -c KEEPALIVE kodama-session [WATCHDOG IDLE TICK GRACE DURATION]
# (The editor configs are copied before, by the container's postStart hook: pod/editorconfig.sh.)
# It waits to be stopped: with WATCHDOG (watchdog.sh's text: idle stop) that program
# takes over the process, else `sleep` in a loop (busybox has it); an image without sleep blocks on the
# container's open stdin instead. TERM/INT end it at once, so `stop` is quick, with its `sleep` (in a pod
# the container's end takes it anyway; run anywhere else, it would be left sleeping a day). No double dollar
# anywhere: Kubernetes turns it into one in a container's command. busybox sh and dash run it.
# The kubelet's TERM (the pod's end: a delete, an eviction, a preemption) comes to this process only: it is
# passed on to every process of this pod (KODAMA_POD_UID in its environment), which get up to 20 s of the
# pod's 30 s grace to record what they must (an agent run records its cut, agent/pod/runner.js). Before
# any is signalled, $HOME/.kodama/ending names this pod (`pod=UID`, written whole): a process that sees a
# child end first (the TERM reaches processes one by one) knows the pod is ending, not its work.
# Start hooks: each file in $HOME/.kodama/on-start.d is run by sh at the pod's start, in the background,
# without KODAMA_IDLE_IGNORE (what it starts is the session's activity). The session layer knows no hook's
# purpose: the agent layer installs one that resumes a run a pod's end cut off (agent/pod/resume.sh).
# shellcheck disable=SC2317 # run by the trap
pass_term() {
  pt=""
  # shellcheck disable=SC2013 # environ paths have no blanks
  for f in $(grep -l "KODAMA_POD_UID=$KODAMA_POD_UID" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; p=${p%/environ}
    [ "$p" = "$me" ] || [ "$p" = "$1" ] || { kill -TERM "$p" 2>/dev/null && pt="$pt $p"; }
  done
  # `kodama stop` marked this pod (stopmark.sh): nothing is recorded for a stop, so no wait (an interactive
  # shell that ignores TERM would hold the stop up)
  i=0; grep -qx "pod=$KODAMA_POD_UID" "$HOME/.kodama/stopped" 2>/dev/null && i=100
  while [ "$i" -lt 100 ]; do
    left=""; for p in $pt; do kill -0 "$p" 2>/dev/null && left=1; done
    [ -n "$left" ] || break
    if command -v sleep >/dev/null 2>&1; then sleep 0.2; else break; fi
    i=$((i + 1))
  done
}
# shellcheck disable=SC2317 # run by the trap
on_term() {
  kill "$!" 2>/dev/null
  [ -n "${KODAMA_POD_UID:-}" ] || exit 0
  d="$HOME/.kodama"
  mkdir -p "$d" 2>/dev/null && printf 'pod=%s\n' "$KODAMA_POD_UID" > "$d/.ending.$me" && mv -f "$d/.ending.$me" "$d/ending"
  pass_term "$!"
  exit 0
}
# this process's pid (the shell opens the file itself: no child), never a double dollar
me=""; read -r me _ < /proc/self/stat 2>/dev/null || :
trap on_term TERM INT
for h in "$HOME"/.kodama/on-start.d/*; do
  [ -f "$h" ] && (unset KODAMA_IDLE_IGNORE; exec sh "$h" < /dev/null > /dev/null 2>&1) &
done
if command -v sleep >/dev/null 2>&1; then
  # the idle watchdog in the background (not exec'd): this process keeps its TERM for the pod's processes
  if [ "$#" -gt 0 ]; then wd="$1"; shift; sh -c "$wd" kodama-idle "$@" & wait $!; exit $?; fi
  while :; do sleep 86400 & wait $!; done
fi
# no sleep: block on stdin (the container keeps it open); should it ever close, say why
while read -r _; do :; done
echo "kodama: this image has no sleep and the container's stdin closed" >&2
exit 1
