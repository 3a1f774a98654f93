/**
 * Config key paths: the registry of known keys (derived from the zod schema), parsing of
 * dotted paths, coercion of command-line strings to each key's type, and did-you-mean.
 */
import { z } from "zod";
import { usageError } from "../base/errors.ts";
import { levenshtein } from "../base/text/suggest.ts";
import {
  configSchema,
  type FormatHint,
  formatHintOf,
  isCommandArgs,
  type RepoRuleInfo,
  repoRuleOf,
  unwrapSchema,
} from "./schema.ts";
import { quote } from "../base/text/escape.ts";

export type KeyKind = "string" | "integer" | "number" | "boolean" | "enum" | "list";

export interface KeyInfo {
  /** dotted path, e.g. "defaults.resources.cpu" */
  key: string;
  path: string[];
  kind: KeyKind;
  description: string;
  /** built-in default (undefined = no default: the key is unset unless configured) */
  default?: unknown;
  hint?: FormatHint;
  enumValues?: readonly string[];
  min?: number;
  max?: number;
  /** the leaf schema without optional/default wrappers: validates one value */
  schema: z.ZodType;
  /** a list of a command's words: a string is split as a POSIX shell splits it */
  commandArgs?: boolean;
  /** what a repo's .kodama.yaml may do with it (schema.ts RepoRule); undefined = anything */
  repoRule?: RepoRuleInfo;
}

export interface SectionInfo {
  key: string;
  path: string[];
  description: string;
}

interface Registry {
  leaves: Map<string, KeyInfo>;
  sections: Map<string, SectionInfo>;
}

let registry: Registry | undefined;

function describeOf(...schemas: z.ZodType[]): string {
  for (const s of schemas) if (s.description) return s.description;
  return "";
}

function build(): Registry {
  const leaves = new Map<string, KeyInfo>();
  const sections = new Map<string, SectionInfo>();
  const walk = (schema: z.ZodType, path: string[]) => {
    const { inner, defaultValue: def, layers } = unwrapSchema(schema);
    const description = describeOf(...layers);
    if (inner instanceof z.ZodObject) {
      if (path.length) sections.set(path.join("."), { key: path.join("."), path, description });
      for (const [name, child] of Object.entries(inner.shape)) walk(child as z.ZodType, [...path, name]);
      return;
    }
    const info: KeyInfo = { key: path.join("."), path, kind: "string", description, schema: inner };
    if (def !== undefined) info.default = def;
    const hint = formatHintOf(inner);
    if (hint) info.hint = hint;
    const rule = repoRuleOf(inner);
    if (rule) info.repoRule = rule;
    if (inner instanceof z.ZodNumber) {
      info.kind = inner.isInt ? "integer" : "number";
      if (inner.minValue !== null && Number.isFinite(inner.minValue)) info.min = inner.minValue;
      if (inner.maxValue !== null && Number.isFinite(inner.maxValue)) info.max = inner.maxValue;
    } else if (inner instanceof z.ZodBoolean) info.kind = "boolean";
    else if (inner instanceof z.ZodEnum) {
      info.kind = "enum";
      info.enumValues = inner.options as string[];
    } else if (inner instanceof z.ZodArray) {
      info.kind = "list";
      if (isCommandArgs(inner)) info.commandArgs = true;
    }
    leaves.set(info.key, info);
  };
  walk(configSchema, []);
  return { leaves, sections };
}

function reg(): Registry {
  return registry ??= build();
}

/** Every leaf key, in schema order. */
export function allKeys(): KeyInfo[] {
  return [...reg().leaves.values()];
}
export function keyInfo(key: string): KeyInfo | undefined {
  return reg().leaves.get(key);
}
export function sectionInfo(key: string): SectionInfo | undefined {
  return reg().sections.get(key);
}
/** Leaf keys under a section (or the leaf itself). */
export function keysUnder(key: string): KeyInfo[] {
  return allKeys().filter((k) => k.key === key || k.key.startsWith(key + "."));
}

/** A human description of a key's type, e.g. "CPU quantity (e.g. 2, 500m, 1.5)" or "integer 1..1000". */
export function typeLabel(k: KeyInfo): string {
  if (k.hint) return `${k.hint.name} (e.g. ${k.hint.example})`;
  switch (k.kind) {
    case "enum":
      return k.enumValues!.join(" | ");
    case "integer":
    case "number":
      return k.min !== undefined && k.max !== undefined ? `${k.kind} ${k.min}..${k.max}` : k.kind;
    case "list":
      return "list of strings";
    default:
      // a record (`{K: V}`): set it in the file, or with the flags that add one entry
      return k.schema instanceof z.ZodRecord ? "map (KEY: VALUE)" : k.kind;
  }
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Parse "a.b.c" into segments; throws a usage error for malformed paths. */
export function parseKeyPath(key: string): string[] {
  const parts = key.split(".");
  if (!key || parts.some((p) => !SEGMENT.test(p))) {
    throw usageError(
      `invalid config key ${quote(key)}`,
      "keys are dotted paths like defaults.resources.cpu; run `kodama config keys` to list them",
    );
  }
  return parts;
}

/** The known key (leaf or section) closest to `key`, if any is close enough. */
export function didYouMean(key: string, candidates?: string[]): string | undefined {
  const all = candidates ?? [...reg().leaves.keys(), ...reg().sections.keys()];
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of all) {
    let score = levenshtein(lower, c.toLowerCase());
    // "resources.cpu" or "cpu" -> "defaults.resources.cpu": compare against the same number of trailing segments
    const n = key.split(".").length;
    const tail = c.split(".").slice(-n).join(".");
    if (tail !== c) score = Math.min(score, levenshtein(lower, tail.toLowerCase()) + 1);
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(key.length / 3));
  return best !== undefined && bestScore <= limit ? best : undefined;
}

export type Lookup = { type: "leaf"; info: KeyInfo } | { type: "section"; info: SectionInfo };

/** Resolve a user-given key to a known leaf or section; unknown keys are a usage error with a suggestion. */
export function lookupKey(key: string): Lookup {
  parseKeyPath(key);
  const leaf = reg().leaves.get(key);
  if (leaf) return { type: "leaf", info: leaf };
  const section = reg().sections.get(key);
  if (section) return { type: "section", info: section };
  const guess = didYouMean(key);
  throw usageError(
    `unknown config key ${quote(key)}${guess ? ` — did you mean ${guess}?` : ""}`,
    "run `kodama config keys` to list every key",
  );
}

/** Validate one value for a key (as it would appear in a file); throws a usage error naming the key. */
export function validateValue(info: KeyInfo, value: unknown, raw?: string): void {
  const show = (v: string) => JSON.stringify(v);
  const r = info.schema.safeParse(value);
  if (r.success) return;
  const issue = r.error.issues[0];
  const where = issue.path.length ? ` (item ${issue.path.join(".")})` : "";
  let message = issue.message;
  // zod's generic messages don't show the input; make them say what was given
  if (raw !== undefined && /^(Invalid|Too )/.test(message)) message = `${show(raw)}: ${message}`;
  throw usageError(`invalid value for ${info.key}${where}: ${message}`, expectedHint(info));
}

export function expectedHint(info: KeyInfo): string {
  const example = info.hint
    ? `e.g. kodama config set ${info.key} ${info.hint.example.split(",")[0].trim()}`
    : info.kind === "boolean"
    ? `e.g. kodama config set ${info.key} true`
    : info.kind === "enum"
    ? `e.g. kodama config set ${info.key} ${info.enumValues![0]}`
    : info.kind === "list" && info.commandArgs
    ? `e.g. kodama config set ${info.key} "claude -p --model opus"  (split as a shell does; or [a, b])`
    : info.kind === "list"
    ? `e.g. kodama config set ${info.key} "[a, b]"  (or one item)`
    : info.kind === "integer" || info.kind === "number"
    ? `e.g. kodama config set ${info.key} ${info.default ?? info.min ?? 1}`
    : `run \`kodama config keys\` for the expected format`;
  return example;
}

/** Read a nested value by path from a plain object. */
export function getIn(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export function hasIn(obj: unknown, path: string[]): boolean {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur) || !Object.hasOwn(cur, p)) return false;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur !== undefined && cur !== null;
}

export function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}
