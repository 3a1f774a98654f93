/**
 * Logging: @logtape/logtape to stderr, text or JSON lines. `setupLogging` only records the settings;
 * logtape is imported and configured the first time something logs, so commands that log nothing
 * (the common case at the default level) never pay for it.
 */
import type { Logger, LogLevel, LogRecord } from "@logtape/logtape";
import { usageError } from "./errors.ts";
import { stderrSink } from "./sink.ts";
import { redact } from "./redact.ts";
import { quote } from "./text/escape.ts";

export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

let level: LogLevel = "warning";
let format: "text" | "json" = "text";
let ready: Promise<typeof import("@logtape/logtape")> | undefined;
let loaded: typeof import("@logtape/logtape") | undefined;

export function isDebug(): boolean {
  return level === "debug";
}

/** True when a record at `lv` would be written (check before building expensive messages). */
export function enabled(lv: LogLevel): boolean {
  return LOG_LEVELS.indexOf(lv as typeof LOG_LEVELS[number]) >=
    LOG_LEVELS.indexOf(level as typeof LOG_LEVELS[number]);
}

/** Record the settings; at debug/info level logtape is loaded now, since records will follow. */
export async function setupLogging(opts: { level?: string; format?: string }): Promise<void> {
  const lv = (opts.level ?? "warning") as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(lv)) {
    throw usageError(`unknown log level ${quote(opts.level)}`, `use one of: ${LOG_LEVELS.join(", ")}`);
  }
  if (opts.format && opts.format !== "text" && opts.format !== "json") {
    throw usageError(`unknown log format ${quote(opts.format)}`, "use text or json");
  }
  level = lv;
  format = (opts.format ?? "text") as "text" | "json";
  if (enabled("info")) loaded = await configured();
}

function configured(): Promise<typeof import("@logtape/logtape")> {
  ready ??= import("@logtape/logtape").then((lt) => {
    const formatter = format === "json" ? lt.jsonLinesFormatter : lt.getTextFormatter({ timestamp: "time" });
    lt.configureSync({
      reset: true,
      sinks: {
        // every record goes to stderr, so stdout stays data
        // and secrets a workflow run registered (base/redact.ts) never reach it in clear
        stderr: (record: LogRecord) => stderrSink.write(redact(formatter(record))),
      },
      loggers: [
        { category: "kodama", lowestLevel: level, sinks: ["stderr"] },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
      ],
    });
    return lt;
  });
  return ready;
}

/** Log one record (no-op below the configured level; logtape loads on the first record). */
export async function log(
  lv: LogLevel,
  category: string[],
  message: string,
  props: Record<string, unknown> = {},
): Promise<void> {
  if (!enabled(lv)) return;
  const lt = loaded ?? (loaded = await configured());
  const l: Logger = lt.getLogger(["kodama", ...category]);
  l[lv === "warning" ? "warn" : lv](message, props);
}
