# shellcheck shell=sh
# `agent attach`'s first-run state of Claude Code's interactive CLI (agent/runs/claudestate.ts), after prologue.sh
# and run under envload.sh, so its CLAUDE_CONFIG_DIR is the one the CLI gets (a `session env set` one too):
#   sh -c … kodama-claude-state read    the config file's path, the workspace, then `none`, `other` (not a
#                                       plain file: left alone) or `file` and its text
#   sh -c … kodama-claude-state write   its new text from stdin, through a file beside it (mode 0600),
#                                       renamed over it; never through a link
# Shell only (no node: Claude Code is a native program, and an image may have no node).
# shellcheck disable=SC2154 # ws is prologue.sh's
set -u
f="${CLAUDE_CONFIG_DIR:-${HOME:-/nonexistent}}/.claude.json"
case "$1" in
  read)
    # the workspace as the CLI's working directory names it (links resolved)
    printf '%s\n%s\n' "$f" "$(cd "$ws" 2>/dev/null && pwd -P || printf '%s' "$ws")"
    if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then
      echo other
    elif [ -f "$f" ]; then
      echo file
      cat "$f"
    else
      echo none
    fi
    ;;
  write)
    if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then exit 0; fi
    mkdir -p "$(dirname "$f")" || exit 1
    umask 077
    t="$f.kodama-$$"
    if cat > "$t" && mv -f "$t" "$f"; then exit 0; fi
    rm -f "$t"
    exit 1
    ;;
  *) exit 2 ;;
esac
