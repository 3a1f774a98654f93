# The diff of a session's HEAD against the commit it was cloned at (src/session/git/fetch.ts, agent compare):
#   sh -c DIFF kodama-diff [--src-prefix=a/NAME/ --dst-prefix=b/NAME/]
# stdout: `git diff [PREFIXES] BASE HEAD` (one repository of several: its paths as the workspace sees them). Exit 127 without git, 3 when the session records no base commit.
# POSIX sh, as busybox sh and dash run it (no bashisms).
set -u
cd "${KODAMA_WORKSPACE:-$PWD}" || exit 1
command -v git >/dev/null 2>&1 || { echo "kodama: git is not in the session image" >&2; exit 127; }
base=$(git config kodama.base) || { echo "kodama: the session records no base commit (it was not cloned with --repo)" >&2; exit 3; }
exec git diff "$@" "$base" HEAD
