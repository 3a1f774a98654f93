# shellcheck shell=sh
# `kodama_install PRESET PACKAGE VERSION BIN NODE EXIT_FAILED EXIT_MISSING`: a preset's CLI the image lacks,
# found in the namespace's read-only CLI cache when it holds that version, else installed with npm at its pinned version into the home volume ($HOME/.local, once per session: every later
# run finds it on the PATH the prologue sets). Quiet: one progress line on stderr
# (`kodama: installing claude 2.1.197 ... done (12 s)`); npm's own output goes to a log file on the home volume,
# and only its last lines are shown when the install fails. Two runs starting at once install once: the
# first takes a lock (mkdir; its pod and pid inside, so a lock left by a pod that is gone is taken over),
# the other waits for it and then finds the CLI. Needs `alive` (prologue.sh). npm is node, so
# NODE_EXTRA_CA_CERTS (a CA bundle the session was given) holds for it; the image user's own ~/.npmrc (its
# registry, cafile, proxy) is used although HOME is the session's volume. Too old a Node is said before npm.
kodama_install() {
  ki_preset="$1" ki_pkg="$2@$3" ki_ver="$3" ki_bin="$4" ki_node="$5" ki_failed="$6" ki_missing="$7"
  # the namespace's CLI cache (kodama-agent-clis, mounted read-only by kodama when it holds this version):
  # filled once by an install pod (pod/cachefill.sh), its .complete marker written last
  ki_cache="${KODAMA_CLI_CACHE:-/opt/kodama-clis}/$ki_pkg"
  if [ -f "$ki_cache/.complete" ] && [ -x "$ki_cache/node_modules/.bin/$ki_bin" ]; then
    PATH="$ki_cache/node_modules/.bin:$PATH"
    export PATH
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then return 1; fi
  ki_nv=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "${ki_nv:-0}" -lt "$ki_node" ] 2>/dev/null; then
    echo "kodama: the $ki_preset preset installs $ki_pkg, which needs Node >= $ki_node; the image has Node ${ki_nv:-?}: use an image with $ki_bin, or with a newer Node" >&2
    exit "$ki_failed"
  fi
  ki_ih=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6)
  if [ -n "$ki_ih" ] && [ "$ki_ih" != "$HOME" ] && [ -f "$ki_ih/.npmrc" ] && [ ! -f "$HOME/.npmrc" ] && [ -z "${npm_config_userconfig:-}" ]; then
    export npm_config_userconfig="$ki_ih/.npmrc"
  fi
  ki_dir="$HOME/.kodama/install"
  ki_log="$ki_dir/$ki_bin@$ki_ver.log"
  mkdir -p "$ki_dir" || exit "$ki_failed"
  # another run of this session installs it now: wait for it (at most 10 minutes), then use what it put there
  ki_waited=0
  while ! mkdir "$ki_dir/$ki_bin.lock" 2>/dev/null; do
    # a lock left by a pod that is gone (a restart mid-install) or a process that ended is no one's
    ki_owner=$(cat "$ki_dir/$ki_bin.lock/owner" 2>/dev/null)
    if [ -n "$ki_owner" ] && { [ "${ki_owner%%:*}" != "${KODAMA_POD_UID:-}" ] || ! alive "${ki_owner##*:}"; }; then
      rm -rf "$ki_dir/$ki_bin.lock"
      continue
    fi
    if [ "$ki_waited" -ge 600 ]; then
      echo "kodama: another run has been installing $ki_pkg for 10 minutes (remove $ki_dir/$ki_bin.lock if none is)" >&2
      exit "$ki_failed"
    fi
    sleep 1
    ki_waited=$((ki_waited + 1))
    if command -v "$ki_bin" >/dev/null 2>&1; then return 0; fi
  done
  echo "${KODAMA_POD_UID:-}:$$" > "$ki_dir/$ki_bin.lock/owner"
  if command -v "$ki_bin" >/dev/null 2>&1; then rm -rf "$ki_dir/$ki_bin.lock"; return 0; fi
  ki_t0=$(date +%s)
  printf 'kodama: installing %s %s for the %s preset (once per session, into the home volume) ... ' "$ki_bin" "$ki_ver" "$ki_preset" >&2
  if npm install --no-fund --no-audit --no-update-notifier --loglevel=http --prefix "$HOME/.local" "$ki_pkg" > "$ki_log" 2>&1; then
    rm -rf "$ki_dir/$ki_bin.lock"
    echo "done ($(($(date +%s) - ki_t0)) s)" >&2
  else
    rm -rf "$ki_dir/$ki_bin.lock"
    echo "failed" >&2
    echo "kodama: npm install $ki_pkg failed (the $ki_preset preset); the last lines of $ki_log:" >&2
    tail -n 15 "$ki_log" | sed 's/^/  /' >&2
    exit "$ki_failed"
  fi
  if ! command -v "$ki_bin" >/dev/null 2>&1; then
    echo "kodama: $ki_bin is still not on PATH after npm install (log: $ki_log)" >&2
    exit "$ki_missing"
  fi
  return 0
}
