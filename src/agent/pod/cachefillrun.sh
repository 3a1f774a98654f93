# shellcheck shell=sh
# The install pod's program, after cachefill.sh (agent/clicache/clicache.ts: fillArgv):
#   sh -c FILL kodama-cache-fill DIR PACKAGE VERSION BIN REGISTRY
kodama_cache_fill "$@"
