/** `kodama template list|show|validate`: session templates (src/session/spec/template.ts). */
import { command } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import type { HelpSpec } from "./help.ts";
import { arg, type CommandSpec, LIST_OUTPUT } from "./spec.ts";

const commands = () => import("../session/spec/template_cmd.ts");
const io = async () => {
  const { stdoutSink, stderrSink } = await import("../base/sink.ts");
  return { cwd: Deno.cwd(), out: stdoutSink, err: stderrSink };
};

export const names = ["template", "templates"];

export const help: HelpSpec = {
  group: "Sessions",
  summary: "Session templates: list, show and validate the recipes `start --template` uses",
  examples: [
    [
      "Every template, nearest first (repository, your config, devcontainer.json, built-in)",
      "kodama template list",
    ],
    ["What the built-in node template sets", "kodama template show node"],
    ["Check the repository's templates (file:line:col for each problem)", "kodama template validate"],
  ],
  notes:
    `A template sets image, resources, storage, env (files, exclude, vars), sidecars, init (run once in the
workspace when the session is first ready), agent.command, sync (enabled, mode, exclude), labels and ports.
Found in .kodama/templates/NAME.yaml, templates: in .kodama.yaml, templates: in ~/.kodama/config.yaml, the
repository's devcontainer.json (as "devcontainer": image, containerEnv, postCreateCommand, forwardPorts), and
the built-ins default and node; the first of a name wins. A repository's template is untrusted: its env files
must lead inside the repository, and start prints what it sets. docs/templates.md has the keys.`,
};

export const subcommands: CommandSpec[] = [
  command({
    names: ["list", "ls"],
    help: {
      summary: "List every template by name, nearest first; hidden ones are noted on stderr",
      examples: [
        ["Name, source and description", "kodama template list"],
        ["Only the names, for scripts", "kodama template list -o name"],
      ],
    },
    options: [LIST_OUTPUT],
    run: async (inv) => {
      const { templateListCommand } = await commands();
      setExitCode(await templateListCommand(await io(), inv.opts.output));
    },
  }),
  command({
    names: ["show"],
    help: {
      summary: "Print a template's settings as YAML (where it comes from goes to stderr)",
      examples: [
        ["The built-in node template", "kodama template show node"],
        ["A copy to start your own from", "kodama template show node > .kodama/templates/web.yaml"],
      ],
    },
    args: [arg("<name>", "template name")],
    run: async (inv) => {
      const { templateShowCommand } = await commands();
      setExitCode(await templateShowCommand(inv.args[0], await io()));
    },
  }),
  command({
    names: ["validate"],
    help: {
      summary: "Check templates; prints file:line:col: problem for each, exit 2 when any",
      usage: "[FILE...]",
      examples: [
        ["Every template kodama can find from here", "kodama template validate"],
        ["Some files", "kodama template validate .kodama/templates/web.yaml .devcontainer/devcontainer.json"],
      ],
    },
    args: [arg("[files...]", "files to check (default: every template source)")],
    run: async (inv) => {
      const { templateValidateCommand } = await commands();
      setExitCode(await templateValidateCommand(inv.args as string[], await io()));
    },
  }),
];
