/**
 * `kodama config view|get|set|unset|path|keys`. Light at import time: the schema, yaml and the
 * implementation in src/config/commands.ts are loaded only when a config command runs.
 */
import { command, type GlobalValues } from "./opttypes.ts";
import type { HelpSpec } from "./help.ts";
import { arg, type CommandSpec } from "./spec.ts";

type Printed = { stdout: string; stderr?: string };

async function print(p: Printed): Promise<void> {
  if (p.stderr) await Deno.stderr.write(new TextEncoder().encode(p.stderr));
  if (p.stdout) await Deno.stdout.write(new TextEncoder().encode(p.stdout));
}

/**
 * Config values given as global flags on this command line, keyed by config key path
 * (only flags the user actually typed, not their defaults). Other commands can reuse it
 * for `loadConfig({ flags: configFlagsFrom(inv) })`.
 */
export function configFlagsFrom(
  inv: { opts: GlobalValues; given(key: keyof GlobalValues): boolean },
): Record<string, unknown> {
  const o = inv.opts;
  const flags: Record<string, unknown> = {
    "defaults.namespace": o.namespace,
    "defaults.context": o.context,
  };
  if (inv.given("logLevel")) flags["log.level"] = o.logLevel;
  if (inv.given("logFormat")) flags["log.format"] = o.logFormat;
  if (o.color === false) flags["output.color"] = "never";
  return flags;
}

const KEYS_HINT =
  "Run 'kodama config keys' for every key with its type, default and description (docs/config.md).";

const commands = () => import("../config/commands.ts");

/** `view --help` and `set --help` list every key with its description, from the schema (loaded only then). */
async function keyTable(): Promise<string> {
  const { configKeysCommand } = await commands();
  return "Keys:\n" + configKeysCommand({}).stdout.replace(/^/gm, "  ").trimEnd();
}

const REPO = (description: string) => ({ flags: "--repo", description }) as const;

export const names = ["config"];

export const help: HelpSpec = {
  group: "Settings",
  summary: "View and change kodama settings (global and per repo)",
  long: `Files and precedence (highest first):
  command-line flags  >  .kodama.yaml (nearest, walking up to the git root)  >  ~/.kodama/config.yaml  >  defaults
  Set KODAMA_CONFIG_DIR (or its alias KODAMA_HOME) to use another directory than ~/.kodama.`,
  examples: [
    ["CPU limit for new sessions", "kodama config set defaults.resources.cpu 2"],
    [
      "Write the repo's .kodama.yaml instead of the global file",
      "kodama config set defaults.namespace dev --repo",
    ],
    ["Lists are written [a, b] (or one item)", "kodama config set workflows.paths '[ops/wf, tools/wf]'"],
    [
      "A command's words, split as a shell splits them",
      'kodama config set agent.command "claude -p --model opus"',
    ],
    ["Every setting and where it came from", "kodama config view --resolved"],
  ],
  notes: KEYS_HINT,
};

export const subcommands: CommandSpec[] = [
  command({
    names: ["view"],
    withBrokenConfig: true,
    help: {
      summary: "Print a config file, or with --resolved the merged settings and their sources",
      examples: [
        ["The global file as written (comments included)", "kodama config view"],
        ["The repo's file as JSON", "kodama config view --repo -o json"],
        ["A KEY VALUE SOURCE table of the effective settings", "kodama config view --resolved"],
        [
          'The same as JSON: {"defaults.resources.cpu": {"value": "2", "source": "repo"}, ...}',
          "kodama config view --resolved -o json",
        ],
      ],
      notes: KEYS_HINT,
    },
    moreNotes: keyTable,
    options: [
      {
        flags: "--resolved",
        description: "show the effective settings (flags > repo > global > default) with a SOURCE column",
      },
      REPO("show the repo's .kodama.yaml instead of the global file"),
      {
        flags: "-o, --output <format>",
        description: "yaml or json (with --resolved also: table, the default)",
      },
    ],
    run: async (inv) => {
      const { configViewCommand } = await commands();
      const o = inv.opts;
      await print(
        await configViewCommand({
          repo: o.repo,
          resolved: o.resolved,
          output: o.output,
          flags: o.resolved ? configFlagsFrom(inv) : undefined,
        }),
      );
    },
  }),
  command({
    names: ["get"],
    help: {
      summary: "Print one setting's effective value (exit 3 when unset and without default)",
      usage: "KEY [-o yaml|json]",
      examples: [
        ["One value", "kodama config get defaults.resources.cpu"],
        ["A section as JSON", "kodama config get defaults.resources -o json"],
        ["In a script, with a fallback", "ns=$(kodama config get defaults.namespace) || ns=default"],
      ],
    },
    args: [arg("<key>", "dotted key, e.g. defaults.resources.cpu (a section prints its subtree as YAML)")],
    options: [
      {
        flags: "-o, --output <format>",
        description: "print the value as yaml or json",
        choices: ["yaml", "json"],
      },
    ],
    run: async (inv) => {
      const { configGetCommand } = await commands();
      await print(
        await configGetCommand(inv.args[0], {
          output: inv.opts.output,
          flags: configFlagsFrom(inv),
        }),
      );
    },
  }),
  command({
    names: ["set"],
    withBrokenConfig: true,
    help: {
      summary: "Set one setting in the global config (or the repo's .kodama.yaml with --repo)",
      usage: "KEY VALUE [--repo]",
      long: "Values are checked against the key's type; comments and key order in the file are kept.",
      examples: [
        ["Half a CPU for new sessions", "kodama config set defaults.resources.cpu 500m"],
        ["Memory for new sessions", "kodama config set defaults.resources.memory 4Gi"],
        ["More pods at a time for exec --all", "kodama config set exec.maxParallel 64"],
        ["No preview pane in the picker", "kodama config set picker.preview false"],
        [
          "A list, in the repo's .kodama.yaml",
          "kodama config set env.dotenvFiles '[.env, .env.local]' --repo",
        ],
      ],
      notes: KEYS_HINT,
    },
    moreNotes: keyTable,
    args: [
      arg("<key>", "dotted key, e.g. defaults.resources.cpu"),
      arg("<value>", "the value: numbers, true/false, lists as a,b or [a, b]"),
    ],
    options: [REPO("write the repo's .kodama.yaml (created at the git root when missing)")],
    run: async (inv) => {
      const { configSetCommand } = await commands();
      await print(await configSetCommand(inv.args[0], inv.args[1], { repo: inv.opts.repo }));
    },
  }),
  command({
    names: ["unset"],
    withBrokenConfig: true,
    help: {
      summary: "Remove a setting (or a whole section) so the next level's value applies",
      usage: "KEY [--repo]",
      examples: [
        ["Back to the context's namespace", "kodama config unset defaults.namespace"],
        ["A whole section of the repo's file", "kodama config unset defaults.resources --repo"],
      ],
    },
    args: [arg("<key>", "dotted key, e.g. defaults.resources.cpu")],
    options: [REPO("edit the repo's .kodama.yaml")],
    run: async (inv) => {
      const { configUnsetCommand } = await commands();
      await print(await configUnsetCommand(inv.args[0], { repo: inv.opts.repo }));
    },
  }),
  command({
    names: ["path"],
    withBrokenConfig: true,
    help: {
      summary: "Print the global config file's path (or the repo's .kodama.yaml with --repo; exit 3 if none)",
      examples: [
        ["Edit the global file", '"${EDITOR:-vi}" "$(kodama config path)"'],
        ["Where the repo's file is", "kodama config path --repo"],
      ],
    },
    options: [REPO("print the path of the repo's .kodama.yaml")],
    run: async (inv) => {
      const { configPathCommand } = await commands();
      await print(await configPathCommand({ repo: inv.opts.repo }));
    },
  }),
  command({
    names: ["keys"],
    withBrokenConfig: true,
    help: {
      summary: "List every config key with its type, default and description",
      examples: [
        ["A table of every key", "kodama config keys"],
        ["As JSON", "kodama config keys -o json"],
      ],
    },
    options: [
      {
        flags: "-o, --output <format>",
        description: "table, yaml or json",
        choices: ["table", "yaml", "json"],
      },
    ],
    run: async (inv) => {
      const { configKeysCommand } = await commands();
      await print(configKeysCommand({ output: inv.opts.output }));
    },
  }),
];
