/**
 * Qwen Code's adapter: everything kodama knows about that CLI (src/agent/adapters/types.ts).
 */
import { qwenStream } from "./stream.ts";
import { type Adapter, OPENAI_KEY } from "../types.ts";
import WRAP_SH from "./pod/wrap.sh" with { type: "text" };

/**
 * qwen (./pod/wrap.sh): Qwen Code 0.24's usage statistics, telemetry, update checks and background memory
 * extraction off in ~/.qwen/settings.json (keys the user set are kept).
 */
const WRAP: string = WRAP_SH;

export const qwen: Adapter<"qwen"> = {
  preset: {
    name: "qwen",
    summary:
      "Qwen Code headless, every tool approved (--yolo; the pod is the sandbox), an OpenAI-compatible API, stream-json output",
    // --auth-type openai: with a user settings file (the wrap's) and no auth type chosen it refuses to start
    command: ["qwen", "--yolo", "--auth-type", "openai", "--output-format", "stream-json"],
    promptArgs: [],
    continueArgs: ["--continue"],
    wrap: WRAP,
    // its telemetry and usage statistics off by the environment too; no notice that --yolo runs unsandboxed
    env: {
      QWEN_TELEMETRY_ENABLED: "false",
      QWEN_USAGE_STATISTICS_ENABLED: "false",
      QWEN_CODE_SUPPRESS_YOLO_WARNING: "1",
    },
    authEnv: ["OPENAI_API_KEY", "OPENAI_BASE_URL"],
    // its engines say Node 22 or later
    install: { package: "@qwen-code/qwen-code", version: "0.24.4", bin: "qwen", node: 22 },
    output: "qwen-stream-json",
    home: "~/.qwen",
    // Qwen Code 0.24.4 trusts every folder (its folder trust is off by default) and loads the first of
    // .qwen/.env and .env from its working directory up (variables the environment lacks: OPENAI_BASE_URL
    // there takes the key from OPENAI_API_KEY), and .qwen/settings.json, whose `env`, `modelProviders`
    // (a baseUrl + envKey), `security.auth.baseUrl`, `proxy`, custom headers, hooks and MCP servers each steer
    // the key or run code: that file is allowed only a few harmless keys (fail closed).
    projectFiles: [
      { format: "qwen-settings", path: ".qwen/settings.json" },
      { format: "dotenv", path: ".qwen/.env" },
      { format: "dotenv", path: ".env" },
    ],
  },
  provider: "openai",
  check: { wire: "chat", keys: [OPENAI_KEY], defaultModel: "qwen3-coder-plus" },
  model: { flag: "-m", also: "--model" },
  interactive: ["qwen", "--continue", "--yolo", "--auth-type", "openai"],
  headless: "qwen -p",
  stream: { parser: qwenStream },
};
