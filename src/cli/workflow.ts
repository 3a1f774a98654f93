/** `kodama workflow list|show|validate|schema`. */
import { command } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import type { HelpSpec } from "./help.ts";
import { arg, type CommandSpec, LIST_OUTPUT } from "./spec.ts";

const commands = () => import("../workflow/commands.ts");

export const names = ["workflow", "wf"];

export const help: HelpSpec = {
  group: "Workflows",
  summary: "List, show and validate workflows; print their JSON Schema",
  examples: [
    ["Every workflow kodama can run, nearest first", "kodama workflow list"],
    ["Check the repo's workflow files", "kodama workflow validate .kodama/workflows/*.yaml"],
  ],
};

export const subcommands: CommandSpec[] = [
  command({
    names: ["list", "ls"],
    help: {
      summary: "List every workflow by name, nearest first; shadowed ones are marked",
      examples: [
        ["Name, source and description of every workflow", "kodama workflow list"],
        ["Only the names, for scripts", "kodama workflow list -o name"],
      ],
    },
    options: [LIST_OUTPUT],
    run: async (inv) => {
      const { listCommand } = await commands();
      await listCommand({ output: inv.opts.output });
    },
  }),
  command({
    names: ["show"],
    help: {
      summary: "Print a workflow file (where it comes from goes to stderr)",
      usage: "(NAME | FILE)",
      examples: [
        ["The built-in kwekash workflow", "kodama workflow show kwekash"],
        [
          "A copy to start your own from (give it its file's name, then move it to .kodama/workflows/)",
          "kodama workflow show health > my-health.yaml",
        ],
        [
          "Its params and whether running it needs trust (what it may touch), for editors",
          "kodama workflow show kwekash -o json",
        ],
      ],
    },
    args: [arg("<name>", "workflow name or file")],
    options: [
      {
        flags: "-o, --output <format>",
        description: "yaml: the file itself; json: name, source, file, params and the trust question",
        choices: ["yaml", "json"],
        default: "yaml",
      },
    ],
    run: async (inv) => {
      const { showCommand } = await commands();
      await showCommand(inv.args[0], { output: inv.opts.output });
    },
  }),
  command({
    names: ["validate"],
    help: {
      summary:
        "Check workflow files, their scripts' imports and the workflows they call (cycles, depth); prints file:line:col: problem, exit 2 when any",
      usage: "[FILE...]",
      examples: [
        ["Every workflow kodama can find", "kodama workflow validate"],
        ["Some files", "kodama workflow validate .kodama/workflows/deploy.yaml ci/smoke.yaml"],
      ],
    },
    args: [arg("[files...]", "files to check (default: every discovered workflow)")],
    run: async (inv) => {
      const { validateCommand } = await commands();
      setExitCode(await validateCommand(inv.args));
    },
  }),
  command({
    names: ["schema"],
    help: {
      summary: "Print the JSON Schema of workflow files (schemas/workflow.schema.json)",
      usage: "",
      examples: [["Save the schema for an editor", "kodama workflow schema > workflow.schema.json"]],
    },
    run: async () => {
      const { schemaCommand } = await commands();
      schemaCommand();
    },
  }),
];
