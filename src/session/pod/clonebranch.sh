# A clone's own branch, made in its workspace at the source's HEAD (src/session/volumes/clone.ts afterClone):
#   sh -c BRANCH kodama-clone BRANCH
# stdout: three lines, the branch checked out, the commit (recorded as `git config kodama.base`), the
# branch the source was on (empty when detached). Exit 10 when the workspace is not a git work tree, 3
# without a workspace, else git's. POSIX sh, as busybox sh and dash run it (no bashisms).
cd "$KODAMA_WORKSPACE" || exit 3
git rev-parse --git-dir >/dev/null 2>&1 || exit 10
from=$(git symbolic-ref --short -q HEAD || true)
git checkout -q -b "$1" && git config kodama.base "$(git rev-parse HEAD)" &&
git symbolic-ref --short HEAD && git rev-parse HEAD && printf '%s\n' "$from"
