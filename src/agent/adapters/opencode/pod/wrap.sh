# shellcheck shell=sh
# The opencode preset's wrap (../adapter.ts): `sh -c WRAP opencode ARGS…`. OpenCode 1.18 reads
# ANTHROPIC_BASE_URL as the Anthropic SDK's base, which ends in /v1 (it posts to {base}/messages), while
# Claude Code's (a gateway's, kodama's) has no /v1: it is added when missing. Then the CLI. busybox sh and
# dash run it.
case "${ANTHROPIC_BASE_URL:-}" in
"" | */v1 | */v1/) ;;
*) ANTHROPIC_BASE_URL="${ANTHROPIC_BASE_URL%/}/v1" && export ANTHROPIC_BASE_URL ;;
esac
exec "$0" "$@"
