/** Logging: @logtape/logtape to stderr, text or JSON lines. Loaded only when a command runs. */
import { configure, getLogger, getTextFormatter, jsonLinesFormatter } from "@logtape/logtape";
import type { LogLevel, LogRecord } from "@logtape/logtape";
import { stderrSink } from "./sink.ts";
import { usageError } from "../errors.ts";

export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

let level: LogLevel = "warning";

export function isDebug(): boolean {
  return level === "debug";
}

export async function setupLogging(opts: { level?: string; format?: string }): Promise<void> {
  const lv = (opts.level ?? "warning") as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(lv)) {
    throw usageError(`unknown log level "${opts.level}"`, `use one of: ${LOG_LEVELS.join(", ")}`);
  }
  if (opts.format && opts.format !== "text" && opts.format !== "json") {
    throw usageError(`unknown log format "${opts.format}"`, "use text or json");
  }
  level = lv;
  const formatter = opts.format === "json" ? jsonLinesFormatter : getTextFormatter({ timestamp: "time" });
  await configure({
    reset: true,
    sinks: {
      // every record goes to stderr, so stdout stays data
      stderr: (record: LogRecord) => stderrSink.write(formatter(record)),
    },
    loggers: [
      { category: "kodama", lowestLevel: lv, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

export function logger(...category: string[]) {
  return getLogger(["kodama", ...category]);
}
