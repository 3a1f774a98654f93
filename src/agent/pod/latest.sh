# shellcheck shell=sh
# The status line of the latest run only (none without runs), found without a process (agent.ts:
# LATEST_STATUS_SCRIPT), after prologue.sh and status.sh; its id is left in `$id` for what follows
# (compare's gather.sh).
# shellcheck disable=SC2154 # runs is prologue.sh's
id=""
for d in "$runs"/*; do
  d="${d##*/}"
  case "$d" in "" | *[!0-9]*) continue ;; esac
  if [ -z "$id" ] || [ "$d" -gt "$id" ] 2>/dev/null; then id="$d"; fi
done
if [ -n "$id" ]; then run_status "$id"; fi
