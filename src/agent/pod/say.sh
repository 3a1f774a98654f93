# shellcheck shell=sh
# `sh -c SAY kodama-say RUN BYTES`: put a message (BYTES of JSON on stdin: {kind: say|interrupt, text})
# into run RUN's inbox for its runner (runner.js), atomically (a hidden temporary file, then a rename), and
# wait (10 s at most) for the runner to take it. Prints `HOW ID` last: sent (in the running conversation:
# the CLI echoed it back), pending (written to the live CLI's input, not echoed back yet: its next turn
# takes it, else the runner queues it again; then the run's agent), queued (for its next turn; then the
# run's agent), kept (the run ended meanwhile: the session's next run carries it), waiting (not taken yet:
# the runner takes it when it can), ended (the run had
# ended: the message was taken back, nothing is left behind), nomessages (the run's runner takes none: a
# custom command, an image without Node). Exit 3: no such run. After prologue.sh.
# shellcheck disable=SC2154 # runs is prologue.sh's
set -u
id="$1"; bytes="$2"
# shellcheck disable=SC2010 # run ids are numbers: other names are left out
if [ "$id" = latest ]; then id=$(ls "$runs" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1); fi
r="$runs/$id"
if [ -z "$id" ] || [ ! -d "$r" ]; then echo "kodama: no agent run ${id:-yet}" >&2; exit 3; fi
pid=$(cat "$r/pid" 2>/dev/null); rpod=$(cat "$r/pod" 2>/dev/null)
over() {
  [ -f "$r/exit" ] || [ -f "$r/closed" ] || [ -f "$r/stopped" ] && return 0
  [ -n "$rpod" ] && [ "$rpod" != "${KODAMA_POD_UID:-}" ] && return 0
  [ -n "$pid" ] && ! alive "$pid"
}
if over; then echo "ended $id"; exit 0; fi
# a custom command is run once by the sh runner, which takes no messages
ag=$(cat "$r/agent" 2>/dev/null)
if [ "$ag" = custom ]; then echo "nomessages $id"; exit 0; fi
umask 077
mkdir -p "$r/inbox" || exit 1
n=1; while ! mkdir "$r/inbox/.n$n" 2>/dev/null; do n=$((n + 1)); done
head -c "$bytes" > "$r/inbox/.m$n" || exit 1
mv -f "$r/inbox/.m$n" "$r/inbox/$n.json"
# where the message is now: said (in the conversation), sent (written to a live CLI, not yet echoed back),
# queued (for the next turn, or the next run once this one is over)
answer() {
  if [ -f "$r/said/$n.json" ]; then echo "sent $id"
  elif [ -f "$r/sent/$n.json" ]; then echo "pending $id $(cat "$r/agent" 2>/dev/null)"
  elif [ -f "$r/queued/$n.json" ] && over; then echo "kept $id"
  elif [ -f "$r/queued/$n.json" ]; then echo "queued $id $(cat "$r/agent" 2>/dev/null)"
  else return 1; fi
}
i=0
while [ -f "$r/inbox/$n.json" ] && ! over && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
# written to a live CLI: the rest of the 10 s for it to echo the message back (it is in the conversation)
while [ -f "$r/sent/$n.json" ] && ! over && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
answer && exit 0
# not taken: take it back when the run is over or its runner takes no messages, else leave it to the runner
if { over || [ ! -f "$r/takes" ]; } && mv -f "$r/inbox/$n.json" "$r/inbox/.back$n" 2>/dev/null; then
  rm -f "$r/inbox/.back$n"
  if over; then echo "ended $id"; else echo "nomessages $id"; fi
  exit 0
fi
answer || echo "waiting $id"
