# shellcheck shell=sh
# `sh -c STOPMARK kodama-stopmark`: `kodama stop` tells the pod it is a stop before it deletes the session's
# Job (issue 80). Writes $HOME/.kodama/stopped (the home volume: the next pod reads it) with the uid of
# the pod being stopped and when, atomically. The agent runner does not resume a run cut off in that pod:
# a stop is a person's, not the cluster's (src/session/lifecycle/workload.ts: STOP_MARK).
set -u
d="${HOME:-/home/kodama}/.kodama"
mkdir -p "$d" || exit 1
t="$d/.stopped.$$"
printf 'pod=%s\nat=%s\n' "${KODAMA_POD_UID:-}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$t" && mv -f "$t" "$d/stopped"
