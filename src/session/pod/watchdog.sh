# shellcheck shell=sh
# The idle watchdog of a session started with idle stop (session/lifecycle/lifetime.ts), the pod's main process once
# keepalive.sh has set the home up: `sh -c WATCHDOG kodama-idle IDLE TICK GRACE DURATION`. After IDLE seconds
# without activity (looked for every TICK seconds) it ends the pod cleanly (exit 0), its reason in the
# termination log; a connected background sync is given up to GRACE seconds to flush first. DURATION is IDLE
# in words, for the messages. Activity: a process of this pod (KODAMA_POD_UID in its environment) that is not
# the main process's own (KODAMA_IDLE_IGNORE=1) nor marked kodama-idle-ignore on its command line, or a write
# under KODAMA_WORKSPACE. KODAMA_IDLE_STATE and KODAMA_TERMINATION_LOG (never set in a pod) move its files
# for a test. No double dollar anywhere: Kubernetes turns it into one in a container's command.
# busybox sh and dash run it.

trap 'exit 0' TERM INT
idle="$1"; tick="$2"; grace="$3"
idle_for="kodama: idle for $4"
reason="$idle_for (no process started through exec, no write under the workspace)"
st=${KODAMA_IDLE_STATE:-/tmp/kodama-idle}
touch "$st.0" "$st.1" 2>/dev/null; rm -f "$st.stopping" "$st.ack" 2>/dev/null
# without sleep, read's timeout where the shell has one (busybox's)
# shellcheck disable=SC3045,SC2162
nap() { if command -v sleep >/dev/null 2>&1; then sleep "$1" & wait $!; else read -t "$1" _ 2>/dev/null || :; fi; }
busy() {
  # a process of this pod that is neither this script's nor marked as only looking (no fixed-string grep: busybox's
  # stops at the first NUL of an environ file; GNU grep lists binary files that match all the same)
  # the processes of this pod (the listing's own grep among them), less the watchdog's own
  # shellcheck disable=SC2013 # environ paths have no blanks
  for f in $(grep -l "KODAMA_POD_UID=$KODAMA_POD_UID" /proc/[0-9]*/environ 2>/dev/null); do
    grep -q "KODAMA_IDLE_IGNORE=1" "$f" 2>/dev/null && continue
    grep -q "kodama-idle-ignore" "${f%environ}cmdline" 2>/dev/null && continue
    # gone meanwhile (the listing's own grep is among the matches): not activity
    grep -q "KODAMA_POD_UID=$KODAMA_POD_UID" "$f" 2>/dev/null || continue
    return 0
  done
  # a write under the workspace since two looks ago
  w=$(find "$KODAMA_WORKSPACE" -newer "$st.0" 2>/dev/null | head -n 1)
  mv -f "$st.1" "$st.0" 2>/dev/null; touch "$st.1" 2>/dev/null
  [ -n "$w" ]
}
# how many background syncs watch this pod (a process of one that forked for a moment counts twice: the wait
# then lasts a look longer); each mark as a pattern that does not match itself, so a grep looking for it is
# no watcher; the shell that runs a watcher fed through stdin and holds its output (kube/pod/hold.sh) is not
# another one
syncs() {
  n=0
  # the processes of this pod (the listing's own grep among them), less the watchdog's own
  # shellcheck disable=SC2013 # environ paths have no blanks
  for f in $(grep -l "KODAMA_POD_UID=$KODAMA_POD_UID" /proc/[0-9]*/environ 2>/dev/null); do
    grep -q "KODAMA_IDLE_IGNORE=1" "$f" 2>/dev/null && continue
    grep -q "kodama-exec-holde[r]" "${f%environ}cmdline" 2>/dev/null && continue
    grep -q "kodama-sync-watche[r]" "${f%environ}cmdline" 2>/dev/null && n=$((n + 1))
  done
  echo "$n"
}
last=$(date +%s)
while :; do
  nap "$tick"
  busy && last=$(date +%s)
  [ $(( $(date +%s) - last )) -ge "$idle" ] || continue
  n=$(syncs); how=
  if [ "$n" -gt 0 ]; then
    # announce (atomically: a watcher never reads half a line), then wait for every sync's ack
    dl=$(( $(date +%s) + grace ))
    echo "$dl" > "$st.stopping.new" && mv -f "$st.stopping.new" "$st.stopping"
    echo "$idle_for: waiting up to ${grace}s for $n background sync(s) to flush" >&2
    while [ "$(date +%s)" -lt "$dl" ]; do
      nap 1
      # the acks are read before looking for activity: what a flush sent before its ack is seen
      a=$(grep -c -x "$dl" "$st.ack" 2>/dev/null); a=${a:-0}
      if busy; then how=busy; break; fi
      if [ "$a" -ge "$(syncs)" ]; then how="the background sync flushed first"; break; fi
    done
    rm -f "$st.stopping" "$st.ack" 2>/dev/null
    if [ "$how" = busy ]; then
      echo "kodama: activity while the background sync flushed: not stopping" >&2
      last=$(date +%s); continue
    fi
    [ -n "$how" ] || how="${a:-0} of $n background sync(s) flushed, no answer from the rest in ${grace}s"
  fi
  echo "$reason" > "${KODAMA_TERMINATION_LOG:-/tmp/kodama-termination-log}" 2>/dev/null
  echo "$reason: stopping${how:+ ($how)}" >&2
  exit 0
done
