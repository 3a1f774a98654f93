# shellcheck shell=sh
# The codex preset's wrap (agent/presets.ts): `sh -c WRAP codex ARGS…`. With OPENAI_BASE_URL set (read in
# the pod, never from an argument), a model provider of kodama's pointing there; then the CLI. busybox sh and
# dash run it.
if [ -n "${OPENAI_BASE_URL:-}" ]; then
  set -- "$@" -c model_provider=kodama -c "model_providers.kodama={name=\"kodama\",base_url=\"$OPENAI_BASE_URL\",env_key=\"OPENAI_API_KEY\",wire_api=\"responses\"}"
fi
exec "$0" "$@"
