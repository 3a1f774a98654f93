/** `kodama workflow list|show|validate|schema`. */
import { setExitCode } from "./exit.ts";
import { help } from "./help.ts";
import { type Command, Option } from "@commander-js/extra-typings";

export function register(program: Command) {
  const wf = help(program.command("workflow").alias("wf"), {
    group: "Workflows",
    summary: "List, show and validate workflows; print their JSON Schema",
    examples: [
      ["Every workflow kodama can run, nearest first", "kodama workflow list"],
      ["Check the repo's workflow files", "kodama workflow validate .kodama/workflows/*.yaml"],
    ],
  });
  help(wf.command("list").alias("ls"), {
    summary: "List every workflow by name, nearest first; shadowed ones are marked",
    examples: [
      ["Name, source and description of every workflow", "kodama workflow list"],
      ["Only the names, for scripts", "kodama workflow list -o name"],
    ],
  })
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json", "name"]).default(
        "table",
      ),
    )
    .action(async (opts) => {
      const { listCommand } = await import("../workflow/commands.ts");
      await listCommand({ output: opts.output });
    });
  help(wf.command("show"), {
    summary: "Print a workflow file (where it comes from goes to stderr)",
    usage: "(NAME | FILE)",
    examples: [
      ["The built-in kwekash workflow", "kodama workflow show kwekash"],
      ["A copy to start your own from", "kodama workflow show health > .kodama/workflows/my-health.yaml"],
    ],
  })
    .argument("<name>", "workflow name or file")
    .action(async (name) => {
      const { showCommand } = await import("../workflow/commands.ts");
      await showCommand(name);
    });
  help(wf.command("validate"), {
    summary:
      "Check workflow files, their scripts' imports and the workflows they call (cycles, depth); prints file:line:col: problem, exit 2 when any",
    usage: "[FILE...]",
    examples: [
      ["Every workflow kodama can find", "kodama workflow validate"],
      ["Some files", "kodama workflow validate .kodama/workflows/deploy.yaml ci/smoke.yaml"],
    ],
  })
    .argument("[files...]", "files to check (default: every discovered workflow)")
    .action(async (files) => {
      const { validateCommand } = await import("../workflow/commands.ts");
      const code = await validateCommand(files);
      setExitCode(code);
    });
  help(wf.command("schema"), {
    summary: "Print the JSON Schema of workflow files (schemas/workflow.schema.json)",
    usage: "",
    examples: [
      ["Save the schema for an editor", "kodama workflow schema > workflow.schema.json"],
    ],
  })
    .action(async () => {
      const { schemaCommand } = await import("../workflow/commands.ts");
      schemaCommand();
    });
}
