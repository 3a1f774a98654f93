/** Workflow params: `--param k=v` values checked and converted by type; missing required ones prompted on a TTY. */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { suggest } from "../base/text/suggest.ts";
import { escapeControl, quote } from "../base/text/escape.ts";

/** A workflow's text in a prompt or an error: at most 200 characters, so it cannot push the question away. */
function shorten(s: string, max = 200): string {
  return s.length > max ? s.slice(0, max) + `… (${s.length - max} more characters)` : s;
}
import type { Param, Workflow } from "./schema.ts";

export function parseParamFlags(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf("=");
    if (eq <= 0) {
      throw new KodamaError(
        `--param ${JSON.stringify(f)}: expected NAME=VALUE`,
        ExitCode.USAGE,
        'e.g. --param cmd="weka status"',
      );
    }
    out[f.slice(0, eq)] = f.slice(eq + 1);
  }
  return out;
}

export function convertParam(
  name: string,
  p: Param,
  raw: string | number | boolean,
): string | number | boolean {
  const type = p.type ?? "string";
  const bad = (want: string) =>
    new KodamaError(
      `--param ${escapeControl(`${name}=${raw}`)}: expected ${want}`,
      ExitCode.USAGE,
      p.description ? `${escapeControl(name)}: ${escapeControl(shorten(p.description))}` : undefined,
    );
  if (type === "number") {
    const n = typeof raw === "number" ? raw : Number(String(raw).trim());
    if (String(raw).trim() === "" || Number.isNaN(n)) throw bad("a number");
    return n;
  }
  if (type === "boolean") {
    if (typeof raw === "boolean") return raw;
    const s = String(raw).toLowerCase();
    if (["true", "yes", "1", "on"].includes(s)) return true;
    if (["false", "no", "0", "off"].includes(s)) return false;
    throw bad("true or false");
  }
  if (type === "enum") {
    const s = String(raw);
    if (!(p.values ?? []).includes(s)) {
      const hint = suggest(s, p.values ?? []);
      throw bad(`one of ${(p.values ?? []).join(", ")}${hint ? ` (did you mean ${hint}?)` : ""}`);
    }
    return s;
  }
  return String(raw);
}

export interface ParamOptions {
  interactive: boolean;
  /** asks for a missing value on the terminal */
  ask?: (name: string, p: Param) => Promise<string | boolean>;
}

export async function resolveParams(
  wf: Workflow,
  given: Record<string, string | number | boolean>,
  o: ParamOptions,
): Promise<Record<string, string | number | boolean>> {
  const decl = wf.params ?? {};
  for (const k of Object.keys(given)) {
    if (!(k in decl)) {
      const hint = suggest(k, Object.keys(decl));
      throw new KodamaError(
        `unknown param ${quote(k)}${hint ? ` (did you mean ${quote(hint)}?)` : ""}`,
        ExitCode.USAGE,
        Object.keys(decl).length
          ? `params: ${Object.keys(decl).join(", ")}`
          : "this workflow takes no params",
      );
    }
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [name, p] of Object.entries(decl)) {
    if (name in given) out[name] = convertParam(name, p, given[name]);
    else if (p.default !== undefined) out[name] = p.default;
    else if (o.interactive && o.ask) out[name] = convertParam(name, p, await o.ask(name, p));
    else {
      throw new KodamaError(
        `missing required param ${quote(name)}${
          p.description ? ` (${escapeControl(shorten(p.description))})` : ""
        }`,
        ExitCode.USAGE,
        `pass --param ${name}=${p.type === "enum" ? (p.values ?? []).join("|") : "VALUE"}`,
      );
    }
  }
  return out;
}

/** Terminal prompt for a missing param (loaded lazily: @inquirer/prompts is not small). */
export async function askParam(name: string, p: Param): Promise<string | boolean> {
  const { input, select, confirm } = await import("@inquirer/prompts");
  // name, description and choices come from the workflow file: shown, never obeyed by the terminal
  const message = escapeControl(
    p.description ? `${shorten(name)} (${shorten(p.description)})` : shorten(name),
  );
  const { default: process } = await import("node:process");
  const output = process.stderr;
  if (p.type === "enum") {
    return await select({
      message,
      choices: (p.values ?? []).map((v) => ({ value: v, name: escapeControl(shorten(v)) })),
    }, {
      output,
    });
  }
  if (p.type === "boolean") return await confirm({ message }, { output });
  return await input({ message, required: true }, { output });
}
