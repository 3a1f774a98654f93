# shellcheck shell=sh
# `kodama_cache_fill DIR PACKAGE VERSION BIN`: what the install pod kodama-agent-clis-install-* runs, once
# per namespace and CLI version: npm installs PACKAGE@VERSION into DIR/PACKAGE@VERSION/ (the per-namespace
# PVC kodama-agent-clis), through a temporary directory renamed into place, and writes `.complete` last, so a
# session pod (which mounts DIR read-only) never uses half an install. Already complete: nothing to do.
# npm's output goes to DIR/PACKAGE@VERSION.log; its last lines are shown when it fails (exit 1). An image
# that has BIN already exits 3 with nothing written.
kodama_cache_fill() {
  kf_dir="$1/$2@$3"
  kf_tmp="$kf_dir.partial"
  kf_log="$kf_dir.log"
  if [ -f "$kf_dir/.complete" ]; then return 0; fi
  # the image has the CLI: nothing to cache (kodama records it and mounts nothing); exit 3 (IN_IMAGE_EXIT)
  if command -v "$4" >/dev/null 2>&1; then exit 3; fi
  mkdir -p "$(dirname "$kf_dir")" || exit 1
  rm -rf "$kf_tmp" "$kf_dir"
  mkdir -p "$kf_tmp" || exit 1
  if ! npm install --no-fund --no-audit --no-update-notifier --loglevel=http --prefix "$kf_tmp" "$2@$3" > "$kf_log" 2>&1; then
    echo "kodama: npm install $2@$3 failed; the last lines of its log:" >&2
    tail -n 15 "$kf_log" | sed 's/^/  /' >&2
    rm -rf "$kf_tmp"
    exit 1
  fi
  if [ ! -x "$kf_tmp/node_modules/.bin/$4" ]; then
    echo "kodama: npm install $2@$3 put no node_modules/.bin/$4 under its prefix" >&2
    rm -rf "$kf_tmp"
    exit 1
  fi
  mv "$kf_tmp" "$kf_dir" || exit 1
  : > "$kf_dir/.complete"
}
