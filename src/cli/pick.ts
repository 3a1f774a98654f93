/** `kodama pick`: choose pods interactively and print `namespace/name` lines (for scripts). */
import type { Command } from "@commander-js/extra-typings";
import { connectFromOpts, globalsOf, targetFrom, targetingOptions } from "./flags.ts";
import { pickerFlags, pickQueryOptions } from "./pick_flags.ts";

export function register(program: Command) {
  const cmd = program.command("pick")
    .description("choose pods in the interactive picker; prints namespace/name lines on stdout");
  pickQueryOptions(targetingOptions(cmd))
    .addHelpText(
      "after",
      `
The picker draws on stderr; stdout gets one namespace/name line per chosen pod.
Keys: type to filter (fzf syntax), Up/Down/PgUp/PgDn/Home/End move, Enter accepts,
Tab/Shift-Tab mark rows (--multi), Ctrl-A marks every match, ? toggles the preview,
Left/Right (Ctrl-B/F, Alt-B/F by word) move the caret in the query, Ctrl-E to its end;
Backspace/Delete, Ctrl-W (word), Ctrl-U/Ctrl-K (to start/end) delete;
Esc/Ctrl-C, or Ctrl-D on an empty query, cancel (exit 130).
KODAMA_PICKER=fzf uses an installed fzf instead; KODAMA_NO_PICKER=1 (or no terminal) makes
an ambiguous choice an error (exit 2).

Examples:
  kodama pick -n weka-operator-system --query drive
  kubectl logs -n prod "$(kodama pick -n prod -m api | cut -d/ -f2)"
  kodama pick -A --multi --query '^api | ^web'
  kodama pick -n prod --query api-7 --select-1 --exit-0`,
    )
    .action(async (_opts, command) => {
      const all = command.optsWithGlobals() as Record<string, unknown>;
      const kube = await connectFromOpts(globalsOf(command));
      const { pickCommand } = await import("../picker/command.ts");
      const f = pickerFlags(all);
      const lines = await pickCommand(kube, targetFrom(all), f);
      if (lines.length) await Deno.stdout.write(new TextEncoder().encode(lines.join("\n") + "\n"));
    });
}
