# kodama-idle-ignore
# A background sync's acknowledgement of an announced idle stop (src/session/lifecycle/lifetime.ts; twoway.ts runs it):
#   sh -c ACK sh DEADLINE
# appends the deadline it read from the watcher's `@stopping DEADLINE` to the watchdog's ack file, one line.
# The mark on the first line: acknowledging is not activity. The path is lifetime.ts's IDLE_STATE (a unit
# test checks they agree). POSIX sh, as busybox sh and dash run it (no bashisms).
echo "$1" >> "${KODAMA_IDLE_STATE:-/tmp/kodama-idle}.ack"
