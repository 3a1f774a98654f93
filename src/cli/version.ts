/** `kodama version`: client version, and the server's when a cluster is reachable (like kubectl version). */
import type { Command } from "@commander-js/extra-typings";
import { VERSION } from "../version.ts";
import { connectFromOpts, globalsOf } from "./flags.ts";
import { help } from "./help.ts";

export function register(program: Command) {
  help(program.command("version"), {
    group: "Other",
    summary: "Print the kodama version (and the server's with --server)",
    examples: [
      ["kodama's and Deno's versions", "kodama version"],
      ["Also the API server's, as JSON", "kodama version --server -o json"],
    ],
  })
    .option("--server", "also ask the API server for its version")
    .option("-o, --output <format>", "text or json", "text")
    .action(async (opts, command) => {
      const info: Record<string, string> = { kodama: VERSION, deno: Deno.version.deno };
      if (opts.server) {
        const kube = await connectFromOpts(globalsOf(command));
        info.server = await kube.serverVersion();
      }
      const text = opts.output === "json"
        ? JSON.stringify(info) + "\n"
        : Object.entries(info).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n";
      await Deno.stdout.write(new TextEncoder().encode(text));
    });
}
