# shellcheck shell=sh
# The install pod's init container (agent/clicache/clicache.ts: probeArgv), in the session's image, with nothing of
# the session's (no env, no volume): exit 3 (IN_IMAGE_EXIT) when there is nothing to cache for that image —
# it has BIN on its PATH already, or no `node` to run a CLI from the cache — so nothing is installed for it;
# 0 otherwise, and the install container (kodama's own image) runs.
#   sh -c PROBE kodama-cli-probe BIN
if command -v "$1" >/dev/null 2>&1; then exit 3; fi
if ! command -v node >/dev/null 2>&1; then exit 3; fi
exit 0
