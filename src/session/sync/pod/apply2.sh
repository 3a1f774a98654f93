# The two-way sync's apply in the pod (src/session/sync/podside.ts applyStream builds its stdin; the sync
# loop runs it as one exec, or through the kept-open channel, channel.sh):
#   sh -c APPLY2 sh WORKDIR
# stdin: `LENGTH\n`, then a tar archive of that length whose last member is `.kodama/ops`, one operation
# a line: `OP<TAB>EXPECT<TAB>PATH` (OP F put the staged file or link in place, R remove, Dmmmm make a
# directory of that mode, X skip; EXPECT the `%s %Y %f` stat key the path must still have, `-` absent,
# `*` whatever; PATH with `\` and newline escaped as `\\` and `\n`).
# stdout: `skip PATH` for an operation whose path changed since the plan, `fail PATH` for one that failed.
# Exit 0 (96 no length, 97 no workdir, 98 the plan failed, 99 the archive did not extract).
# The same protocol as apply.js (the node program for the channel): tests/_apply_spec.ts specifies it,
# and both are tested from it. POSIX sh, as busybox sh and dash run it (no bashisms), busybox applets.
umask 0
IFS= read -r n || exit 96
mkdir -p "$1" && cd "$1" || exit 97
st=.kodama/sync-stage
(umask 077; [ -d .kodama ] || { mkdir .kodama && : > .kodama/.made-by-sync; }) || exit 97
rm -rf "$st" && (umask 077 && mkdir "$st") || exit 97
head -c "$n" | (cd "$st" && tar -xof -) || exit 99
o="$st/.kodama/ops"; k="$st/.kodama/keys"
[ -f "$o" ] || exit 99
tab=$(printf '\t')
: > "$k"
set --
while IFS= read -r l; do
  r=${l#*"$tab"}; e=${r%%"$tab"*}; p=${r#*"$tab"}
  case $e in '*') continue ;; esac
  case $p in *\\*) continue ;; esac
  set -- "$@" "./$p"
  if [ $# -ge 200 ]; then stat -c '%s %Y %f %n' "$@" >> "$k" 2>/dev/null; set --; fi
done < "$o"
if [ $# -gt 0 ]; then stat -c '%s %Y %f %n' "$@" >> "$k" 2>/dev/null; fi
awk -F "$tab" 'FILENAME == ARGV[1] { if (match($0, /^[0-9]+ [0-9]+ [0-9a-fA-F]+ \.\//)) key[substr($0, RLENGTH + 1)] = substr($0, 1, RLENGTH - 3); next }
{ p = $0; sub(/^[^\t]*\t[^\t]*\t/, "", p)
  if ($2 == "*") v = "ok"; else if (index(p, "\\")) v = "chk"; else { c = (p in key) ? key[p] : "-"; v = (c == $2) ? "ok" : "skip" }
  print v "\t" $1 "\t" $2 "\t" p }' "$k" "$o" > "$st/.kodama/plan" || exit 98
cur() { if [ -e "$1" ] || [ -L "$1" ]; then stat -c '%s %Y %f' "$1"; else echo -; fi; }
fl() {
  [ $# -gt 0 ] || return 0
  if [ "$gk" = R ]; then rm -f "$@" 2>/dev/null; else mv -f "$@" "./$g" 2>/dev/null; fi
  for s; do if [ -e "$s" ] || [ -L "$s" ]; then s=${s#"$st/"}; printf 'fail %s\n' "${s#./}"; fi; done
}
g=; gk=; set --
while IFS= read -r l; do
  v=${l%%"$tab"*}; r=${l#*"$tab"}; op=${r%%"$tab"*}; r=${r#*"$tab"}; e=${r%%"$tab"*}; p=${r#*"$tab"}
  if [ "$v" = chk ]; then
    p=$(printf '%b_' "$p"); p=${p%_}
    [ "$e" = "*" ] || [ "$(cur "./$p")" = "$e" ] || v=skip
  fi
  if [ "$v" = skip ] || [ "$op" = X ]; then printf 'skip %s\n' "$p"; continue; fi
  case $p in */*) d=${p%/*}/ ;; *) d= ;; esac
  if [ "$op" = F ] && [ -d "./$p" ] && [ ! -L "./$p" ]; then
    fl "$@"; set --
    rmdir "./$p" 2>/dev/null || { printf 'skip %s\n' "$p"; continue; }
  fi
  if [ "$op" = R ] && [ -d "./$p" ] && [ ! -L "./$p" ]; then op=RD; fi
  if [ $# -gt 0 ] && { [ "$op" != "$gk" ] || [ "$d" != "$g" ] || [ $# -ge 200 ]; }; then fl "$@"; set --; fi
  case $op in
    F) gk=F; g=$d; set -- "$@" "$st/$p" ;;
    R) gk=R; g=$d; set -- "$@" "./$p" ;;
    RD) rmdir "./$p" 2>/dev/null || printf 'skip %s\n' "$p" ;;
    D*)
      if [ -L "./$p" ] || { [ -e "./$p" ] && [ ! -d "./$p" ]; }; then rm -f "./$p"; fi
      mkdir -p "./$p" && chmod "${op#D}" "./$p" || printf 'fail %s\n' "$p" ;;
  esac
done < "$st/.kodama/plan"
fl "$@"
rm -rf "$st"
[ -f .kodama/.made-by-sync ] && rm -f .kodama/.made-by-sync && rmdir .kodama 2>/dev/null
exit 0
