# kodama-idle-ignore
# The pod's side of the two-way sync's change detection (src/session/sync/podside.ts explains the rounds).
# Run by the sync loop (twoway.ts) as one kept-open exec, and once by `listPod` for a single full listing:
#   sh -c WATCH sh WORKDIR FULL TICK GIT EVENTS MARK [EVENTS_JS]
#   $1 WORKDIR  the workspace (exit 97 when it does not exist)
#   $2 FULL     a full listing every FULL rounds (x3 while the notifier runs: EVENT_FULL_FACTOR)
#   $3 TICK     the local side's pace (seconds between rounds, informational), or `once`: one full
#               listing, then the program ends (listPod)
#   $4 GIT      1: `.git` is synced and listed too
#   $5 EVENTS   1: run the node change notifier ($7, events.js) beside the walks where the pod has node
#   $6 MARK     SYNC_WATCHER_MARK (lifetime.ts) for the sync loop's watcher, empty for a listing: only there to be
#               seen on the command line by the idle watchdog (session/lifecycle/lifetime.ts), which then waits
#               for the sync to flush before it stops the pod
#   $7 EVENTS_JS  the notifier's program (events.js), run as `node -e`
# stdin: one line per round after the first (the local side paces the rounds); its end ends the program.
# stdout: rounds framed by `@full` or `@since` and `@end`; in between `stat -c '%s %Y %f %n'` lines (or
# GNU find's `%s %Ts %y %m %p`), md5sum lines, `L PATH<TAB>TARGET` and `D DIR` lines; `@events` while the
# notifier is up; `@stopping DEADLINE` when an idle stop is announced (before `@end`).
# It only looks: the mark on its first line keeps it from counting as activity for an idle stop.
# POSIX sh, as busybox sh and dash run it (no bashisms), with busybox applets only (find, stat, md5sum,
# awk, readlink, mktemp, sleep) plus the pod's own node for the notifier.
export KODAMA_IDLE_IGNORE=1
cd "$1" 2>/dev/null || exit 97
s=${KODAMA_IDLE_STATE:-/tmp/kodama-idle}.stopping
d=$(mktemp -d) || exit 95
trap 'rm -rf "$d"' EXIT
full=$2; git=$4; i=0; w=0; q=0; r=0; hp=
if [ "$3" = once ]; then echo > "$d/m0"; echo > "$d/m1"; echo > "$d/m2"
else echo > "$d/m0"; sleep 1; echo > "$d/m1"; echo > "$d/m2"; fi
if [ "$5" = 1 ] && [ -n "$7" ] && command -v node >/dev/null 2>&1; then
  node -e "$7" "$d" "$git" </dev/null >/dev/null 2>&1 & hp=$!
  trap 'kill "$hp" 2>/dev/null; rm -rf "$d"' EXIT
fi
pr() { if [ "$git" = 1 ]; then find . -path ./.kodama -prune -o "$@"; else find . \( -path ./.kodama -o -path ./.git \) -prune -o "$@"; fi; }
links() { while IFS= read -r l; do printf 'L %s\t%s\n' "$l" "$(readlink "$l")"; done; }
sums() { set --; while IFS= read -r f; do set -- "$@" "$f"; if [ $# -ge 200 ]; then md5sum "$@" 2>/dev/null; set --; fi; done; [ $# -eq 0 ] || md5sum "$@" 2>/dev/null; }
# GNU find prints each path's line itself (-printf: no stat process); busybox's find has no -printf
if [ "$(find . -maxdepth 0 -printf '%s %Ts' 2>/dev/null)" = "$(stat -c '%s %Y' .)" ]; then sp() { "$@" -printf '%s %Ts %y %m %p\n'; }
else sp() { "$@" -exec stat -c '%s %Y %f %n' {} +; }; fi
lsdirs() { while IFS= read -r dir; do echo "D $dir"; sp find "$dir" -mindepth 1 -maxdepth 1; done; }
# a chmod moves only the ctime: GNU find compares it with the marker; busybox's find has no -cnewer
if find . -maxdepth 0 -cnewer "$d/m0" >/dev/null 2>&1; then ch() { pr \( -newer "$m" -o -cnewer "$m" \) "$@"; }
else ch() { pr \( -newer "$m" -o -cmin -1 \) "$@"; }; fi
# The awk that reads one round's stat lines: it passes them on and writes down, for the round's follow-up,
# every symlink (L: its target is read) and, in a `since` round (mk = the marker's mtime, -1 in a full
# round), the files to hash (F) and the directories to list (D) whose mtime is the marker's second or
# later. The type is the first hex digit of the raw mode (8 file, 4 directory, a symlink), or find's %y.
aw() { awk -v mk="$1" -v F="$d/f" -v D="$d/d" -v L="$d/l" 'BEGIN { printf "" > F; printf "" > D; printf "" > L }
{ print
  if (length($3) == 1) { t = ($3 == "f") ? "8" : ($3 == "d") ? "4" : ($3 == "l") ? "a" : ""; n = substr($0, length($1) + length($2) + length($4) + 6) }
  else { t = (length($3) == 4) ? tolower(substr($3, 1, 1)) : ""; n = substr($0, length($1) + length($2) + length($3) + 4) }
  if (t == "a") print n > L
  else if (mk >= 0 && $2 >= mk) { if (t == "8") print n > F; else if (t == "4") print n > D } }' "$d/o"; }
prewalk() { [ -z "$hp" ] || { kill -0 "$hp" 2>/dev/null && [ -e "$d/ready" ] && r=1 || r=0; : > "$d/dirty"; }; }
postwalk() { echo > "$d/m$((w % 3))"; w=$((w+1)); }
while :; do
  m="$d/m$(( (w + 1) % 3 ))"
  # EVENT_FULL_FACTOR (podside.ts): full listings 3 times rarer while the notifier runs
  f=$full; [ "$r" = 1 ] && f=$((full * 3))
  if [ $((i % f)) -eq 0 ]; then
    echo @full || exit 0
    prewalk
    sp pr ! -name . > "$d/o"; aw -1
    [ -s "$d/l" ] && links < "$d/l"
    postwalk
  # EVENT_WALK_EVERY (podside.ts): a walk at least every 12 rounds even when the notifier saw nothing
  elif [ "$r" = 1 ] && [ ! -s "$d/dirty" ] && [ $q -lt 12 ] && kill -0 "$hp" 2>/dev/null; then
    echo @since || exit 0
    q=$((q+1))
  else
    echo @since || exit 0
    q=0; prewalk
    sp ch > "$d/o"
    if [ -s "$d/o" ]; then
      aw "$(stat -c %Y "$m")"
      [ -s "$d/f" ] && sums < "$d/f"
      [ -s "$d/d" ] && lsdirs < "$d/d"
      [ -s "$d/l" ] && links < "$d/l"
    fi
    postwalk
  fi
  [ "$r" = 1 ] && echo @events
  k=; [ -f "$s" ] && read -r k 2>/dev/null < "$s"; [ -z "$k" ] || echo "@stopping $k"
  echo @end || exit 0
  [ "$3" = once ] && exit 0
  i=$((i+1)); IFS= read -r _ || exit 0
done
