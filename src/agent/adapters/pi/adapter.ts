/**
 * pi's adapter: everything kodama knows about that CLI (src/agent/adapters/types.ts).
 */
import { piStream } from "./stream.ts";
import { type Adapter, ANTHROPIC_KEY } from "../types.ts";
import WRAP_SH from "./pod/wrap.sh" with { type: "text" };

/** pi (./pod/wrap.sh): ANTHROPIC_BASE_URL as its models.json's Anthropic base URL (pi reads no such variable). */
const WRAP: string = WRAP_SH;

export const pi: Adapter<"pi"> = {
  preset: {
    name: "pi",
    summary:
      "pi in print mode with its JSON events, on Anthropic (its tools run unasked: the pod is the sandbox)",
    command: ["pi", "-p", "--mode", "json", "--provider", "anthropic"],
    promptArgs: [],
    continueArgs: ["--continue"],
    wrap: WRAP,
    // no startup network (version check, package installs), no install telemetry
    env: { PI_OFFLINE: "1", PI_SKIP_VERSION_CHECK: "1", PI_TELEMETRY: "0" },
    authEnv: ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"],
    // 0.73 needs Node 20.6 or later
    install: { package: "@mariozechner/pi-coding-agent", version: "0.73.1", bin: "pi", node: 20 },
    output: "pi-json",
    home: "~/.pi",
    // pi 0.73.1 reads its working directory's .pi/: settings.json (merged over the user's: packages it
    // installs and loads, extension paths, shellPath), extensions/*.ts (code it runs), skills, prompts,
    // SYSTEM.md. Any of it could send the key elsewhere or run code before a tool is asked: the folder must
    // not be there at all (fail closed). AGENTS.md and .agents/skills are text for the model, kept.
    projectFiles: [{ format: "absent", path: ".pi" }],
  },
  provider: "anthropic",
  // the Messages API at ANTHROPIC_BASE_URL (./pod/wrap.sh's models.json), the key from ANTHROPIC_API_KEY
  check: { wire: "messages", keys: [ANTHROPIC_KEY], defaultModel: "claude-opus-4-7" },
  model: { flag: "--model" },
  interactive: ["pi", "--continue", "--provider", "anthropic"],
  headless: "pi -p",
  stream: { parser: piStream },
};
