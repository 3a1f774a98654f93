# shellcheck shell=sh
# `sh -c FILES kodama-files N` with N paths on stdin (agent/group/compare.ts, `compare --diff A B`): each file at
# HEAD in the workspace, framed as `@@file SIZE` + its bytes + a newline, or `@@none` when HEAD lacks it
# (parseFiles). busybox sh and dash run it.
set -u
cd "${KODAMA_WORKSPACE:-$PWD}" || exit 1
left="$1"
while [ "$left" -gt 0 ] && IFS= read -r p; do
  left=$((left - 1))
  if git cat-file -e "HEAD:$p" 2>/dev/null; then echo "@@file $(git cat-file -s "HEAD:$p")"; git cat-file blob "HEAD:$p"; echo; else echo "@@none"; fi
done
