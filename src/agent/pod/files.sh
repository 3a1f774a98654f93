# shellcheck shell=sh
# `sh -c FILES kodama-files N` with N paths on stdin (agent/group/compare.ts, `compare --diff A B`): each file at
# HEAD in the workspace, framed as `@@file SIZE` + its bytes + a newline, or `@@none` when HEAD lacks it
# (parseFiles). busybox sh and dash run it.
set -u
cd "${KODAMA_WORKSPACE:-$PWD}" || exit 1
left="$1"
# a session with several repositories (the workspace is none): a path's first segment is its repository's
# directory (api/x.ts is x.ts in /workspace/api)
several=0
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || several=1
while [ "$left" -gt 0 ] && IFS= read -r p; do
  left=$((left - 1))
  d=.
  if [ "$several" = 1 ]; then
    d="${p%%/*}"; p="${p#*/}"
    case "$d" in "" | .*) d=/nonexistent ;; esac
  fi
  if git -C "$d" cat-file -e "HEAD:$p" 2>/dev/null; then echo "@@file $(git -C "$d" cat-file -s "HEAD:$p")"; git -C "$d" cat-file blob "HEAD:$p"; echo; else echo "@@none"; fi
done
