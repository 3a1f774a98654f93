/** `kodama ui`: the local web dashboard (src/web/), a second front end over the same features. */
import { opts } from "./opttypes.ts";
import { connectFromOpts } from "./connect.ts";
import type { HelpSpec } from "./help.ts";
import { collect, type Invocation } from "./optspec.ts";
import { usageError } from "../base/errors.ts";
import { checkListenAddresses } from "../base/listen.ts";

export const names = ["ui"];

export const help: HelpSpec = {
  group: "Sessions",
  summary:
    "Open a local web dashboard: sessions, agent runs, diffs, sync conflicts, terminals, pods, workflows",
  usage: "[--port PORT] [--address ADDR] [--open] [flags]",
  long: `Starts a web server on 127.0.0.1 (a free port unless --port) and prints its URL with a token; open it
in a browser (--open does). It runs until Ctrl-C. The page is another front end over the same code as the
commands: the same kubeconfig, context and namespace flags, the same start/stop/resume/delete, agent runs,
session fetch, sync resolve, exec, logs, port-forwards and workflows.`,
  examples: [
    ["Start the dashboard and open it in the browser", "kodama ui --open"],
    ["On a fixed port, for the sessions of namespace dev", "kodama ui -n dev --port 8484"],
    [
      "Reach it from another machine (the token is still required) [not in the demo: it listens beyond this machine]",
      "kodama ui --address 0.0.0.0 --port 8484",
    ],
  ],
  notes: `Security: the page opened with the token gets a credential of its own that only its script sends, in
a header (no cookie, which browsers would send to every local port); the Host and Origin headers must name this server (DNS rebinding,
cross-site requests); changes need the page's CSRF token; a WebSocket with another Origin is refused; only
the bundled assets are served; no secret value (env files, git tokens) is ever sent to the browser; local
paths the page names (sync, env files, a repository) must lead inside the project the UI was started in or a
directory granted with --allow-path, never ~/.kodama, your home or its hidden files. The
assets are built in: the page works offline. Exit codes: 0 after Ctrl-C, 2 a bad --port or --address (an IP address or localhost), 1 a port in use.`,
};

export const options = opts([
  { flags: "--port <port>", description: "listen on this port (default: a free one)" },
  {
    flags: "--address <address>",
    description: "listen on this IP address (or localhost) instead of 127.0.0.1 (warns: others can reach it)",
  },
  { flags: "--open", description: "open the page in the default browser" },
  {
    flags: "--allow-path <dir>",
    description: "a directory (besides the project) whose files the page may name (repeatable)",
    parse: collect,
  },
]);

export async function run(inv: Invocation<typeof options>): Promise<void> {
  const opts = inv.opts;
  let port: number | undefined;
  if (opts.port !== undefined) {
    port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw usageError(`--port: not a port number: ${opts.port}`, "give 1-65535, or omit it for a free port");
    }
  }
  if (opts.address !== undefined) checkListenAddresses(String(opts.address), "--address");
  const [kube, { effectiveConfig }, { uiCommand }] = await Promise.all([
    connectFromOpts(opts),
    import("./settings.ts"),
    import("../web/command.ts"),
  ]);
  const { setExitCode } = await import("./exit.ts");
  setExitCode(
    await uiCommand(kube, {
      port,
      address: opts.address,
      open: !!opts.open,
      cfg: await effectiveConfig(),
      allowPath: opts.allowPath ?? [],
    }),
  );
}
