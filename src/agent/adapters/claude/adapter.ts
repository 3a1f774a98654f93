/**
 * Claude Code's adapter: everything kodama knows about that CLI (src/agent/adapters/types.ts).
 */
import { claudeStream } from "./stream.ts";
import { type Adapter, ANTHROPIC_KEY } from "../types.ts";
import { keyWay } from "../../credentials/providers.ts";

export const claude: Adapter<"claude"> = {
  preset: {
    name: "claude",
    summary:
      "Claude Code in print mode, permissions skipped (the pod is the sandbox), stream-json in and out (agent say)",
    // stream-json input: the prompt and what `agent say` sends are user lines on its stdin (pod/runner.js)
    command: [
      "claude",
      "-p",
      "--input-format",
      "stream-json",
      "--output-format",
      "stream-json",
      "--verbose",
      "--dangerously-skip-permissions",
    ],
    promptArgs: [],
    continueArgs: ["--continue"],
    // --dangerously-skip-permissions is refused as root unless the CLI is told it is in a sandbox; its own
    // API retries uncapped (ten, with backoff: kodama's runner outlasts what is left); no updater
    env: {
      IS_SANDBOX: "1",
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    },
    authEnv: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"],
    // the last release whose engines accept Node 18 (the dev image's); 2.1.198 and later need Node 22
    install: { package: "@anthropic-ai/claude-code", version: "2.1.197", bin: "claude", node: 18 },
    output: "claude-stream-json",
    home: "~/.claude",
    // Claude Code 2.1.332 applies a project settings file's `env` over its own environment: a committed
    // ANTHROPIC_BASE_URL (or HTTPS_PROXY) there took the key from ANTHROPIC_API_KEY to the repository's host
    projectFiles: [
      { format: "json-env", path: ".claude/settings.json" },
      { format: "json-env", path: ".claude/settings.local.json" },
    ],
  },
  provider: "anthropic",
  check: {
    wire: "messages",
    keys: [
      ANTHROPIC_KEY,
      keyWay("anthropic", "ANTHROPIC_AUTH_TOKEN"),
      keyWay("anthropic", "CLAUDE_CODE_OAUTH_TOKEN"),
    ],
    defaultModel: "claude-sonnet-4-5",
  },
  model: { flag: "--model" },
  interactive: ["claude", "--continue", "--dangerously-skip-permissions"],
  headless: "claude -p",
  stream: { parser: claudeStream },
};
