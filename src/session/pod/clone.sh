# shellcheck shell=sh
# The clone init container's program (session/git/git.ts: gitInitContainer), `sh -c CLONE kodama-clone`, every
# value in its environment (cloneEnv), never spliced into this text:
#   KODAMA_CLONE_WS      the workspace            KODAMA_CLONE_IMAGE   the image (for the error without git)
#   KODAMA_CLONE_MODE    remote, or local (a repository on the laptop: its bundle comes over exec)
#   KODAMA_CLONE_REPO    the repository           KODAMA_CLONE_BRANCH  the branch asked for (remote)
#   KODAMA_CLONE_BASE    the base to create a new branch from (local: the branch to check out)
#   KODAMA_CLONE_NEW     the session's new branch  KODAMA_CLONE_ORIGIN  the local repository's upstream
#   KODAMA_CLONE_NAME, KODAMA_CLONE_EMAIL         git's identity
#   KODAMA_CLONE_AUTH    token, ssh or none       KODAMA_CLONE_CRED    the server whose credentials are mounted
#   KODAMA_CLONE_CA      1: the server's CA is mounted    KODAMA_CLONE_SSH  the SSH Secret's name (messages)
#   KODAMA_CLONE_BUNDLE  where `start` puts a local repository's bundle
# First git is set up in ~/.gitconfig on the home volume (idempotent, so each start refreshes it): identity,
# the workspace as a safe directory, the `get`-only credential helper, the CA, ssh with the key copy. Then
# the clone, into the workspace only when it is empty (a `lost+found` of a fresh volume does not count), else
# it says the clone was skipped. Remote: it checks out the branch asked for when the remote has it, otherwise
# creates the new branch from the base (or the remote's default). Local: it waits for the bundle, takes every
# branch and tag from it, checks out the branch (or creates the session's from it), points origin at the
# upstream. Git's own error lines reach the log unchanged (`start` prints them); the last line is the report
# `kodama-git: branch=B commit=C`. No double dollar: Kubernetes turns it into one in a container's command.
# busybox sh and dash run it.
set -u
ws="$KODAMA_CLONE_WS"
say() { printf 'kodama: %s\n' "$*"; }
die() { printf 'kodama: %s\n' "$*" >&2; exit 1; }
command -v git >/dev/null 2>&1 || die "git is not in image $KODAMA_CLONE_IMAGE: set git.image to an image with git"
gc() { git config --global "$@"; }
[ -z "${KODAMA_CLONE_NAME:-}" ] || gc user.name "$KODAMA_CLONE_NAME"
[ -z "${KODAMA_CLONE_EMAIL:-}" ] || gc user.email "$KODAMA_CLONE_EMAIL"
gc --get-all safe.directory 2>/dev/null | grep -qxF "$ws" || gc --add safe.directory "$ws"
cred="${KODAMA_CLONE_CRED:-}"
if [ -n "$cred" ]; then
  # read-only: git's `store`/`erase` calls would try to rewrite the mounted Secret
  # shellcheck disable=SC2016 # the helper's $1 is git's
  [ "$KODAMA_CLONE_AUTH" = token ] && gc --replace-all "credential.$cred.helper" '!f() { test "$1" = get && exec git credential-store --file=/etc/kodama/git/credentials get; }; f'
  [ "${KODAMA_CLONE_CA:-}" = 1 ] && gc "http.$cred/.sslCAInfo" /etc/kodama/git/ca.crt
fi
if [ "$KODAMA_CLONE_AUTH" = ssh ]; then
  if [ -r /etc/kodama/ssh/ssh-privatekey ]; then
    mkdir -p /run/kodama/ssh && cp /etc/kodama/ssh/ssh-privatekey /run/kodama/ssh/id && chmod 600 /run/kodama/ssh/id || exit 1
    if [ -f /etc/kodama/ssh/known_hosts ]; then
      kh="-o UserKnownHostsFile=/etc/kodama/ssh/known_hosts -o StrictHostKeyChecking=yes"
    else
      mkdir -p "$HOME/.ssh"
      kh="-o UserKnownHostsFile=$HOME/.ssh/known_hosts -o StrictHostKeyChecking=accept-new"
    fi
    gc core.sshCommand "ssh -i /run/kodama/ssh/id -o IdentitiesOnly=yes $kh"
  else
    die "the SSH Secret ${KODAMA_CLONE_SSH:-} has no key ssh-privatekey"
  fi
fi
report() { printf 'kodama-git: branch=%s commit=%s\n' "$(git -C "$ws" symbolic-ref --short -q HEAD)" "$(git -C "$ws" rev-parse -q --verify HEAD)"; }
bundle="${KODAMA_CLONE_BUNDLE:-}"
others() {
  if [ "$KODAMA_CLONE_MODE" = local ]; then grep -vx -e 'lost+found' -e '.kodama-clone.bundle' -e '.kodama-clone.bundle.part'
  else grep -vx 'lost+found'; fi
}
mkdir -p "$ws"
# shellcheck disable=SC2012 # only whether there is a name
if [ -n "$(ls -A "$ws" | others)" ]; then
  say "$ws is not empty: clone skipped"
  # a bundle left from an earlier try
  [ "$KODAMA_CLONE_MODE" = local ] && rm -f "$bundle" "$bundle.part"
  git -C "$ws" rev-parse --git-dir >/dev/null 2>&1 && report
  exit 0
fi
repo="$KODAMA_CLONE_REPO"
from="${KODAMA_CLONE_BASE:-}"
new="${KODAMA_CLONE_NEW:-}"
if [ "$KODAMA_CLONE_MODE" = local ]; then
  say "waiting for $repo from kodama start"
  n=0
  while [ ! -f "$bundle" ]; do
    n=$((n + 1))
    [ $n -gt 3000 ] && die "the repository never arrived (kodama start sends it over exec): start the session again"
    sleep 0.2 2>/dev/null || sleep 1
  done
  cd "$ws" || exit 1
  git init -q . || exit 1
  git fetch -q --update-head-ok "$bundle" '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*' '+refs/remotes/*:refs/remotes/*' || exit 1
  rm -f "$bundle"
  say "cloned $repo${from:+ (branch $from)}"
  if [ -n "$new" ]; then git checkout -q -b "$new" ${from:+"$from"} || exit 1; say "created branch $new"
  elif [ -n "$from" ]; then git checkout -q "$from" || exit 1
  fi
  o="${KODAMA_CLONE_ORIGIN:-}"
  [ -z "$o" ] || git remote add origin "$o" 2>/dev/null || git remote set-url origin "$o"
else
  b="${KODAMA_CLONE_BRANCH:-}"
  if [ -n "$b" ]; then
    git ls-remote --exit-code --heads "$repo" "refs/heads/$b" >/dev/null
    rc=$?
    if [ $rc -eq 0 ]; then from="$b"
    elif [ $rc -eq 2 ] && [ -n "$from" ]; then new="$b"
    # no base to create it from: let the clone fail with git's own words
    elif [ $rc -eq 2 ]; then from="$b"
    else exit $rc
    fi
  fi
  tmp="$ws/.kodama-clone"
  rm -rf "$tmp"
  say "cloning $repo${from:+ (branch $from)}"
  set -- clone
  [ -n "$from" ] && set -- "$@" --branch "$from"
  git "$@" -- "$repo" "$tmp" || { rc=$?; rm -rf "$tmp"; exit $rc; }
  for f in "$tmp"/.[!.]* "$tmp"/..?* "$tmp"/*; do
    { [ -e "$f" ] || [ -L "$f" ]; } || continue
    mv "$f" "$ws"/ || exit 1
  done
  rmdir "$tmp"
  cd "$ws" || exit 1
  if [ -n "$new" ]; then git checkout -q -b "$new" || exit 1; say "created branch $new"; fi
fi
# the run logs and prompts under .kodama/runs never get committed; the base recorded
grep -qxF '/.kodama/runs/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info && echo '/.kodama/runs/' >> .git/info/exclude; }
base=$(git rev-parse -q --verify HEAD) && git config kodama.base "$base"
report
