# shellcheck shell=sh
# `sh -c RUNFILE kodama-runfile RUN FILE BYTES`: the first BYTES bytes of one of run RUN's own files (FILE:
# prompt, check or summary) on stdout, for `session pr`'s description (src/agent/forge/pr.ts). Exit 3: no such
# run or file. After prologue.sh; busybox sh and dash run it.
# shellcheck disable=SC2154 # runs is prologue.sh's
set -u
id="$1"; f="$2"; n="$3"
case "$id" in *[!0-9]* | '') echo "kodama: no agent run $id" >&2; exit 3 ;; esac
case "$f" in prompt | check | summary) ;; *) echo "kodama: not a run's file: $f" >&2; exit 2 ;; esac
case "$n" in *[!0-9]* | '') echo "kodama: not a byte count: $n" >&2; exit 2 ;; esac
if [ ! -f "$runs/$id/$f" ]; then exit 3; fi
head -c "$n" "$runs/$id/$f"
