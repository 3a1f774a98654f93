/**
 * kodama — one program, several names:
 *   kodama / kubectl-kodama   the full CLI
 *   kpod                      `kodama exec`
 *   kwekash                   `kodama run kwekash`
 * This file is wiring only: which tool it was started as (src/cli/invoked.ts), the TLS warm-up for a line
 * that will connect, the last-words handler (src/cli/settle.ts), and the run (src/cli/dispatch.ts: the fast
 * reader, completion, or commander for help and errors). Each command is a table (src/cli/spec.ts) in a
 * light module (src/cli/commands.ts lists them) that imports its implementation only when it runs.
 */
import { mark, startTiming, timingLines, timingOn } from "./src/base/timing.ts";
import { warmTls } from "./src/kube/warm.ts";
import { argvFor, type InvokedAs, invokedAs } from "./src/cli/invoked.ts";
import { connectsSoon, run } from "./src/cli/dispatch.ts";
import { debugEnabled, lastWords } from "./src/cli/settle.ts";

export { COMMANDS } from "./src/cli/commands.ts";
export { argvFor, type InvokedAs } from "./src/cli/invoked.ts";
export { connectsSoon, run } from "./src/cli/dispatch.ts";
export { lastWords } from "./src/cli/settle.ts";

export async function main(args: string[], as: InvokedAs = invokedAs()): Promise<never> {
  const argv = argvFor(as, args);
  if (debugEnabled(args)) startTiming();
  if (connectsSoon(argv)) warmTls();
  lastWords(argv, args);
  const code = await run(argv);
  if (timingOn()) {
    mark("done");
    const { log } = await import("./src/base/log.ts");
    for (const line of timingLines()) await log("debug", ["timing"], line);
  }
  Deno.exit(code);
}

if (import.meta.main) await main(Deno.args);
