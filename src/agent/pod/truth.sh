# shellcheck shell=sh
# A run's truth (agent/outcome/runtruth.ts), after prologue.sh; exit 3 when the run ID has no directory:
#   sh -c TRUTH kodama-truth read ID BYTES     the last BYTES of the run's log (its structured stream)
#   sh -c TRUTH kodama-truth write ID BYTES    truth.json from stdin, exactly BYTES (v4 exec cannot end
#                                              stdin), put in place by rename
# busybox sh and dash run it.
# shellcheck disable=SC2154 # runs is prologue.sh's
r="$runs/$2"
[ -d "$r" ] || exit 3
case "$1" in
  read) tail -c "$3" "$r/log" 2>/dev/null ;;
  write) head -c "$3" > "$r/truth.json.tmp" && mv -f "$r/truth.json.tmp" "$r/truth.json" ;;
  *) exit 2 ;;
esac
