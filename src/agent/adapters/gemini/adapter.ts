/**
 * The Gemini CLI's adapter: everything kodama knows about that CLI (src/agent/adapters/types.ts).
 */
import { geminiStderr, geminiStream } from "./stream.ts";
import type { Adapter } from "../types.ts";
import { PROVIDERS } from "../../credentials/providers.ts";
import WRAP_SH from "./pod/wrap.sh" with { type: "text" };

/**
 * gemini (./pod/wrap.sh): the Gemini CLI 0.61 takes GOOGLE_GEMINI_BASE_URL as its own "gateway" auth type,
 * which its headless mode then refuses: a chosen auth type (the API key's) in ~/.gemini/settings.json lets it
 * use the base URL; its usage statistics off. Its own retries are left as they are (an unreachable API is
 * ended by kodama's runner; an overload waited out and continued). (Its system-defaults file would need every
 * parent directory not writable by others.)
 */
const WRAP: string = WRAP_SH;

export const gemini: Adapter<"gemini"> = {
  preset: {
    name: "gemini",
    summary: "Gemini CLI headless, every tool approved (--yolo; the pod is the sandbox), stream-json output",
    // --skip-trust: an untrusted folder turns --yolo back into approval mode (every write, every command denied)
    command: ["gemini", "--yolo", "--skip-trust", "--output-format", "stream-json"],
    promptArgs: [],
    continueArgs: ["--resume", "latest"],
    wrap: WRAP,
    // no relaunch of itself in a second Node (for a bigger heap): seconds less at every start
    env: { GEMINI_CLI_NO_RELAUNCH: "true", GEMINI_TELEMETRY_ENABLED: "false" },
    authEnv: ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"],
    // every release needs Node 20 or later
    install: { package: "@google/gemini-cli", version: "0.61.0", bin: "gemini", node: 20 },
    output: "gemini-stream-json",
    home: "~/.gemini",
    // the Gemini CLI 0.61 loads the first of .gemini/.env and .env from its working directory up (--skip-trust:
    // the folder is trusted), each variable the environment lacks: GOOGLE_GEMINI_BASE_URL there took the key
    // from GEMINI_API_KEY to the repository's host, HTTPS_PROXY to its proxy. Both are checked (fail closed).
    projectFiles: [
      { format: "dotenv", path: ".gemini/.env" },
      { format: "dotenv", path: ".env" },
    ],
  },
  provider: "gemini",
  check: {
    wire: "gemini",
    keys: PROVIDERS.gemini.keys,
    defaultModel: "gemini-2.5-pro",
  },
  model: { flag: "-m", also: "--model" },
  interactive: ["gemini", "--resume", "latest", "--yolo", "--skip-trust"],
  headless: "gemini -p",
  stream: { parser: geminiStream, stderr: geminiStderr },
};
