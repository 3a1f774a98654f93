/**
 * What an agent CLI's adapter (src/agent/adapters/NAME/adapter.ts) says about it: the one place that knows
 * that CLI. The tables the rest of kodama reads (PRESETS, the providers, the check, the model flags, the
 * interactive form, `agent say`'s words) are built from ./index.ts's ADAPTERS, a Record over the preset
 * names (src/config/agentnames.ts): a preset added there without its adapter fails to compile.
 */
import type { PresetName } from "../../config/agentnames.ts";
import { type KeyWay, keyWay, type Provider } from "../credentials/providers.ts";
import type { AgentEvent, J } from "../outcome/events.ts";

export type { KeyWay, Provider } from "../credentials/providers.ts";

/** The structured output of a run, for the stream parser (src/agent/outcome/stream.ts); `text` for custom. */
export type OutputFormat =
  | "claude-stream-json"
  | "codex-json"
  | "gemini-stream-json"
  | "opencode-json"
  | "pi-json"
  | "qwen-stream-json"
  | "text";

export interface PresetInstall {
  /** the npm package and its pinned version (one that runs on `node`'s major version) */
  package: string;
  version: string;
  /** the program it puts on PATH */
  bin: string;
  /** the oldest Node major version it runs on */
  node: number;
}

export interface Preset {
  name: PresetName;
  /** one line for `kodama agent presets` */
  summary: string;
  /** run headless; the prompt is on stdin */
  command: string[];
  /** after the command and any extra arguments (a variant's): what makes it read the prompt (`-`) */
  promptArgs: string[];
  /** put into the command to continue its last conversation: after `continueAt` words, else at its end */
  continueArgs: string[];
  continueAt?: number;
  /** a POSIX sh script that runs the CLI (`sh -c WRAP BIN ARGS…`): what needs the pod's environment */
  wrap?: string;
  /** set for the run (plain values, never secrets) */
  env: Record<string, string>;
  /** its credential and endpoint variables, forwarded from this machine (agent.forwardEnv replaces them) */
  authEnv: string[];
  install: PresetInstall;
  output: OutputFormat;
  /** where it keeps its conversations, on the home volume */
  home: string;
  /**
   * The project config files its CLI reads from the workspace that can set its environment (relative to
   * the workspace): a run is refused when one sets a variable only you choose (src/config/steering.ts;
   * pod/projcheck.js, docs/security.md). Each verified with the real CLI and two loopback listeners.
   */
  projectFiles: ProjectFile[];
}

/**
 * A file of the repository's that sets the CLI's variables: `json-env` (a JSON object's `env`), `dotenv`, or
 * `qwen-settings` (Qwen Code's project settings: its `env`, and only the keys pod/projcheck.js allows: a
 * provider, base URL, proxy, header, hook or MCP server there is refused); OpenCode's project config:
 * `opencode-config` (opencode.json/.jsonc: only keys that neither send a key nor run code, no
 * `{env:…}`/`{file:…}`) and `opencode-dir` (a `.opencode/` folder: only Markdown agents, commands and
 * skills, no plugins or tools); or `absent`: a file or folder the CLI takes settings, providers or code to run
 * from, which must not be there at all (a run is refused while it is: nothing in it is allowed).
 */
export interface ProjectFile {
  format: "json-env" | "dotenv" | "qwen-settings" | "opencode-config" | "opencode-dir" | "absent";
  path: string;
}

/** The four request shapes the presets' CLIs speak (each the real API's): src/agent/credentials/check.ts sends them. */
export type Wire = "messages" | "responses" | "chat" | "gemini";

/** The usual key ways (src/agent/credentials/providers.ts's). */
export const ANTHROPIC_KEY: KeyWay = keyWay("anthropic", "ANTHROPIC_API_KEY");
export const OPENAI_KEY: KeyWay = keyWay("openai", "OPENAI_API_KEY");

export interface Adapter<P extends PresetName = PresetName> {
  /** how it runs headless, continues, installs, what it reads (the preset) */
  preset: Preset & { name: P };
  /** the model API it speaks */
  provider: Provider;
  /** `agent check`: the request shape it speaks, the key ways it reads (in the order it prefers them), and the
   * model asked for when none is chosen (the CLI's usual default) */
  check: { wire: Wire; keys: KeyWay[]; defaultModel: string };
  /** how it takes the model (verified against its --help): its flag, the other spelling it accepts (a
   * preset's extra arguments may use either), and how it names a model */
  model: { flag: string; also?: string; name?: (m: string) => string };
  /** its own interactive interface on the session's last conversation (`agent attach`'s take-over): the
   * same permission posture as its runs (the pod is the sandbox); verified with its --help */
  interactive: string[];
  /** it runs on the gateway's ChatGPT login (a ChatGPT plan's subscription, the login's auth.json in its
   * home) as well as on its provider's key: Codex only; an OpenAI-compatible CLI cannot use that backend */
  chatgptLogin?: true;
  /** what its headless run is called in `agent say`'s words (a message waits for the turn after it) */
  headless: string;
  /** reading its output (./NAME/stream.ts): a parser of its JSON lines (one per run: it may keep state), and
   * what of its stderr is a fact (a retry, a refusal) */
  stream: { parser: () => (j: J) => AgentEvent[]; stderr?: (line: string) => AgentEvent | undefined };
}
