/**
 * Reading and writing one config file: YAML with line/column errors, validation against the
 * schema, comment-preserving edits (yaml's Document API), atomic writes under a lock file.
 */
import { dirname } from "node:path";
import { type Document, isMap, LineCounter, parseDocument } from "yaml";
import { ExitCode, InvalidConfigValue, KodamaError, usageError } from "../base/errors.ts";
import { didYouMean, keyInfo, sectionInfo } from "./keys.ts";
import { displayPath } from "./paths.ts";
import { acquireLock, atomicWrite } from "./atomic.ts";
import { findOffset, posSuffix, yamlErrorHint } from "../base/text/yamlpos.ts";
import { configSchema } from "./schema.ts";
import { readTextBounded } from "../base/fs/boundedread.ts";
import { isStackOverflow, lineColumn, nestingProblem } from "../base/text/yamlguard.ts";

export interface ConfigFile {
  path: string;
  /** the file's text ("" when the file does not exist) */
  text: string;
  exists: boolean;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** the file's settings as plain data: unknown keys and empty values removed, aliases applied */
  data: Record<string, unknown>;
  /** unknown keys etc., one line each, prefixed with the file */
  warnings: string[];
}

/** Parse config text; malformed YAML or invalid values throw a one-line usage error with file:line:column. */
export function parseConfigText(
  path: string,
  text: string,
  opts: { exists?: boolean; validate?: boolean } = {},
): ConfigFile {
  const exists = opts.exists ?? true;
  const lineCounter = new LineCounter();
  const shown = displayPath(path);
  const deep = nestingProblem(text, (at) => `${shown}:${lineColumn(text, at)}`);
  if (deep) throw new KodamaError(deep, ExitCode.USAGE, "a configuration file never needs that much nesting");
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    let msg = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    if (isStackOverflow(msg)) msg = "collections nest too deeply";
    throw new KodamaError(
      `${shown}${posSuffix(lineCounter, e.pos?.[0])}: invalid YAML: ${msg}`,
      ExitCode.USAGE,
      yamlErrorHint(msg, text, e.pos?.[0]) ??
        `fix the file in an editor (kodama config path${
          path.endsWith(".kodama.yaml") ? " --repo" : ""
        } prints its path)`,
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    // yaml refuses an alias bomb ("Excessive alias count ..."): say which file
    throw new KodamaError(
      `${shown}: invalid YAML: ${(e as Error).message.split("\n")[0]}`,
      ExitCode.USAGE,
      "a config file needs no more than a few aliases (*name); write the values out",
    );
  }
  if (raw !== null && raw !== undefined && (typeof raw !== "object" || Array.isArray(raw))) {
    throw usageError(
      `${shown}${
        posSuffix(lineCounter, doc.contents?.range?.[0])
      }: expected a mapping of settings at the top level`,
      "a config file looks like `defaults:\\n  namespace: dev`",
    );
  }
  const warnings: string[] = [];
  const data = normalize((raw ?? {}) as Record<string, unknown>, [], (key) => {
    const guess = didYouMean(key);
    warnings.push(
      `${shown}${
        posSuffix(lineCounter, findOffset(doc.contents, key.split("."), true))
      }: unknown config key "${key}" ignored${guess ? ` — did you mean ${guess}?` : ""}`,
    );
  });
  // validate what remains; the first problem is reported with its position
  const r = opts.validate === false ? undefined : configSchema.safeParse(data);
  if (r && !r.success) {
    const issue = r.error.issues[0];
    const path2 = issue.path.map(String);
    // walk up to the nearest known key for a useful position
    let key = path2;
    while (key.length && !keyInfo(key.join(".")) && !sectionInfo(key.join("."))) key = key.slice(0, -1);
    const leaf = keyInfo(key.join("."));
    const item = path2.length > key.length ? ` (item ${path2.slice(key.length).join(".")})` : "";
    throw new InvalidConfigValue(
      `${shown}${posSuffix(lineCounter, findOffset(doc.contents, path2))}: invalid value for ${
        key.join(".") || "config"
      }${item}: ${issue.message}`,
      ExitCode.USAGE,
      leaf
        ? `fix it with: kodama config set ${leaf.key}${path.endsWith(".kodama.yaml") ? " --repo" : ""} VALUE`
        : undefined,
    );
  }
  return { path, text, exists, doc, lineCounter, data, warnings };
}

/**
 * Keep only known keys; drop `null` leaves (`key:` with no value means unset); map the README's
 * `defaults.env.*` spelling onto `env.*`. Unknown keys are reported through `unknown`. The `templates:`
 * section is not a setting: src/session/spec/template.ts reads and checks it.
 */
function normalize(
  raw: Record<string, unknown>,
  _prefix: string[],
  unknown: (key: string) => void,
): Record<string, unknown> {
  const src = structuredClone(raw);
  const defaults = src.defaults as Record<string, unknown> | undefined;
  if (defaults && typeof defaults === "object" && defaults.env && typeof defaults.env === "object") {
    const env = (src.env && typeof src.env === "object" ? src.env : {}) as Record<string, unknown>;
    src.env = { ...(defaults.env as Record<string, unknown>), ...env };
    delete defaults.env;
  }
  // `templates:` is read by the session templates (src/session/spec/template.ts), with its own schema
  delete src.templates;
  const walk = (obj: Record<string, unknown>, prefix: string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const path = [...prefix, k];
      const key = path.join(".");
      if (v === null || v === undefined) continue;
      if (keyInfo(key)) out[k] = v;
      else if (sectionInfo(key)) {
        // a section given a non-mapping value is left for the schema to reject
        out[k] = typeof v === "object" && !Array.isArray(v) ? walk(v as Record<string, unknown>, path) : v;
      } else unknown(key);
    }
    return out;
  };
  return walk(src, []);
}

/** Read a config file; a missing file is an empty config. */
export async function readConfigFile(path: string, opts: { validate?: boolean } = {}): Promise<ConfigFile> {
  let text = "";
  let exists = true;
  try {
    text = await readTextBounded(path, { what: "config file", kind: "config", display: displayPath(path) });
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    if (e instanceof Deno.errors.NotFound) exists = false;
    else if (e instanceof Deno.errors.PermissionDenied) {
      throw new KodamaError(`cannot read ${displayPath(path)}: permission denied`, ExitCode.FAILED);
    } else throw e;
  }
  return parseConfigText(path, text, { exists, validate: opts.validate });
}

/**
 * Edit a config file under its lock: re-read it, let `edit` change the yaml Document
 * (comments and key order are kept), check the result still validates, write it atomically.
 */
export async function editConfigFile<T>(path: string, edit: (file: ConfigFile) => T): Promise<T> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const release = await acquireLock(path);
  try {
    // no schema validation here: `config set` must be able to repair a bad value by hand
    const file = await readConfigFile(path, { validate: false });
    const result = edit(file);
    const text = file.doc.contents === null && !file.doc.commentBefore && !file.doc.comment
      ? ""
      : file.doc.toString();
    parseConfigText(path, text, { validate: false }); // never write a file we could not read back
    await atomicWrite(path, text);
    return result;
  } finally {
    await release();
  }
}

/** Remove maps left empty by an unset, from the leaf's parent upwards. */
export function pruneEmpty(doc: Document, path: string[]): void {
  for (let n = path.length - 1; n > 0; n--) {
    const p = path.slice(0, n);
    const node = doc.getIn(p, true);
    if (isMap(node) && node.items.length === 0 && !node.comment && !node.commentBefore) doc.deleteIn(p);
    else break;
  }
  // an empty document instead of "{}"
  if (isMap(doc.contents) && doc.contents.items.length === 0 && !doc.contents.comment) doc.contents = null;
}
