/** `kodama workflow list|show|validate|schema`. */
import { setExitCode } from "./exit.ts";
import { type Command, Option } from "@commander-js/extra-typings";

export function register(program: Command) {
  const wf = program.command("workflow").alias("wf").description(
    "list, show, validate workflows; print their JSON Schema",
  );
  wf.command("list").alias("ls").description(
    "every workflow by name, nearest first; shadowed ones are marked",
  )
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json", "name"]).default(
        "table",
      ),
    )
    .action(async (opts) => {
      const { listCommand } = await import("../workflow/commands.ts");
      await listCommand({ output: opts.output });
    });
  wf.command("show").description("print a workflow file (where it comes from on stderr)")
    .argument("<name>", "workflow name or file")
    .action(async (name) => {
      const { showCommand } = await import("../workflow/commands.ts");
      await showCommand(name);
    });
  wf.command("validate").description("check workflow files; prints file:line:col: problem, exit 2 when any")
    .argument("[files...]", "files to check (default: every discovered workflow)")
    .action(async (files) => {
      const { validateCommand } = await import("../workflow/commands.ts");
      const code = await validateCommand(files);
      setExitCode(code);
    });
  wf.command("schema").description("print the JSON Schema of workflow files (schemas/workflow.schema.json)")
    .action(async () => {
      const { schemaCommand } = await import("../workflow/commands.ts");
      schemaCommand();
    });
}
