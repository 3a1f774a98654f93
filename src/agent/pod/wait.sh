# shellcheck shell=sh
# `sh -c WAIT kodama-wait RUN`: wait until run RUN has ended (its exit code written, a stop, its pod gone, its
# runner gone), then print its id. kodama ends the exec at its own timeout. Exit 3: no such run. After
# prologue.sh.
# shellcheck disable=SC2154 # runs is prologue.sh's
set -u
id="$1"
# shellcheck disable=SC2010 # run ids are numbers: other names are left out
if [ "$id" = latest ]; then id=$(ls "$runs" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1); fi
r="$runs/$id"
if [ -z "$id" ] || [ ! -d "$r" ]; then echo "kodama: no agent run ${id:-yet}" >&2; exit 3; fi
while :; do
  [ -f "$r/exit" ] && break
  pid=$(cat "$r/pid" 2>/dev/null); rpod=$(cat "$r/pod" 2>/dev/null)
  [ -n "$rpod" ] && [ "$rpod" != "${KODAMA_POD_UID:-}" ] && break
  [ -n "$pid" ] && ! alive "$pid" && break
  sleep 1
done
echo "$id"
