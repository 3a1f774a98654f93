/**
 * `kodama config view|get|set|unset|path|keys`. Light at import time: the schema, yaml and the
 * implementation in src/config/commands.ts are loaded only when a config command runs.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { addNotes, help } from "./help.ts";

type Printed = { stdout: string; stderr?: string };

async function print(p: Printed): Promise<void> {
  if (p.stderr) await Deno.stderr.write(new TextEncoder().encode(p.stderr));
  if (p.stdout) await Deno.stdout.write(new TextEncoder().encode(p.stdout));
}

interface CommandLike {
  optsWithGlobals(): unknown;
  parent: CommandLike | null;
  getOptionValueSource(key: string): string | undefined;
}

/**
 * Config values given as global flags on this command line, keyed by config key path
 * (only flags the user actually typed, not commander defaults). Other commands can reuse it
 * for `loadConfig({ flags: configFlagsFrom(command) })`.
 */
export function configFlagsFrom(command: CommandLike): Record<string, unknown> {
  const o = command.optsWithGlobals() as Record<string, unknown>;
  let root: CommandLike = command;
  while (root.parent) root = root.parent;
  const fromCli = (k: string) => root.getOptionValueSource(k) === "cli";
  const flags: Record<string, unknown> = {
    "defaults.namespace": o.namespace,
    "defaults.context": o.context,
  };
  if (fromCli("logLevel")) flags["log.level"] = o.logLevel;
  if (fromCli("logFormat")) flags["log.format"] = o.logFormat;
  if (o.color === false) flags["output.color"] = "never";
  return flags;
}

const KEYS_HINT =
  "Run 'kodama config keys' for every key with its type, default and description (docs/config.md).";

export function register(program: Command) {
  const config = help(program.command("config"), {
    group: "Settings",
    summary: "View and change kodama settings (global and per repo)",
    long: `Files and precedence (highest first):
  command-line flags  >  .kodama.yaml (nearest, walking up to the git root)  >  ~/.kodama/config.yaml  >  defaults
  Set KODAMA_HOME to use another directory than ~/.kodama.`,
    examples: [
      ["CPU limit for new sessions", "kodama config set defaults.resources.cpu 2"],
      [
        "Write the repo's .kodama.yaml instead of the global file",
        "kodama config set defaults.namespace dev --repo",
      ],
      ["Lists are written a,b or [a, b]", "kodama config set workflows.paths ops/wf,tools/wf"],
      ["Every setting and where it came from", "kodama config view --resolved"],
    ],
    notes: KEYS_HINT,
  });

  // `view --help` and `set --help` list every key with its description. The list comes from the
  // schema, which is loaded only once a config subcommand is being dispatched (never at start-up).
  config.hook("preSubcommand", async (_config, sub) => {
    if (sub.name() !== "view" && sub.name() !== "set") return;
    const { configKeys } = await import("../config/commands.ts");
    addNotes(sub, "Keys:\n" + configKeys({}).stdout.replace(/^/gm, "  ").trimEnd());
  });

  help(config.command("view"), {
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
  })
    .option(
      "--resolved",
      "show the effective settings (flags > repo > global > default) with a SOURCE column",
    )
    .option("--repo", "show the repo's .kodama.yaml instead of the global file")
    .addOption(new Option("-o, --output <format>", "yaml or json (with --resolved also: table, the default)"))
    .action(async (opts, command) => {
      const { configView } = await import("../config/commands.ts");
      await print(
        await configView({
          repo: opts.repo,
          resolved: opts.resolved,
          output: opts.output,
          flags: opts.resolved ? configFlagsFrom(command as unknown as CommandLike) : undefined,
        }),
      );
    });

  help(config.command("get"), {
    summary: "Print one setting's effective value (exit 3 when unset and without default)",
    usage: "KEY [-o yaml|json]",
    examples: [
      ["One value", "kodama config get defaults.resources.cpu"],
      ["A section as JSON", "kodama config get defaults.resources -o json"],
      ["In a script, with a fallback", "ns=$(kodama config get defaults.namespace) || ns=default"],
    ],
  })
    .argument("<key>", "dotted key, e.g. defaults.resources.cpu (a section prints its subtree as YAML)")
    .addOption(
      new Option("-o, --output <format>", "print the value as yaml or json").choices(["yaml", "json"]),
    )
    .action(async (key, opts, command) => {
      const { configGet } = await import("../config/commands.ts");
      await print(
        await configGet(key, {
          output: opts.output,
          flags: configFlagsFrom(command as unknown as CommandLike),
        }),
      );
    });

  help(config.command("set"), {
    summary: "Set one setting in the global config (or the repo's .kodama.yaml with --repo)",
    usage: "KEY VALUE [--repo]",
    long: "Values are checked against the key's type; comments and key order in the file are kept.",
    examples: [
      ["Half a CPU for new sessions", "kodama config set defaults.resources.cpu 500m"],
      ["Memory for new sessions", "kodama config set defaults.resources.memory 4Gi"],
      ["More pods at a time for exec --all", "kodama config set exec.maxParallel 64"],
      ["No preview pane in the picker", "kodama config set picker.preview false"],
      ["A list, in the repo's .kodama.yaml", "kodama config set env.dotenvFiles '[.env, .env.local]' --repo"],
    ],
    notes: KEYS_HINT,
  })
    .argument("<key>", "dotted key, e.g. defaults.resources.cpu")
    .argument("<value>", "the value: numbers, true/false, lists as a,b or [a, b]")
    .option("--repo", "write the repo's .kodama.yaml (created at the git root when missing)")
    .action(async (key, value, opts) => {
      const { configSet } = await import("../config/commands.ts");
      await print(await configSet(key, value, { repo: opts.repo }));
    });

  help(config.command("unset"), {
    summary: "Remove a setting (or a whole section) so the next level's value applies",
    usage: "KEY [--repo]",
    examples: [
      ["Back to the context's namespace", "kodama config unset defaults.namespace"],
      ["A whole section of the repo's file", "kodama config unset defaults.resources --repo"],
    ],
  })
    .argument("<key>", "dotted key, e.g. defaults.resources.cpu")
    .option("--repo", "edit the repo's .kodama.yaml")
    .action(async (key, opts) => {
      const { configUnset } = await import("../config/commands.ts");
      await print(await configUnset(key, { repo: opts.repo }));
    });

  help(config.command("path"), {
    summary: "Print the global config file's path (or the repo's .kodama.yaml with --repo; exit 3 if none)",
    examples: [
      ["Edit the global file", '"${EDITOR:-vi}" "$(kodama config path)"'],
      ["Where the repo's file is", "kodama config path --repo"],
    ],
  })
    .option("--repo", "print the path of the repo's .kodama.yaml")
    .action(async (opts) => {
      const { configPath } = await import("../config/commands.ts");
      await print(await configPath({ repo: opts.repo }));
    });

  help(config.command("keys"), {
    summary: "List every config key with its type, default and description",
    examples: [
      ["A table of every key", "kodama config keys"],
      ["As JSON", "kodama config keys -o json"],
    ],
  })
    .addOption(new Option("-o, --output <format>", "table, yaml or json").choices(["table", "yaml", "json"]))
    .action(async (opts) => {
      const { configKeys } = await import("../config/commands.ts");
      await print(configKeys({ output: opts.output }));
    });
}
