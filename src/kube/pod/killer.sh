# shellcheck shell=sh
# End a cut-off exec run (kube/exec.ts): `sh -c KILLER kodama-stop HEAD TAIL PGID`, the run's tag TAG being
# HEAD and TAIL joined (never whole in this shell's own command line, which would match itself). TERM to its
# process group (PGID, "-" when unknown), to every process whose command line carries TAG (the wrapper, from
# its first instant) or whose environment does (KODAMA_RUN=TAG, set by wraphead.sh: the command and children
# that left the group), KILL after 3 s; prints how many processes it found. (`grep -F` is broken in busybox
# 1.35.) busybox sh and dash run it.
#
# A run cut off while its exec was still opening may not have started yet: before looking, this leaves the
# mark /tmp/.kodama-cancelled-TAG, which wraphead.sh checks first and then never starts the command. A wrapper
# this look misses started after the mark was made, so it sees the mark. A mark whose run never came is removed
# by a later kill in the container once it is over an hour old.
t="$1$2"; h=${t#kodama-}; c=$(printf %.1s "$h"); pat="kodama-[$c]${h#?}"
mark="/tmp/.kodama-cancelled-$t"
: >"$mark" 2>/dev/null
find /tmp -maxdepth 1 -name '.kodama-cancelled-*' -mmin +60 -exec rm -f {} \; 2>/dev/null
tagged() {
  grep -l "KODAMA_RUN=$t" /proc/[0-9]*/environ 2>/dev/null
  grep -l "$pat" /proc/[0-9]*/cmdline 2>/dev/null
}
# sig SIGNAL PGID|-: to the group and to every tagged process; prints how many it reached
sig() {
  n=0; [ "$2" != - ] && kill -"$1" -"$2" 2>/dev/null && n=1
  for f in $(tagged); do p=${f#/proc/}; kill -"$1" "${p%/*}" 2>/dev/null && n=$((n+1)); done
  echo $n
}
found=$(sig TERM "$3"); i=0
while [ -n "$(tagged)" ] || { [ "$3" != - ] && kill -0 -"$3" 2>/dev/null; }; do
  [ $i -ge 30 ] && { sig KILL "$3" >/dev/null; break; }
  sleep 0.1; i=$((i+1))
done
# found and ended: no wrapper of this run is still to come
[ "$found" -gt 0 ] && rm -f "$mark"
echo "$found"
