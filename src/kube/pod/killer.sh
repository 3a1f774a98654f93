# shellcheck shell=sh
# End a cut-off exec run (kube/exec.ts): `sh -c KILLER kodama-stop TAG PGID`. TERM to its process group
# (PGID, "-" when unknown) and to every process whose environment carries its tag (KODAMA_RUN=TAG, set by
# wraphead.sh: children that left the group, or a command cut off before its PID arrived), KILL after 3 s;
# prints how many processes it found. (`grep -F` is broken in busybox 1.35.) busybox sh and dash run it.
tagged() { grep -l "KODAMA_RUN=$1" /proc/[0-9]*/environ 2>/dev/null; }
sig() {
  n=0; [ "$2" != - ] && kill -"$3" -"$2" 2>/dev/null && n=1
  for f in $(tagged "$1"); do p=${f#/proc/}; kill -"$3" "${p%/environ}" 2>/dev/null && n=$((n+1)); done
  echo $n
}
found=$(sig "$1" "$2" TERM); i=0
while [ -n "$(tagged "$1")" ] || { [ "$2" != - ] && kill -0 -"$2" 2>/dev/null; }; do
  [ $i -ge 30 ] && { sig "$1" "$2" KILL >/dev/null; break; }
  sleep 0.1; i=$((i+1))
done
echo "$found"
