/**
 * `agent logs`: the structured stream as a person reads it, one line per message and tool call, as it
 * arrives. Pure: a chunk of the log in, lines out (a renderer keeps the unfinished last line).
 * Everything shown comes from the pod, so control characters are dropped and format characters (bidi
 * overrides, zero-width marks) shown escaped (src/base/text/escape.ts terminalText); `-o json` writes them as \uXXXX.
 */
import { stripControl } from "../../ui/color.ts";
import { terminalJson } from "../../base/text/escape.ts";
import { type AgentEvent, createParser } from "./stream.ts";

const MAX_LINE = 400;

function short(s: string, max = MAX_LINE): string {
  const one = stripControl(s).replace(/\s*\n\s*/g, " ⏎ ").replace(/\t/g, " ").trim();
  return one.length > max ? one.slice(0, max) + "…" : one;
}

/** The line for one event, or undefined for events not worth a line (a tool call that went well). */
export function renderEvent(e: AgentEvent): string | undefined {
  switch (e.kind) {
    case "init":
      return `== ${e.agent}${e.version ? " " + e.version : ""}${
        e.model ? ` (model ${short(e.model, 80)})` : ""
      }`;
    case "message":
      return `${short(e.text)}`;
    case "tool":
      return `-> ${short(e.name, 60)}${e.detail ? " " + short(e.detail) : ""}`;
    case "tool-result":
      return e.ok ? undefined : `   failed${e.text ? ": " + short(e.text, 200) : ""}`;
    case "denied":
      return `!! denied${e.name ? " " + short(e.name, 60) : ""}: ${short(e.message)}`;
    case "retry":
      return `.. ${short(e.message)}`;
    case "wait": {
      const left = e.ms !== undefined ? Math.round(e.ms / 1000) : undefined;
      return `.. waiting${left !== undefined ? ` ${left}s` : ""}: ${
        short(e.via ?? e.reason, 80)
      }, then continuing${e.attempt !== undefined ? ` (${e.attempt}/${e.of ?? "?"})` : ""}`;
    }
    case "continue":
      return `.. continued (${short(e.reason, 40)}${
        e.attempt !== undefined ? `, ${e.attempt}/${e.of ?? "?"}` : ""
      })`;
    case "fallback":
      return `.. switched to ${short(e.model, 80)}${e.reason ? ` (${short(e.reason, 40)})` : ""}`;
    case "budget":
      return `!! ended: ${short(e.message)}`;
    case "usage":
      return undefined;
    case "error":
      return `!! error: ${short(e.message)}`;
    case "result": {
      const facts = [
        e.turns !== undefined ? `${e.turns} turn${e.turns === 1 ? "" : "s"}` : "",
        e.inputTokens !== undefined || e.outputTokens !== undefined
          ? `${(e.inputTokens ?? 0) + (e.outputTokens ?? 0)} tokens`
          : "",
        e.costUsd ? `$${e.costUsd.toFixed(4)}` : "",
        e.denied ? `${e.denied} denied` : "",
      ].filter(Boolean).join(", ");
      return e.ok
        ? `== done${facts ? ` (${facts})` : ""}`
        : `== failed: ${short(e.error ?? "error")}${facts ? ` (${facts})` : ""}`;
    }
    case "text":
      return stripControl(e.line);
  }
}

/** Feed chunks of the log as they come; get the rendered lines of every whole line so far. */
export function createRenderer(): { push(chunk: string): string[]; end(): string[] } {
  const parse = createParser();
  let rest = "";
  const render = (line: string) => parse(line).map(renderEvent).filter((l): l is string => l !== undefined);
  return {
    push(chunk) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      return parts.flatMap(render);
    },
    end() {
      const last = rest;
      rest = "";
      return last ? render(last) : [];
    },
  };
}

/** A whole log, rendered. */
export function renderLog(text: string): string {
  const r = createRenderer();
  const lines = [...r.push(text), ...r.end()];
  return lines.length ? lines.join("\n") + "\n" : "";
}

/** How `agent logs` prints: `text` one line per event, `raw` the stream itself, `json` one event per line. */
export type LogFormat = "text" | "raw" | "json";

/** A sink that renders the log's bytes as they come; `end()` flushes an unfinished last line. */
export function logSink(format: LogFormat, out: { write(c: Uint8Array | string): void }) {
  if (format === "raw") return { sink: out, end: () => {} };
  const dec = new TextDecoder();
  const parse = createParser();
  let rest = "";
  const emit = (line: string) => {
    const events = parse(line);
    if (format === "json") {
      for (const e of events) out.write(terminalJson(JSON.stringify(e)) + "\n");
      return;
    }
    for (const e of events) {
      const l = renderEvent(e);
      if (l !== undefined) out.write(l + "\n");
    }
  };
  return {
    sink: {
      write(c: Uint8Array | string) {
        const parts = (rest + (typeof c === "string" ? c : dec.decode(c, { stream: true }))).split("\n");
        rest = parts.pop() ?? "";
        parts.forEach(emit);
      },
    },
    end() {
      const last = rest + dec.decode();
      rest = "";
      if (last) emit(last);
    },
  };
}
