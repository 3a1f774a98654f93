# shellcheck shell=sh
# `sh -c STOP kodama-stop RUN [taken-over]`: end a run's process group (TERM, then KILL after 10 s); prints the
# run id it stopped. `taken-over` (agent attach) is recorded as the run's ended-by. After prologue.sh.
# shellcheck disable=SC2154 # runs is prologue.sh's
set -u
id="$1"; why="${2:-}"
# shellcheck disable=SC2010 # run ids are numbers: other names are left out
if [ "$id" = latest ]; then id=$(ls "$runs" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1); fi
r="$runs/$id"
if [ -z "$id" ] || [ ! -d "$r" ]; then echo "kodama: no agent run ${id:-yet}" >&2; exit 3; fi
if [ -f "$r/exit" ] || [ -f "$r/stopped" ]; then echo "kodama: agent run $id has already ended" >&2; echo "$id"; exit 0; fi
rpod=$(cat "$r/pod" 2>/dev/null)
if [ -n "$rpod" ] && [ "$rpod" != "${KODAMA_POD_UID:-}" ]; then echo "kodama: agent run $id has already ended (interrupted)" >&2; echo "$id"; exit 0; fi
pid=$(cat "$r/pid" 2>/dev/null)
date -u +%Y-%m-%dT%H:%M:%SZ > "$r/stopped"
if [ "$why" = taken-over ]; then echo taken-over > "$r/ended-by"; fi
if [ -n "$pid" ]; then kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; fi
i=0; while [ -n "$pid" ] && alive "$pid" && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
[ -n "$pid" ] && alive "$pid" && { kill -KILL -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; }
echo "$id"