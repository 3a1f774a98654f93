/**
 * Agent presets: the real coding-agent CLIs kodama knows how to run headless in a session's pod, as data.
 * A preset knows its command (the prompt on stdin, a permission posture that lets the agent edit, run
 * commands and commit in the workspace: the pod is the sandbox), how to continue the last conversation
 * (kept on the home volume), the variables its credentials and endpoint come in, how to install it, and
 * the format of its structured output. `custom` is any other command (`agent.command`).
 *
 * Which preset: `--agent-variant` (a replica) > `--agent` > a template's `agent:` > the config
 * (`agent.preset`; an `agent.command` alone means custom) > claude. The resolved command is recorded with
 * the session (`SessionSpec.agent`), so later runs, `--continue` and `resume` use the same one. Pure.
 */
import type { Config } from "../config/schema.ts";
import type { ConfigSource } from "../config/origin.ts";
import { usageError } from "../base/errors.ts";
import type { SessionAgent } from "../session/spec/spec.ts";
import { splitWords } from "../base/text/words.ts";
import { quote } from "../base/text/escape.ts";
import { settingsArgs, settingsEnv } from "./settings.ts";
import ENVLOAD from "./pod/envload.sh" with { type: "text" };
import CODEX_WRAP_SH from "./pod/codexwrap.sh" with { type: "text" };
import GEMINI_WRAP_SH from "./pod/geminiwrap.sh" with { type: "text" };
import PI_WRAP_SH from "./pod/piwrap.sh" with { type: "text" };
import QWEN_WRAP_SH from "./pod/qwenwrap.sh" with { type: "text" };
import OPENCODE_WRAP_SH from "./pod/opencodewrap.sh" with { type: "text" };
import { type AgentKindName, isPresetName, PRESET_NAMES, type PresetName } from "../config/agentnames.ts";

/** What puts a session's rotated keys over the container's environment (pod/envload.sh): `sh -c ENVLOAD …`. */
export const ENVLOAD_ARGV = ["sh", "-c", ENVLOAD, "kodama-env"];

export { isPresetName, PRESET_NAMES, type PresetName } from "../config/agentnames.ts";
/** A preset's name or `custom`. */
export type AgentKind = AgentKindName;

/** The structured output of a run, for the stream parser (src/agent/stream.ts); `text` for custom. */
export type OutputFormat =
  | "claude-stream-json"
  | "codex-json"
  | "gemini-stream-json"
  | "opencode-json"
  | "pi-json"
  | "qwen-stream-json"
  | "text";

/** Proxy and CA variables every agent may need to reach its API (forwarded with its credentials). */
export const NETWORK_ENV = [
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
  "NODE_EXTRA_CA_CERTS",
];

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

/** codex (pod/codexwrap.sh): a model provider of kodama's at OPENAI_BASE_URL, or the gateway's ChatGPT login. */
export const CODEX_WRAP: string = CODEX_WRAP_SH;

/**
 * gemini (pod/geminiwrap.sh): the Gemini CLI 0.61 takes GOOGLE_GEMINI_BASE_URL as its own "gateway" auth type,
 * which its headless mode then refuses: a chosen auth type (the API key's) in ~/.gemini/settings.json lets it
 * use the base URL; its usage statistics off. Its own retries are left as they are (an unreachable API is
 * ended by kodama's runner; an overload waited out and continued). (Its system-defaults file would need every
 * parent directory not writable by others.)
 */
export const GEMINI_WRAP: string = GEMINI_WRAP_SH;

/** pi (pod/piwrap.sh): ANTHROPIC_BASE_URL as its models.json's Anthropic base URL (pi reads no such variable). */
export const PI_WRAP: string = PI_WRAP_SH;
/**
 * qwen (pod/qwenwrap.sh): Qwen Code 0.24's usage statistics, telemetry, update checks and background memory
 * extraction off in ~/.qwen/settings.json (keys the user set are kept).
 */
export const QWEN_WRAP: string = QWEN_WRAP_SH;
/**
 * opencode (pod/opencodewrap.sh): ANTHROPIC_BASE_URL (a gateway's, a stand-in's, without /v1) gets the /v1
 * the Anthropic SDK in OpenCode 1.18 expects.
 */
export const OPENCODE_WRAP: string = OPENCODE_WRAP_SH;

export const PRESETS: Record<PresetName, Preset> = {
  claude: {
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
  codex: {
    name: "codex",
    summary: "Codex exec, approvals and its own sandbox off (the pod is the sandbox), JSON events",
    command: [
      "codex",
      "exec",
      "--json",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
    ],
    promptArgs: ["-"],
    // `codex exec resume --last …`: the subcommand right after exec
    continueArgs: ["resume", "--last"],
    continueAt: 2,
    // codex's built-in provider does not reach a plain http OPENAI_BASE_URL (a gateway, a stand-in): a
    // provider of its own goes straight to {base}/responses, with Codex's own retries
    wrap: CODEX_WRAP,
    env: {},
    authEnv: ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL"],
    install: { package: "@openai/codex", version: "0.169.0", bin: "codex", node: 16 },
    output: "codex-json",
    home: "~/.codex",
    // none: Codex 0.169 reads no project .codex/config.toml in a folder not marked trusted (kodama marks
    // none), and even from a trusted one takes no openai_base_url or model provider (seen: only `model`)
    projectFiles: [],
  },
  gemini: {
    name: "gemini",
    summary: "Gemini CLI headless, every tool approved (--yolo; the pod is the sandbox), stream-json output",
    // --skip-trust: an untrusted folder turns --yolo back into approval mode (every write, every command denied)
    command: ["gemini", "--yolo", "--skip-trust", "--output-format", "stream-json"],
    promptArgs: [],
    continueArgs: ["--resume", "latest"],
    wrap: GEMINI_WRAP,
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
  opencode: {
    name: "opencode",
    summary:
      "OpenCode run, every permission approved (--auto; the pod is the sandbox), JSON events, Anthropic",
    command: ["opencode", "run", "--format", "json", "--auto"],
    promptArgs: [],
    continueArgs: ["--continue"],
    wrap: OPENCODE_WRAP,
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
  pi: {
    name: "pi",
    summary:
      "pi in print mode with its JSON events, on Anthropic (its tools run unasked: the pod is the sandbox)",
    command: ["pi", "-p", "--mode", "json", "--provider", "anthropic"],
    promptArgs: [],
    continueArgs: ["--continue"],
    wrap: PI_WRAP,
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
  qwen: {
    name: "qwen",
    summary:
      "Qwen Code headless, every tool approved (--yolo; the pod is the sandbox), an OpenAI-compatible API, stream-json output",
    // --auth-type openai: with a user settings file (the wrap's) and no auth type chosen it refuses to start
    command: ["qwen", "--yolo", "--auth-type", "openai", "--output-format", "stream-json"],
    promptArgs: [],
    continueArgs: ["--continue"],
    wrap: QWEN_WRAP,
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
};

/** The model API each preset speaks, as `agent keys` and the gateway name it (one table). */
export const PRESET_PROVIDER: Record<PresetName, "anthropic" | "openai" | "gemini"> = {
  claude: "anthropic",
  codex: "openai",
  gemini: "gemini",
  opencode: "anthropic",
  pi: "anthropic",
  qwen: "openai",
};

/** One layer's choice of agent: a preset (with extra arguments) or a custom command. */
export interface AgentChoice {
  preset?: AgentKind;
  /** a custom command (preset custom) */
  command?: string[];
  /** extra arguments after a preset's command */
  args?: string[];
}

/** `--agent NAME`: a preset name or `custom` (which needs agent.command). */
export function checkAgentName(name: string, what = "--agent"): AgentKind {
  if (name === "custom" || isPresetName(name)) return name;
  throw usageError(
    `unknown agent preset ${quote(name)} (${what})`,
    `the presets are ${PRESET_NAMES.join(", ")} (kodama agent presets); any other command is agent.command`,
  );
}

/**
 * `--agent SPEC`: a preset's name, or a preset's name followed by extra arguments (`claude --fallback-model
 * X`: the preset plus those arguments, never a custom command). Quotes as a shell's; exit 2 otherwise.
 */
export function agentChoiceOf(spec: string, what = "--agent"): AgentChoice {
  const words = splitWords(spec);
  if (words.length <= 1) return { preset: checkAgentName(words[0] ?? spec, what) };
  return { preset: checkAgentName(words[0], what), args: words.slice(1) };
}

/**
 * A SPEC of `--agent-variant i=SPEC`: when its first word names a preset, that preset plus the other words
 * as extra arguments (`claude --model opus`); any other SPEC is a custom command. Quotes as a shell's.
 */
export function parseAgentSpec(spec: string): AgentChoice {
  const words = splitWords(spec);
  if (!words.length) throw usageError(`the agent command is empty`);
  return choiceOfWords(words);
}

/** Words of a SPEC (already split) as a choice: a preset and extra arguments, or a custom command. */
export function choiceOfWords(words: string[]): AgentChoice {
  if (isPresetName(words[0])) return { preset: words[0], args: words.slice(1) };
  return { preset: "custom", command: words };
}

/** The config's layer: agent.preset, else agent.command (custom) when it is set, else nothing. */
export function configChoice(cfg: Config): AgentChoice | undefined {
  const a = cfg.agent;
  if (a.preset !== undefined) {
    return { preset: a.preset, ...(a.command ? { command: a.command } : {}), args: a.args };
  }
  if (a.command) return { preset: "custom", command: a.command };
  return a.args.length ? { preset: "claude", args: a.args } : undefined;
}

/** A template's `agent:` as a layer (a command alone is custom). */
export function templateChoice(t: { preset?: AgentKind; command?: string[]; args?: string[] } | undefined) {
  if (!t) return undefined;
  if (t.preset === undefined && t.command) return { preset: "custom" as const, command: t.command };
  return t.preset === undefined && !t.args?.length ? undefined : { ...t };
}

/**
 * The session's agent from its layers, highest first (a variant, `--agent`, a template, the config);
 * claude when none chooses. Exit 2 for `custom` without a command.
 */
export function resolveAgent(layers: (AgentChoice | undefined)[], cfg: Config): SessionAgent {
  const chosen = layers.find((l) => l?.preset !== undefined || l?.command !== undefined);
  const kind: AgentKind = chosen?.preset ?? (chosen?.command ? "custom" : "claude");
  if (kind === "custom") {
    const command = chosen?.command ?? layers.find((l) => l?.command)?.command ?? cfg.agent.command;
    if (!command?.length) {
      throw usageError(
        "the custom agent needs a command",
        "set agent.command (e.g. [my-agent, --yes]), or choose a preset: --agent claude",
      );
    }
    return {
      preset: "custom",
      command: [...command, ...(chosen?.args ?? [])],
      continueArgs: cfg.agent.continueArgs,
    };
  }
  const p = PRESETS[kind];
  return {
    preset: kind,
    command: [...p.command, ...(chosen?.args ?? [])],
    continueArgs: p.continueArgs,
    ...(p.continueAt !== undefined ? { continueAt: p.continueAt } : {}),
    ...(p.wrap ? { wrap: p.wrap } : {}),
    ...(p.promptArgs.length ? { promptArgs: p.promptArgs } : {}),
    ...(Object.keys(p.env).length ? { env: p.env } : {}),
  };
}

/**
 * The session's agent as recorded (`SessionSpec.agent`), else a template's old `agentCommand` (custom,
 * with agent.continueArgs), else the config's.
 */
export function sessionAgentOf(
  spec: { agent?: SessionAgent; agentCommand?: string[] } | undefined,
  cfg: Config,
): SessionAgent {
  if (spec?.agent) return spec.agent;
  if (spec?.agentCommand) {
    return { preset: "custom", command: spec.agentCommand, continueArgs: cfg.agent.continueArgs };
  }
  return resolveAgent([configChoice(cfg)], cfg);
}

/**
 * The argv of a run: `env K=V…` for the preset's variables, its command, on `--continue` its continue
 * arguments, then what makes it read the prompt. `continues`: the agent is given its last conversation.
 */
export function runArgv(a: SessionAgent, cont: boolean): { argv: string[]; continues: boolean } {
  // the settings (models, retry, budgets): the runner's KODAMA_* variables and the CLI's own flags
  const env = Object.entries({ ...a.env, ...settingsEnv(a.preset, a.settings) }).map(([k, v]) => `${k}=${v}`);
  const own = [...a.command, ...settingsArgs(a.preset, a.command, a.settings)];
  const continues = cont && a.continueArgs.length > 0;
  const at = Math.min(a.continueAt ?? a.command.length, own.length);
  const command = continues ? [...own.slice(0, at), ...a.continueArgs, ...own.slice(at)] : own;
  return {
    argv: [
      ...(env.length ? ["env", ...env] : []),
      // a preset's keys rotated since the pod started (`agent keys rotate`) over the env Secret's
      ...(isPresetName(a.preset) ? ENVLOAD_ARGV : []),
      ...(a.wrap ? ["sh", "-c", a.wrap] : []),
      ...command,
      ...(a.promptArgs ?? []),
    ],
    continues,
  };
}

/** The output format of a session's agent (text for a custom command). */
export function outputFormatOf(a: Pick<SessionAgent, "preset">): OutputFormat {
  return isPresetName(a.preset) ? PRESETS[a.preset].output : "text";
}

/**
 * The names of the local variables a session of this agent may take from this machine (the env files,
 * else the local environment), into its env Secret. Only the user's own config decides: `agent.forwardEnv`
 * (per preset; it replaces the built-in list) and `agent.authEnv` (custom commands; added to a preset's
 * list). A repository's values and the defaults never count (`source` says where each came from): a custom
 * agent gets only the variables the user's own config names.
 */
export function forwardedEnv(
  kind: AgentKind,
  cfg: Config,
  source: (key: string) => ConfigSource | undefined,
): string[] {
  const unique = (names: string[]) => [...new Set(names)];
  const own = cfg.agent.forwardEnv[kind];
  if (own !== undefined && source(`agent.forwardEnv.${kind}`) !== "repo") return unique(own);
  // agent.authEnv counts only as the user set it (a repository's value is dropped on load; a default names
  // nobody's credentials): a custom command — which a repository's .kodama.yaml or template may choose —
  // gets no credential the user's own config does not list
  const userSet = source("agent.authEnv") === "global" || source("agent.authEnv") === "flag";
  const authEnv = userSet ? cfg.agent.authEnv : [];
  if (kind === "custom") return unique([...authEnv, ...NETWORK_ENV]);
  return unique([...PRESETS[kind].authEnv, ...NETWORK_ENV, ...authEnv]);
}

/** The rows of `kodama agent presets`. */
export function presetRows(
  cfg: Config,
): {
  name: string;
  runs: string;
  continue: string;
  env: string[];
  install: string;
  output: OutputFormat;
  summary: string;
}[] {
  const custom = cfg.agent.command;
  return [
    ...PRESET_NAMES.map((n) => {
      const p = PRESETS[n];
      const env = Object.entries(p.env).map(([k, v]) => `${k}=${v} `).join("");
      return {
        name: n,
        runs: `${env}${[...p.command, ...p.promptArgs].join(" ")}`,
        continue: p.continueArgs.join(" "),
        env: forwardedEnv(n, cfg, () => undefined).filter((e) => !NETWORK_ENV.includes(e)),
        install: `${p.install.package}@${p.install.version} (Node >= ${p.install.node})`,
        output: p.output,
        summary: p.summary,
      };
    }),
    {
      name: "custom",
      runs: custom ? custom.join(" ") : "(agent.command: not set)",
      continue: cfg.agent.continueArgs.join(" "),
      env: cfg.agent.authEnv, // the user's own list (a repository's is dropped on load; the default is none)
      install: "-",
      output: "text" as const,
      summary: "any command that reads the prompt on stdin (agent.command)",
    },
  ];
}

/**
 * A preset's own interactive interface on the session's last conversation (`agent attach`'s take-over):
 * the same permission posture as its runs (the pod is the sandbox). Verified with each CLI's --help.
 */
export const INTERACTIVE: Record<PresetName, string[]> = {
  claude: ["claude", "--continue", "--dangerously-skip-permissions"],
  codex: ["codex", "resume", "--last", "--dangerously-bypass-approvals-and-sandbox"],
  gemini: ["gemini", "--resume", "latest", "--yolo", "--skip-trust"],
  opencode: ["opencode", "--continue"],
  pi: ["pi", "--continue", "--provider", "anthropic"],
  qwen: ["qwen", "--continue", "--yolo", "--auth-type", "openai"],
};

/**
 * The argv of the interactive CLI as a run gets it (its variables, envload.sh, its wrap); exit 2 for a
 * custom command, whose interactive form kodama does not know.
 */
export function interactiveArgv(a: SessionAgent, session: string, sessionId?: string): string[] {
  if (!isPresetName(a.preset)) {
    throw usageError(
      `session ${session} runs a custom agent command: agent attach opens a preset's CLI (${
        PRESET_NAMES.join(", ")
      })`,
      `open a shell in its pod instead: kodama attach ${session}`,
    );
  }
  const env = Object.entries(a.env ?? {}).map(([k, v]) => `${k}=${v}`);
  return [
    ...(env.length ? ["env", ...env] : []),
    ...ENVLOAD_ARGV,
    ...(a.wrap ? ["sh", "-c", a.wrap] : []),
    // the run's own conversation when it recorded its id (Claude Code's --continue skips a print-mode one)
    ...(a.preset === "claude" && sessionId && /^[0-9a-f-]{36}$/.test(sessionId)
      ? ["claude", "--resume", sessionId, ...INTERACTIVE.claude.slice(2)]
      : INTERACTIVE[a.preset]),
  ];
}
