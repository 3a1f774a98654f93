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
import type { Config } from "../../config/schema.ts";
import type { ConfigSource } from "../../config/origin.ts";
import { usageError } from "../../base/errors.ts";
import type { SessionAgent } from "../../session/spec/spec.ts";
import { splitWords } from "../../base/text/words.ts";
import { quote } from "../../base/text/escape.ts";
import { settingsArgs, settingsEnv } from "./settings.ts";
import ENVLOAD from "../pod/envload.sh" with { type: "text" };
import { type AgentKindName, isPresetName, PRESET_NAMES, type PresetName } from "../../config/agentnames.ts";
import { byPreset } from "../adapters/index.ts";
import type { OutputFormat, Preset, Provider } from "../adapters/types.ts";
export type { OutputFormat, Preset, PresetInstall, ProjectFile } from "../adapters/types.ts";

/** What puts a session's rotated keys over the container's environment (pod/envload.sh): `sh -c ENVLOAD …`. */
export const ENVLOAD_ARGV = ["sh", "-c", ENVLOAD, "kodama-env"];

export { isPresetName, PRESET_NAMES, type PresetName } from "../../config/agentnames.ts";
/** A preset's name or `custom`. */
export type AgentKind = AgentKindName;

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

/** What each preset runs (its adapter's preset: src/agent/adapters/). */
export const PRESETS: Record<PresetName, Preset> = byPreset((a) => a.preset);

/** The model API each preset speaks, as `agent keys` and the gateway name it (its adapter's). */
export const PRESET_PROVIDER: Record<PresetName, Provider> = byPreset((a) => a.provider);

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

/** A preset's own interactive interface on the session's last conversation (its adapter's). */
export const INTERACTIVE: Record<PresetName, string[]> = byPreset((a) => a.interactive);

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
