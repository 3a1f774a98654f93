# shellcheck shell=sh
# `sh -c LOGS kodama-logs RUN FOLLOW [FROM]`: the run's log; with FOLLOW=1, until the run has ended, from byte
# FROM (default 0: a follow taken up again after a cut stream goes on where it was), and `kodama-logs: run ID`
# on stderr first (the run `latest` named when it started). After prologue.sh.
# shellcheck disable=SC2154 # runs is prologue.sh's
set -u
id="$1"; follow="$2"; from="${3:-0}"
case "$from" in '' | *[!0-9]*) echo "kodama: not a byte offset: $from" >&2; exit 2 ;; esac
# shellcheck disable=SC2010 # run ids are numbers: other names are left out
if [ "$id" = latest ]; then id=$(ls "$runs" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1); fi
r="$runs/$id"
if [ -z "$id" ] || [ ! -d "$r" ]; then echo "kodama: no agent run ${id:-yet}" >&2; exit 3; fi
if [ "$follow" != 1 ]; then cat "$r/log"; exit 0; fi
echo "kodama-logs: run $id" >&2
off=$from
while :; do
  done_=0; { [ -f "$r/exit" ] || [ -f "$r/stopped" ]; } && done_=1
  pid=$(cat "$r/pid" 2>/dev/null); rpod=$(cat "$r/pod" 2>/dev/null)
  [ -n "$rpod" ] && [ "$rpod" != "${KODAMA_POD_UID:-}" ] && done_=1
  [ "$done_" = 0 ] && [ -n "$pid" ] && ! alive "$pid" && done_=1
  size=$(wc -c < "$r/log")
  if [ "$size" -gt "$off" ]; then tail -c +$((off + 1)) "$r/log" | head -c $((size - off)); off=$size; fi
  [ "$done_" = 1 ] && break
  sleep 1
done