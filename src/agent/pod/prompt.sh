# shellcheck shell=sh
# `sh -c PROMPT kodama-prompt RUN`: the prompt run RUN was started with (for Retry: the same task again, a new
# conversation). Exit 3: no such run or no prompt. After prologue.sh.
# shellcheck disable=SC2154 # runs is prologue.sh's
set -u
id="$1"
# shellcheck disable=SC2010 # run ids are numbers: other names are left out
if [ "$id" = latest ]; then id=$(ls "$runs" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1); fi
r="$runs/$id"
if [ -z "$id" ] || [ ! -f "$r/prompt" ]; then echo "kodama: no agent run ${id:-yet}" >&2; exit 3; fi
cat "$r/prompt"
