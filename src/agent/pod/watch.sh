# shellcheck shell=sh
# The watch over an agent run, for the plain-sh runner (runner.sh: a custom command, or a run in an image
# without Node; a preset's run with Node is watched by runner.js the same way). Functions only: runner.sh
# sources this text before its own, with `$run` the run's directory.
#
#   git_start      the commit the agent starts from, in head-start, so the run's commits are counted, and
#                  the work tree as it stands, in tree-start
#   git_end        `COMMITS FILES` in git once it ended: commits since head-start, files that differ
#                  between tree-start and the work tree now (tree-end)
#   run_watched    runs the agent ("$@", the prompt on stdin, its output appended to the log) under the
#                  watchdog; leaves its exit code in $code. An agent given `--input-format stream-json`
#                  (the claude preset in an image without Node) gets the prompt as one user line
#
# The watchdog (agent.stallTimeout, in KODAMA_STALL_SECONDS): progress is the bytes the agent writes, not
# its lines (a slow trickle of tokens is progress), and only bytes of lines that are not its model-API
# retries; a run that gains no such byte for that long is ended as stalled, one that only retries its model
# API (at least twice) for a minute as unreachable (ended-by). It ends the agent with TERM, then KILL.
# shellcheck disable=SC2154 # run is the runner's
:

# Lines that are an agent retrying its model API, not progress: Claude's api_retry, Codex's Reconnecting,
# the Gemini CLI's `Attempt N failed. Retrying with backoff...` on stderr and the stack trace under it.
retry_re='"subtype":"api_retry"|"message":"Reconnecting\.\.\.|^Attempt [0-9]+ failed\. Retrying with backoff|^ +at '

# the work tree as it stands, as a tree object in file $1: through a private index (a copy of the real one,
# so unchanged files are not hashed again), so the repository's own index is untouched; ignored files and
# kodama's own .kodama/ are not part of it
git_tree() {
  rm -f "$run/idx"
  ix=$(git rev-parse --git-path index 2>/dev/null) && [ -f "$ix" ] && cp "$ix" "$run/idx" 2>/dev/null
  if GIT_INDEX_FILE="$run/idx" git add -A -- . ':(exclude).kodama' >/dev/null 2>&1 &&
    GIT_INDEX_FILE="$run/idx" git write-tree > "$1.tmp" 2>/dev/null; then
    mv -f "$1.tmp" "$1"
  else
    rm -f "$1.tmp" "$1"
  fi
  rm -f "$run/idx"
}

# one repository's start and end, in the current directory, the files under $1 (the run's directory, or
# its repos/NAME for one repository of several)
git_start_in() {
  git rev-parse -q --verify HEAD > "$1/head-start" 2>/dev/null || rm -f "$1/head-start"
  if [ -s "$1/head-start" ]; then git_tree "$1/tree-start"; fi
}

# prints `COMMITS FILES` of the run in the current directory, from what git_start_in left under $1
git_end_in() {
  { IFS= read -r hs < "$1/head-start"; } 2>/dev/null
  c=$(git rev-list --count "$hs..HEAD" 2>/dev/null || echo 0)
  # the files the run changed: the work tree at its end against the work tree at its start (committed or
  # not, new files included), so what was there before it (sync brought it, an earlier edit) is not its
  f=""
  if [ -s "$1/tree-start" ]; then
    ts=""; te=""; git_tree "$1/tree-end"
    { IFS= read -r ts < "$1/tree-start"; IFS= read -r te < "$1/tree-end"; } 2>/dev/null
    [ -n "$te" ] && f=$(git diff --name-only "$ts" "$te" 2>/dev/null | wc -l)
  fi
  # no tree at the start (an index git could not write, a merge in progress): changed since head-start
  [ -n "$f" ] || f=$( { git diff --name-only "$hs" 2>/dev/null; git ls-files --others --exclude-standard -- . ':(exclude).kodama' 2>/dev/null; } | sort -u | wc -l)
  echo "$c $f" | tr -s ' '
}

# the repositories of a session with several: the directories its pod's KODAMA_REPOS names (kodama sets it
# for such a session only: nested repositories of a session with one or none are not counted as its own)
# that are one (/workspace/NAME, NAME a plain directory name: letters, digits, '.', '_', '-', not hidden),
# at most 64
git_repos() {
  k=0
  set -f # names, never patterns
  for d in ${KODAMA_REPOS:-}; do
    case "$d" in "" | .* | *[!A-Za-z0-9._-]*) continue ;; esac
    [ -e "$d/.git" ] || continue
    k=$((k + 1)); [ "$k" -gt 64 ] && break
    echo "$d"
  done
  set +f
}

git_start() {
  # a run resumed on a new pod (issue 80) keeps the start its first pod recorded: what it did before the cut
  # is its work too
  [ "${KODAMA_RESUMING:-}" = 1 ] && return 0
  rm -rf "$run/repos"
  git_start_in "$run"
  # the workspace is no repository: a session with several, each one's start under repos/NAME
  if [ ! -s "$run/head-start" ] && ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    for d in $(git_repos); do
      mkdir -p "$run/repos/$d" && (cd "$d" && git_start_in "$run/repos/$d")
    done
  fi
}

# `COMMITS FILES` in git once it ended; for several repositories the sums, then `NAME=COMMITS/FILES` each
git_end() {
  command -v git >/dev/null 2>&1 || return 0
  if [ -s "$run/head-start" ]; then
    git_end_in "$run" > "$run/git"
  elif [ -d "$run/repos" ]; then
    tc=0; tf=0; each=""; n=0
    for p in "$run"/repos/*/; do
      d="${p%/}"; d="${d##*/}"
      if [ ! -s "$run/repos/$d/head-start" ] || [ ! -d "$d" ]; then continue; fi
      # shellcheck disable=SC2046 # two numbers, split on purpose
      set -- $(cd "$d" && git_end_in "$run/repos/$d")
      [ $# -eq 2 ] || continue
      tc=$((tc + $1)); tf=$((tf + $2)); each="$each $d=$1/$2"; n=$((n + 1))
    done
    # none counted (no repository had a commit at the start): nothing known, as for one such repository
    if [ "$n" -gt 0 ]; then echo "$tc $tf$each" > "$run/git"; fi
  fi
}

# watchdog PID: ends the agent when it stalls or only retries its model API
watchdog() {
  wl=$(date +%s); wp=-1; wr=0
  lim=60; [ "$stall" -lt "$lim" ] && lim=$stall
  poll=5; [ "$stall" -lt 10 ] && poll=1
  while sleep "$poll"; do
    kill -0 "$1" 2>/dev/null || return 0
    r=$(grep -cE "$retry_re" "$run/log" 2>/dev/null)
    p=$(grep -vE "$retry_re" "$run/log" 2>/dev/null | wc -c)
    now=$(date +%s)
    if [ "$p" != "$wp" ]; then wp=$p; wl=$now; wr=$r; fi
    why=""
    # retrying only (and at least twice) since the last progress: the model API is not reachable
    if [ $((r - wr)) -ge 2 ] && [ $((now - wl)) -ge "$lim" ]; then
      why=unreachable; msg="the agent only retried its model API for ${lim}s: ended (is the model API reachable from the pod?)"
    elif [ $((now - wl)) -ge "$stall" ]; then
      why=stalled; msg="the agent made no progress for ${stall}s (agent.stallTimeout): ended"
    fi
    if [ -n "$why" ]; then
      echo "$why" > "$run/ended-by"; echo "kodama: $msg" >> "$run/log"
      kill -TERM "$1" 2>/dev/null; sleep 3; kill -KILL "$1" 2>/dev/null; return 0
    fi
  done
}

# the prompt as one stream-json user line (Claude Code's `--input-format stream-json`, when no Node runs
# runner.js): JSON-escaped by awk, lines joined with \n
prompt_line() {
  # split and join, not gsub: awks differ in what a backslash in gsub's replacement means
  awk 'function rep(s, c, r,   n, p, i, o) { n = split(s, p, c); o = p[1]; for (i = 2; i <= n; i++) o = o r p[i]; return o }
    BEGIN { ORS = ""; printf "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"" }
    { if (NR > 1) printf "\\n"; printf "%s", rep(rep(rep(rep($0, "\\", "\\\\"), "\"", "\\\""), "\t", "\\t"), "\r", "\\r") }
    END { printf "\"}]}}\n" }' "$run/prompt" > "$run/prompt.jsonl"
}

run_watched() {
  stall="${KODAMA_STALL_SECONDS:-0}"; case "$stall" in "" | *[!0-9]*) stall=0 ;; esac
  git_start
  in="$run/prompt"; prev=""
  for a in "$@"; do
    if { [ "$prev" = --input-format ] && [ "$a" = stream-json ]; } || [ "$a" = --input-format=stream-json ]; then prompt_line && in="$run/prompt.jsonl"; fi
    prev="$a"
  done
  "$@" < "$in" >> "$run/log" 2>&1 &
  apid=$!; wpid=""
  if [ "$stall" -gt 0 ]; then watchdog "$apid" & wpid=$!; fi
  wait "$apid"; code=$?
  [ -n "$wpid" ] && kill "$wpid" 2>/dev/null
  [ -s "$run/ended-by" ] && [ "$code" = 0 ] && code=124
  git_end
}
