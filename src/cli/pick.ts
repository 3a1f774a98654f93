/** `kodama pick`: choose pods interactively and print `namespace/name` lines (for scripts). */
import { opts } from "./opttypes.ts";
import { connectFromOpts, targetFrom } from "./connect.ts";
import { setExitCode } from "./exit.ts";
import { ExitCode } from "../base/errors.ts";
import type { HelpSpec } from "./help.ts";
import { type Invocation, PICK_QUERY_OPTIONS, pickerFlags, TARGETING_OPTIONS } from "./optspec.ts";

export const names = ["pick"];

export const help: HelpSpec = {
  group: "Pods",
  summary: "Choose pods interactively; prints namespace/name lines (-o name: bare names)",
  usage:
    "[-m MATCH | -l SELECTOR] [-n NS | -A] [--query Q | -f QUERY] [--multi] [-o ns-name|name|json] [flags]",
  long: `The picker draws on stderr; stdout gets one namespace/name line per chosen pod (-o name: the bare
name, when every chosen pod is in one namespace; -o json: the pods as a List).
Keys: type to filter (fzf syntax), Up/Down/PgUp/PgDn/Home/End move, Enter accepts,
Tab/Shift-Tab mark rows (--multi), Ctrl-A marks every match, ? toggles the preview,
Left/Right (Ctrl-B/F, Alt-B/F by word) move the caret in the query, Ctrl-E to its end;
Backspace/Delete, Ctrl-W (word), Ctrl-U/Ctrl-K (to start/end) delete;
Esc/Ctrl-C, or Ctrl-D on an empty query, cancel (exit 130).
KODAMA_PICKER=fzf uses an installed fzf instead; KODAMA_NO_PICKER=1 (or no terminal) makes
an ambiguous choice an error (exit 2).
Results come in fzf 0.38's order. With -A the matched line is namespace/name, and anchored terms
(^api, -0$) match the pod name; a term with a / matches the whole line (^prod/api).
-f/--filter QUERY is fzf's --filter: no picker and no terminal, every match printed best first;
exit 1 when nothing matches (as fzf), 3 when there are no pods to filter.`,
  examples: [
    ["Open the picker on the drive pods [interactive]", "kodama pick -n weka-operator-system --query drive"],
    ["Feed the chosen pod to another tool", "kubectl logs -n prod $(kodama pick -n prod -m api -o name)"],
    ["The chosen pods as JSON [interactive]", "kodama pick -A --multi -o json"],
    [
      "Choose several pods from every namespace [interactive]",
      "kodama pick -A --multi --query '^api | ^web'",
    ],
    ["Every api and web pod, best match first, for a script", "kodama pick -A --filter '^api | ^web'"],
    [
      "Choose without a picker when exactly one pod matches; exit 3 when none does",
      "kodama pick -n prod --query api-6b7f9c8d4-k2x9p --select-1 --exit-0",
    ],
  ],
};

export const options = opts([
  ...TARGETING_OPTIONS,
  ...PICK_QUERY_OPTIONS,
  {
    flags: "-f, --filter <query>",
    description:
      "no picker: print every pod matching QUERY, best first (fzf --filter); exit 1 when none does",
  },
  {
    flags: "-o, --output <format>",
    description: "ns-name: namespace/name lines; name: bare names (one namespace); json: the pods as a List",
    choices: ["ns-name", "name", "json"],
    default: "ns-name",
  },
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const all = inv.opts;
  const kube = await connectFromOpts(all);
  const { pickCommand } = await import("../pods/pick_cmd.ts");
  const filter = typeof all.filter === "string" ? all.filter : undefined;
  const text = await pickCommand(kube, targetFrom(all), {
    ...pickerFlags(all),
    filter,
    output: all.output,
  });
  if (text) await Deno.stdout.write(new TextEncoder().encode(text));
  // fzf --filter's status: 1 when nothing matched (quietly: the empty output says it)
  else if (filter !== undefined) setExitCode(ExitCode.FAILED);
}
