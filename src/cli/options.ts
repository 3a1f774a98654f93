/** `kodama options`: the global flags every command accepts (as `kubectl options`). */
import type { HelpSpec } from "./help.ts";
import type { Invocation } from "./optspec.ts";

export const names = ["options"];

export const help: HelpSpec = {
  group: "Other",
  summary: "Print the list of flags inherited by all commands",
  usage: "",
  examples: [["Print the flags every command accepts", "kodama options"]],
};

export async function run(_inv: Invocation): Promise<void> {
  // commander's help layout (wrapping to the terminal's width), over the global flags' table
  const [{ Command }, { globalOptions }, { formatGlobalOptions }, { VERSION }] = await Promise.all([
    import("@commander-js/extra-typings"),
    import("./flags.ts"),
    import("./help.ts"),
    import("../base/version.ts"),
  ]);
  const root = globalOptions(
    new Command().name("kodama").version(`kodama ${VERSION}`, "-V, --version", "print the version"),
  );
  const helper = root.createHelp();
  helper.prepareContext({ helpWidth: root.configureOutput().getOutHelpWidth?.() });
  await Deno.stdout.write(new TextEncoder().encode(formatGlobalOptions(root, helper)));
}
