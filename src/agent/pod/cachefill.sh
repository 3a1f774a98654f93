# shellcheck shell=sh
# `kodama_cache_fill DIR PACKAGE VERSION BIN REGISTRY`: what the install pod kodama-agent-clis-install-* runs
# (kodama's own image and environment, never the session's), once per namespace, CLI version and install
# source: DIR is the source's own entry of the PVC kodama-agent-clis (KEY/, a digest of package, version,
# registry and image). The tarball is fetched from REGISTRY (npm pack), its sha512 checked against the
# integrity the registry states for that version (the packument's dist.integrity: none stated is a
# failure), and npm installs that verified tarball into DIR/PACKAGE@VERSION.partial-POD-RANDOM/ (this try's
# own), renamed into place; `.complete` is written last (after a sync), so a session pod (which mounts DIR
# read-only) never uses half an install or an unverified one. Already complete: nothing to do.
# Safe to run again (issue 80: the install pod belongs to a Job, which retries it after a lost node): a try
# starts over from nothing, removing what an earlier try left (its partial folder, an entry without
# `.complete`); an earlier try's pod still running on a lost node meets its folder gone and fails, and a
# try that finds `.complete` written meanwhile by another keeps that entry. npm's output goes to DIR/PACKAGE@VERSION.log; a
# failure is one line on stderr and in the termination message (KODAMA_FILL_RESULT), exit 1, nothing left.
# KODAMA_CA_FILE (the certificates the user's NODE_EXTRA_CA_CERTS named, mounted from a ConfigMap at
# /etc/kodama/ca/ca.pem, as a session pod gets them) becomes Node's extra CA bundle and, with the system's
# CAs, npm's cafile. A registry whose certificate is not trusted is said so.
kodama_cache_fill() {
  kf_dir="$1/$2@$3"
  # this try's own folder: its pod's name and a random part (not the shell's pid: Kubernetes collapses a doubled dollar in a command)
  kf_tmp="$kf_dir.partial-$(cat /proc/sys/kernel/hostname 2>/dev/null || echo pod)-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
  kf_log="$kf_dir.log"
  kf_reg="$5"
  if [ -f "$kf_dir/.complete" ]; then return 0; fi
  mkdir -p "$(dirname "$kf_dir")" || exit 1
  # what an earlier try left: its partial folder (an older kodama's had no suffix), an unfinished entry
  rm -rf "$kf_dir" "$kf_dir".partial*
  mkdir -p "$kf_tmp" || exit 1
  : > "$kf_log"
  if [ -n "${KODAMA_CA_FILE:-}" ]; then
    NODE_EXTRA_CA_CERTS="$KODAMA_CA_FILE"
    export NODE_EXTRA_CA_CERTS
    # npm's own cafile (an image's npmrc may name one, which NODE_EXTRA_CA_CERTS does not change): the
    # system's CAs and the user's, so a registry the system trusts stays reachable (a cafile replaces them)
    for kf_sys in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
      [ -f "$kf_sys" ] || continue
      kf_ca="$HOME/kodama-ca.pem"
      cat "$kf_sys" "$KODAMA_CA_FILE" > "$kf_ca" || exit 1
      npm_config_cafile="$kf_ca"
      export npm_config_cafile
      break
    done
    if [ -z "${npm_config_cafile:-}" ]; then
      npm_config_cafile="$KODAMA_CA_FILE"
      export npm_config_cafile
    fi
  fi
  # the integrity the registry states for this version: its sha512 entry, required (one quick retry: npm
  # would spend over a minute retrying a registry that refuses, in silence to the start that waits)
  kf_sri=""
  if ! kf_view=$(npm view --registry "$kf_reg" --fetch-retries=1 --fetch-retry-mintimeout=2000 \
    --fetch-retry-maxtimeout=2000 "$2@$3" dist.integrity 2>> "$kf_log"); then
    kf_code=$(grep -m1 'npm ERR! code\|npm error code' "$kf_log" | sed 's/.*code *//')
    case "$kf_code" in
      *CERT* | *SELF_SIGNED* | *UNABLE_TO_VERIFY* | *UNABLE_TO_GET_ISSUER* | *ERR_TLS*)
        kodama_fill_fail "$kf_tmp" "$kf_log" "$2@$3: the registry $kf_reg's certificate is not trusted ($kf_code): name its CA bundle in NODE_EXTRA_CA_CERTS (your environment or env file): not cached" ;;
    esac
    kodama_fill_fail "$kf_tmp" "$kf_log" "$2@$3: the registry $kf_reg did not answer ($kf_code): not cached"
  fi
  for kf_w in $kf_view; do
    case "$kf_w" in sha512-*) kf_sri="$kf_w" ;; esac
  done
  if [ -z "$kf_sri" ]; then
    kodama_fill_fail "$kf_tmp" "$kf_log" "$2@$3 from $kf_reg: the registry states no sha512 integrity (dist.integrity) for it: not cached"
  fi
  kf_pack="$HOME/pack"
  rm -rf "$kf_pack" && mkdir -p "$kf_pack" || exit 1
  kf_bad="$2@$3 from $kf_reg: the tarball's sha512 does not match the integrity the registry states (dist.integrity): not cached"
  # one quick retry: npm would retry a tarball that fails its integrity for minutes
  if ! npm pack --registry "$kf_reg" --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=2000 \
    --pack-destination "$kf_pack" "$2@$3" >> "$kf_log" 2>&1; then
    # npm checks the stated integrity itself as it fetches
    if grep -q EINTEGRITY "$kf_log"; then kodama_fill_fail "$kf_tmp" "$kf_log" "$kf_bad"; fi
    kodama_fill_fail "$kf_tmp" "$kf_log" "$2@$3 from $kf_reg: npm pack failed (its log: $kf_log)"
  fi
  kf_tgz=""
  for kf_f in "$kf_pack"/*.tgz; do [ -f "$kf_f" ] && kf_tgz="$kf_f"; done
  kf_got=$(sha512sum < "${kf_tgz:-/dev/null}" | cut -d' ' -f1)
  kf_want=$(printf '%s' "${kf_sri#sha512-}" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  if [ -z "$kf_tgz" ] || [ "$kf_got" != "$kf_want" ]; then
    kodama_fill_fail "$kf_tmp" "$kf_log" "$kf_bad"
  fi
  if ! npm install --no-fund --no-audit --no-update-notifier --loglevel=http --registry "$kf_reg" --prefix "$kf_tmp" "$kf_tgz" >> "$kf_log" 2>&1; then
    echo "kodama: npm install $2@$3 failed; the last lines of its log:" >&2
    tail -n 15 "$kf_log" | sed 's/^/  /' >&2
    kodama_fill_fail "$kf_tmp" "$kf_log" "$2@$3 from $kf_reg: npm install failed (its log: $kf_log)"
  fi
  if [ ! -x "$kf_tmp/node_modules/.bin/$4" ]; then
    kodama_fill_fail "$kf_tmp" "$kf_log" "$2@$3: npm install put no node_modules/.bin/$4 under its prefix"
  fi
  # another try finished meanwhile: its entry stands
  if [ -f "$kf_dir/.complete" ]; then rm -rf "$kf_tmp"; return 0; fi
  rm -rf "$kf_dir"
  mv "$kf_tmp" "$kf_dir" || kodama_fill_fail "$kf_tmp" "$kf_log" "$2@$3: the install could not be put in place"
  printf '%s\n' "$kf_sri" > "$kf_dir/.integrity" || exit 2
  # the files on the (network) volume before the mark that says they are there
  sync
  : > "$kf_dir/.complete" || exit 2
}

# `kodama_fill_fail PARTIAL LOG MESSAGE`: nothing usable left, the reason said in one line, exit 1
kodama_fill_fail() {
  rm -rf "$1"
  echo "kodama: $3" >&2
  echo "$3" >> "$2"
  if [ -n "${KODAMA_FILL_RESULT:-}" ]; then printf '%s' "$3" > "$KODAMA_FILL_RESULT"; fi
  exit 1
}
