/** `kodama doctor`: is this machine and this cluster ready for kodama? */
import { opts } from "./opttypes.ts";
import { setExitCode } from "./exit.ts";
import { kubeOptionsFrom } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import type { Invocation } from "./optspec.ts";

export const names = ["doctor"];

export const help: HelpSpec = {
  group: "Settings",
  summary: "Check the kubeconfig, the server, your permissions and local tools",
  usage: "[-n NAMESPACE] [-o text|json] [flags]",
  long: `Reads the kubeconfig and its context, reaches the server (version and latency), asks the server
(SelfSubjectAccessReview) for every permission kodama's commands need in the namespace — as the user kodama
would act as, including --as — and looks for tmux, fzf, git and a recent enough Deno.`,
  examples: [
    ["Check the current context and namespace", "kodama doctor"],
    ["What may the dev context do in prod? [not in the demo]", "kodama doctor --context dev -n prod"],
    [
      "The same report as JSON, for a script",
      "kodama doctor -n dev -o json | jq '.permissions[] | select(.allowed | not)'",
    ],
    [
      "Check on behalf of another user (needs impersonation rights) [not in the demo]",
      "kodama doctor --as jane -n team-a",
    ],
  ],
  notes: `Exit codes: 0 everything required is there, 1 the server cannot be reached (or a required tool is
missing), 2 no usable kubeconfig, 4 the server refused the credentials or a required permission is denied,
5 the server did not answer in time. Optional items only warn.`,
};

export const options = opts([
  {
    flags: "-o, --output <format>",
    description: "output format",
    choices: ["text", "json"],
    default: "text",
  },
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const { doctorCommand } = await import("../doctor/run.ts");
  setExitCode(await doctorCommand(await kubeOptionsFrom(inv.opts), inv.opts.output));
}
