/** `kodama version`: client version, and the server's unless --client (like kubectl version). */
import { VERSION } from "../version.ts";
import { connectFromOpts, type GlobalOptions } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import type { Invocation, OptSpec } from "./optspec.ts";

export const names = ["version"];

export const help: HelpSpec = {
  group: "Other",
  summary: "Print the client and server version information",
  long: "As kubectl version: the server's version is asked for unless --client is given.",
  examples: [
    ["kodama's, Deno's and the API server's versions", "kodama version"],
    ["Only the client, without contacting a cluster", "kodama version --client"],
    ["As JSON", "kodama version -o json"],
    ["As YAML", "kodama version -o yaml"],
  ],
};

export const options: readonly OptSpec[] = [
  { flags: "--client", description: "only the client version (no cluster needed)" },
  {
    flags: "-o, --output <format>",
    description: "text, json or yaml",
    choices: ["text", "json", "yaml"],
    default: "text",
  },
];

export async function run(inv: Invocation): Promise<void> {
  const opts = inv.opts;
  const info: Record<string, string> = { kodama: VERSION, deno: Deno.version.deno };
  const print = async () => {
    const text = opts.output === "json"
      ? JSON.stringify(info) + "\n"
      : opts.output === "yaml"
      ? (await import("yaml")).stringify(info)
      : Object.entries(info).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n";
    await Deno.stdout.write(new TextEncoder().encode(text));
  };
  if (!opts.client) {
    try {
      const kube = await connectFromOpts(opts as GlobalOptions);
      info.server = await kube.serverVersion();
    } catch (e) {
      // like kubectl: the client's version still goes out, then the error
      await print();
      throw e;
    }
  }
  await print();
}
