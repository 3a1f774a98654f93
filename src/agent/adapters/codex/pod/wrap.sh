# shellcheck shell=sh
# The codex preset's wrap (../adapter.ts): `sh -c WRAP codex ARGS…`. With OPENAI_BASE_URL set (read in
# the pod, never from an argument), a model provider of kodama's pointing there. Else, through the gateway's
# ChatGPT login (agent/gateway/chatgpt.ts): the auth.json that holds only the session's token is written
# (0600), and a provider of kodama's that uses that login goes to the gateway's /p/chatgpt/backend-api/codex
# (Codex's own ChatGPT provider would follow the account's workspace routing to chatgpt.com instead). Then
# the CLI. busybox sh and dash run it.
if [ -n "${OPENAI_BASE_URL:-}" ]; then
  set -- "$@" -c model_provider=kodama -c "model_providers.kodama={name=\"kodama\",base_url=\"$OPENAI_BASE_URL\",env_key=\"OPENAI_API_KEY\",wire_api=\"responses\"}"
elif [ -n "${KODAMA_CODEX_CHATGPT_URL:-}" ]; then
  d="${CODEX_HOME:-$HOME/.codex}"
  mkdir -p "$d" && (umask 077 && printf '%s\n' "$KODAMA_CODEX_AUTH_JSON" > "$d/auth.json")
  set -- "$@" -c "chatgpt_base_url=\"$KODAMA_CODEX_CHATGPT_URL\"" -c model_provider=kodama -c "model_providers.kodama={name=\"kodama\",base_url=\"$KODAMA_CODEX_CHATGPT_URL/codex\",wire_api=\"responses\",requires_openai_auth=true}"
fi
exec "$0" "$@"
