# shellcheck shell=sh
# `sh -c STATUS kodama-status`: one status line per run, oldest first (agent.ts: STATUS_SCRIPT, parseRuns),
# after prologue.sh and status.sh.
# shellcheck disable=SC2154 # runs is prologue.sh's
set -u
[ -d "$runs" ] || exit 0
# shellcheck disable=SC2010 # run directories are numbers
for d in $(ls "$runs" | grep -E '^[0-9]+$' | sort -n); do run_status "$d"; done
