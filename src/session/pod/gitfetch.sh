# `kodama session fetch`'s pod side (src/session/git/fetch.ts): the session's new commits as a git bundle.
#   sh -c FETCH kodama-fetch N
# stdin: exactly N lines, the local commits already here (older exec protocols, v4, cannot signal the end of
# stdin). stdout: the bundle of HEAD and every branch less those (nothing when there is nothing new).
# stderr: `kodama-fetch: ` lines kodama parses (MARK in fetch.ts, checked by a unit test): the branch, head
# and base; each branch's ref; the history's first commits; the count of new commits. Exit 127 without git,
# 3 without commits. POSIX sh, as busybox sh and dash run it (no bashisms).
set -u
cd "${KODAMA_WORKSPACE:-$PWD}" || exit 1
command -v git >/dev/null 2>&1 || { echo "kodama: git is not in the session image" >&2; exit 127; }
git rev-parse --verify -q HEAD >/dev/null 2>&1 || { echo "kodama: the workspace has no git commits (was it started with --repo?)" >&2; exit 3; }
not=""; left="$1"
while [ "$left" -gt 0 ] && read -r sha; do
  left=$((left - 1))
  case "$sha" in *[!0-9a-f]* | "") continue ;; esac
  git cat-file -e "$sha^{commit}" 2>/dev/null && not="$not ^$sha"
done
printf 'kodama-fetch: branch=%s head=%s base=%s\n' "$(git symbolic-ref --short -q HEAD)" "$(git rev-parse HEAD)" "$(git config kodama.base)" >&2
# every branch, not only HEAD's: an agent may commit on a branch of its own and switch back
git for-each-ref --format='kodama-fetch: ref=%(objectname) %(refname)' refs/heads >&2
# the history's first commits: a clone of the session's source has them (an unrelated repository does not)
git rev-list --max-parents=0 HEAD 2>/dev/null | head -n 8 | sed 's/^/kodama-fetch: root=/' >&2
# shellcheck disable=SC2086 # $not is a list of ^SHA words (hex only, checked above)
n=$(git rev-list --count HEAD --branches $not)
echo "kodama-fetch: new=$n" >&2
[ "$n" = 0 ] && exit 0
# shellcheck disable=SC2086 # as above
exec git bundle create - HEAD --branches $not 2>/dev/null
