/** `kodama options`: the global flags every command accepts (as `kubectl options`). */
import type { Command, Help } from "@commander-js/extra-typings";
import type { AnyCommand } from "./flags.ts";
import { formatGlobalOptions, help } from "./help.ts";

export function register(program: Command) {
  help(program.command("options"), {
    group: "Other",
    summary: "Print the list of flags inherited by all commands",
    usage: "",
    examples: [["Print the flags every command accepts", "kodama options"]],
  })
    .action(async (_o, command) => {
      const root = command.parent as AnyCommand;
      const helper = root.createHelp() as Help;
      helper.prepareContext({ helpWidth: root.configureOutput().getOutHelpWidth?.() });
      await Deno.stdout.write(new TextEncoder().encode(formatGlobalOptions(root, helper)));
    });
}
