/** `kodama version`: client version, and the server's unless --client (like kubectl version). */
import { opts } from "./opttypes.ts";
import { VERSION } from "../base/version.ts";
import { connectFromOpts } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import type { Invocation } from "./optspec.ts";

export const names = ["version"];

export const help: HelpSpec = {
  group: "Other",
  summary: "Print the client and server version information",
  long:
    "As kubectl version: Client Version and Server Version (plus the Deno runtime); -o json|yaml gives clientVersion and serverVersion objects. The server's version is asked for unless --client is given.",
  examples: [
    ["Client Version (kodama), Deno Version and Server Version, as kubectl prints them", "kodama version"],
    ["Only the client, without contacting a cluster", "kodama version --client"],
    ["As JSON", "kodama version -o json"],
    ["As YAML", "kodama version -o yaml"],
  ],
};

export const options = opts([
  { flags: "--client", description: "only the client version (no cluster needed)" },
  {
    flags: "-o, --output <format>",
    description: "text, json or yaml",
    choices: ["text", "json", "yaml"],
    default: "text",
  },
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  // as kubectl version: clientVersion (kodama's, with the Deno runtime it runs on) and serverVersion
  const client = {
    gitVersion: `v${VERSION}`,
    denoVersion: Deno.version?.deno || "unknown",
    platform: `${Deno.build.os}/${
      ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch] ?? Deno.build.arch
    }`,
  };
  const info: { clientVersion: typeof client; serverVersion?: Record<string, unknown> } = {
    clientVersion: client,
  };
  const print = async () => {
    const text = opts.output === "json"
      ? JSON.stringify(info, null, 2) + "\n"
      : opts.output === "yaml"
      ? (await import("yaml")).stringify(info)
      : [
        `Client Version: ${client.gitVersion}`,
        `Deno Version: ${client.denoVersion}`,
        ...(info.serverVersion ? [`Server Version: ${info.serverVersion.gitVersion}`] : []),
      ].join("\n") + "\n";
    await Deno.stdout.write(new TextEncoder().encode(text));
  };
  if (!opts.client) {
    try {
      const kube = await connectFromOpts(opts);
      info.serverVersion = await kube.serverVersionInfo();
    } catch (e) {
      // like kubectl: the client's version still goes out, then the error
      await print();
      throw e;
    }
  }
  await print();
}
