# shellcheck shell=sh
# The clone init container's program for a session with several repositories (src/session/git/repos.ts
# multiCloneEnv): `sh -c CLONEMULTI kodama-clone CLONE`, where CLONE is pod/clone.sh's text. For each
# repository i (0 … KODAMA_CLONE_COUNT-1) it sets clone.sh's variables from KODAMA_CLONE_<KEY>_<i> (the
# workspace is /workspace/NAME, each value from the environment, never spliced into a text), says
# `kodama-repo: NAME` (the label: a checked directory name), and runs clone.sh; the first that fails ends
# it with that exit code. The eval only ever reads a variable whose name is built from the fixed keys below
# and the number i. No double dollar (Kubernetes turns it into one). busybox sh and dash run it.
set -u
n="${KODAMA_CLONE_COUNT:-0}"
case "$n" in *[!0-9]* | "") echo "kodama: KODAMA_CLONE_COUNT is not a number" >&2; exit 2 ;; esac
i=0
while [ "$i" -lt "$n" ]; do
  for k in WS MODE REPO BRANCH BASE NEW ORIGIN AUTH CRED CA SSH BUNDLE LABEL; do
    eval "v=\${KODAMA_CLONE_${k}_${i}:-}"
    # shellcheck disable=SC2154 # v is set by the eval above
    if [ -n "$v" ]; then export "KODAMA_CLONE_$k=$v"; else unset "KODAMA_CLONE_$k"; fi
  done
  printf 'kodama-repo: %s\n' "${KODAMA_CLONE_LABEL:-}"
  sh -c "$1" kodama-clone || exit $?
  i=$((i + 1))
done
