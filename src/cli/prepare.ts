/**
 * What every command does once its line is read and before it runs: the config files' log and colour
 * settings under the flags, then logging. Commander's preAction hook (main.ts) and the fast reader
 * (src/cli/fast.ts) both call it.
 */
import type { Invocation } from "./optspec.ts";
import type { CommandSpec } from "./spec.ts";
import { mark } from "../base/timing.ts";
import { InvalidConfigValue } from "../base/errors.ts";
import type { Config } from "../config/schema.ts";

export async function prepare(
  inv: Pick<Invocation, "opts" | "given">,
  spec?: Pick<CommandSpec, "withBrokenConfig">,
): Promise<void> {
  const o = { ...inv.opts } as { logLevel?: string; logFormat?: string; color?: boolean };
  const { userConfig } = await import("./settings.ts");
  let cfg: Config | undefined;
  try {
    cfg = await userConfig();
  } catch (e) {
    // a value that breaks its key's rule stops every command with the fix it names (`kodama config set KEY
    // VALUE`) — except the config commands that show or make that fix: they run on the defaults. A file that
    // cannot be read as config at all (a directory, a FIFO, bad YAML) stops them too.
    if (!(spec?.withBrokenConfig && e instanceof InvalidConfigValue)) throw e;
  }
  if (cfg && !inv.given("logLevel")) o.logLevel = cfg.log.level;
  if (cfg && !inv.given("logFormat")) o.logFormat = cfg.log.format;
  const { setColor } = await import("../ui/color.ts");
  if (o.color === false) setColor(false);
  else if (cfg && cfg.output.color !== "auto") setColor(cfg.output.color === "always");
  const { setupLogging } = await import("../base/log.ts");
  await setupLogging({ level: o.logLevel, format: o.logFormat });
  mark("config and logging set up");
}
