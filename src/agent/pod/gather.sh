# shellcheck shell=sh
# `sh -c GATHER kodama-compare TAIL_BYTES [REPO…]` (agent/group/compare.ts), after prologue.sh, status.sh and latest.sh
# (which leave the latest run's id in $id): the latest run's status line, the git facts, the latest run's
# check tail and summary. Eight replicas are read at once, so it is cheap: git runs four times (status gives
# the branch, HEAD and the uncommitted count in one), and the tails (TAIL_BYTES) are cut to lines by kodama
# (parseGather), not by more processes here. Each section ends with a newline of its own, so a log without one
# cannot swallow the next marker. busybox sh and dash run it.
# shellcheck disable=SC2154 # ws and runs are prologue.sh's, id latest.sh's
tb="$1"; shift
cd "$ws" 2>/dev/null || exit 0
# the git facts of the repository in the current directory
git_facts() {
  echo "@@git"
  command -v git >/dev/null 2>&1 || return 0
  head=""; branch=""; dirty=0
  # --no-optional-locks: a refreshing status takes .git/index.lock, and an agent committing meanwhile fails
  # ("index.lock exists"): compare polls while agents work, so it only ever reads
  while IFS= read -r l; do
    case "$l" in
      "# branch.oid "*) head="${l#"# branch.oid "}" ;;
      "# branch.head "*) branch="${l#"# branch.head "}" ;;
      "#"* | "") ;;
      *) dirty=$((dirty + 1)) ;;
    esac
  done <<EOF
$(git --no-optional-locks status --porcelain=v2 --branch 2>/dev/null)
EOF
  if [ -n "$head" ] && [ "$head" != "(initial)" ]; then
    [ "$branch" = "(detached)" ] && branch=""
    base=$(git config kodama.base)
    echo "branch=$branch"
    echo "head=$head"
    echo "base=$base"
    [ -n "$base" ] && echo "commits=$(git rev-list --count "$base..HEAD" 2>/dev/null)"
    echo "dirty=$dirty"
    echo "@@numstat"
    [ -n "$base" ] && git diff --numstat "$base" HEAD 2>/dev/null
  fi
  return 0
}
# a session with several repositories: the names kodama recorded (checked directory names) follow TAIL_BYTES,
# each one's facts after `@@repo NAME`
if [ $# -eq 0 ]; then git_facts; fi
for r in "$@"; do
  case "$r" in "" | .* | */*) continue ;; esac
  echo "@@repo $r"
  if [ -d "$r" ]; then (cd "$r" && git_facts); fi
done
# the last TAIL_BYTES of the check's output and of the summary (else the log): cut to lines by parseGather
echo "@@check"
[ -n "$id" ] && [ -f "$runs/$id/check.log" ] && tail -c "$tb" "$runs/$id/check.log" && echo
if [ -n "$id" ] && [ -s "$runs/$id/summary" ]; then echo "@@summary"; tail -c "$tb" "$runs/$id/summary"; echo
elif [ -n "$id" ]; then echo "@@log"; tail -c "$tb" "$runs/$id/log" 2>/dev/null; echo; fi
echo "@@end"
