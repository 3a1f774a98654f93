# shellcheck shell=sh
# `run_status ID`: the status line of one run, its files read with the shell's own `read` (no process per
# file: `compare` reads eight replicas at once). `rd VAR FILE` sets VAR to FILE's first line, or "" when there
# is none. A run cut off by its pod's end (RUN/cut, runner.js) is running: the session's next pod resumes it.
# A tab-separated line: id, state (exited, stopped, interrupted, running, starting, lost), exit code,
# started, ended, pid, has a check (1), the check's exit code, the run it continues, git's `COMMITS FILES`,
# ended-by, truth.json and the Node runner's state.json (agent.ts: parseRuns). Sourced after prologue.sh.
# shellcheck disable=SC2154 # runs is prologue.sh's
:
rd() { eval "$1="; { IFS= read -r "$1" < "$2"; } 2>/dev/null; :; }
run_status() {
  r="$runs/$1"; rd pid "$r/pid"; rd code "$r/exit"; rd rpod "$r/pod"
  if [ -n "$code" ]; then st=exited; rd eb "$r/ended-by"; [ "$eb" = interrupted ] && st=interrupted
  elif [ -f "$r/stopped" ]; then st=stopped
  elif [ -f "$r/cut" ]; then st=running
  elif [ -n "$rpod" ] && [ "$rpod" != "${KODAMA_POD_UID:-}" ]; then st=interrupted
  elif [ -n "$pid" ] && alive "$pid"; then st=running
  elif [ -z "$pid" ]; then st=starting
  else rd code "$r/exit"; if [ -n "$code" ]; then st=exited; else st=lost; fi; fi
  if [ -f "$r/stopped" ]; then rd seen "$r/stop-seen"; [ "$st" = exited ] && [ "$seen" = 0 ] || st=stopped; fi
  ck=0; [ -s "$r/check" ] && ck=1
  rd started "$r/started"; rd ended "$r/ended"; [ -n "$ended" ] || rd ended "$r/stopped"
  rd ckexit "$r/check-exit"; rd cont "$r/continues"
  rd git "$r/git"; rd endedby "$r/ended-by"; rd truth "$r/truth.json"
  rd rstate "$r/state.json"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$st" "$code" "$started" "$ended" "$pid" "$ck" "$ckexit" "$cont" "$git" "$endedby" "$truth" "$rstate"
}
