/**
 * OpenCode's adapter: everything kodama knows about that CLI (src/agent/adapters/types.ts).
 */
import { opencodeStream } from "./stream.ts";
import { type Adapter, ANTHROPIC_KEY } from "../types.ts";
import WRAP_SH from "./pod/wrap.sh" with { type: "text" };

/**
 * opencode (./pod/wrap.sh): ANTHROPIC_BASE_URL (a gateway's, a stand-in's, without /v1) gets the /v1
 * the Anthropic SDK in OpenCode 1.18 expects.
 */
const WRAP: string = WRAP_SH;

/** A model as OpenCode names it (provider/model): a bare name is its Anthropic provider's. */
export const opencodeModel = (m: string): string => m.includes("/") ? m : `anthropic/${m}`;

export const opencode: Adapter<"opencode"> = {
  preset: {
    name: "opencode",
    summary:
      "OpenCode run, every permission approved (--auto; the pod is the sandbox), JSON events, Anthropic",
    command: ["opencode", "run", "--format", "json", "--auto"],
    promptArgs: [],
    continueArgs: ["--continue"],
    wrap: WRAP,
    // no update check or self-update, no models.dev catalogue fetch (its bundled one), no share links; the
    // project's opencode.json/.jsonc and .opencode/opencode.json are not read (a repository cannot define a
    // provider, a base URL, an {env:…} header, an MCP server or a plugin package: its .opencode/ plugins and
    // tools are still loaded, so that folder is checked, below)
    env: {
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_SHARE: "1",
      OPENCODE_DISABLE_PROJECT_CONFIG: "1",
    },
    authEnv: ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"],
    // a Bun-compiled binary (from the platform package opencode-linux-x64 &c.); its launcher is Node's
    install: { package: "opencode-ai", version: "1.18.33", bin: "opencode", node: 18 },
    output: "opencode-json",
    home: "~/.local/share/opencode",
    // OpenCode 1.18.33 read a committed opencode.json's provider.anthropic.options.baseURL (and
    // .opencode/opencode.jsonc's) and sent ANTHROPIC_API_KEY there; OPENCODE_DISABLE_PROJECT_CONFIG=1 stops
    // both, but .opencode/plugin/*.js still ran: both are checked as allow-lists (fail closed). Its .env is
    // not read (Bun's autoload is off in its binary: seen with a loopback listener).
    projectFiles: [
      { format: "opencode-config", path: "opencode.json" },
      { format: "opencode-config", path: "opencode.jsonc" },
      { format: "opencode-dir", path: ".opencode" },
    ],
  },
  provider: "anthropic",
  // its Anthropic provider, the key from ANTHROPIC_API_KEY only (the base URL as Claude Code's: its wrap adds
  // the /v1 OpenCode's SDK wants)
  check: { wire: "messages", keys: [ANTHROPIC_KEY], defaultModel: "claude-sonnet-4-5" },
  // OpenCode names a model provider/model
  model: { flag: "-m", also: "--model", name: opencodeModel },
  interactive: ["opencode", "--continue"],
  headless: "opencode run",
  stream: { parser: opencodeStream },
};
