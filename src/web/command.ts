/** `kodama ui`: start the server, print its URL (with the token), open a browser if asked, run until Ctrl-C. */
import type { Config } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import { ExitCode } from "../base/errors.ts";
import { withInterrupt } from "../base/proc/proc.ts";
import { stderrSink, stdoutSink } from "../base/sink.ts";
import { startUI } from "./server.ts";
import { checkListenAddresses } from "../base/listen.ts";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** The platform's "open this URL" command. */
export function openerFor(os: string, url: string): string[] {
  if (os === "darwin") return ["open", url];
  if (os === "windows") return ["rundll32", "url.dll,FileProtocolHandler", url];
  return ["xdg-open", url];
}

export async function uiCommand(
  kube: Kube,
  o: { port?: number; address?: string; open?: boolean; cfg: Config; allowPath?: string[] },
): Promise<number> {
  if (o.address !== undefined) checkListenAddresses(o.address, "--address"); // before the warning or a listener
  if (o.address !== undefined && !LOOPBACK.test(o.address)) {
    stderrSink.write(
      `warning: listening on ${o.address}: anyone who can reach this address and has the token controls your sessions\n`,
    );
  }
  const ui = await startUI(kube, {
    port: o.port,
    address: o.address,
    cfg: o.cfg,
    err: stderrSink,
    allowPath: o.allowPath,
  });
  stdoutSink.write(`${ui.loginUrl}\n`);
  stderrSink.write(
    `kodama ui: context ${kube.contextName ?? "(none)"}, namespace ${kube.namespace}; Ctrl-C stops it\n`,
  );
  let openDir: string | undefined;
  if (o.open) {
    try {
      // the URL carries the token, which must not appear in a process's arguments: as Jupyter does, the
      // browser opens a private file (0600) that forwards to it
      openDir = await Deno.makeTempDir({ prefix: "kodama-ui-" });
      const file = `${openDir}/open.html`;
      await Deno.writeTextFile(
        file,
        `<!doctype html><meta http-equiv="refresh" content="0;url=${ui.loginUrl}"><a href="${ui.loginUrl}">kodama ui</a>\n`,
        { mode: 0o600 },
      );
      const cmd = openerFor(Deno.build.os, file);
      const child = new Deno.Command(cmd[0], {
        args: cmd.slice(1),
        stdout: "null",
        stderr: "null",
        stdin: "null",
      })
        .spawn();
      child.status.catch(() => {});
    } catch {
      stderrSink.write(`could not open a browser: open the URL above yourself\n`);
    }
  }
  return await withInterrupt(async (signal) => {
    await new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => resolve(), { once: true });
      ui.finished.then(() => resolve());
    });
    await ui.shutdown();
    if (openDir) await Deno.remove(openDir, { recursive: true }).catch(() => {});
    return ExitCode.OK;
  }, { signals: ["SIGINT", "SIGTERM"] });
}
