/**
 * The `kodama config` operations. Each returns what to print: `stdout` is data, `stderr` is a
 * note for people. `src/cli/config.ts` only parses flags and prints these.
 */
import { stringify as yamlStringify } from "yaml";
import { notFound, usageError } from "../base/errors.ts";
import { renderTable } from "../ui/table.ts";
import { editConfigFile, pruneEmpty, readConfigFile } from "./file.ts";
import { coerceValue } from "./coerce.ts";
import { allKeys, getIn, keysUnder, lookupKey, typeLabel } from "./keys.ts";
import { type ConfigSource, loadConfig } from "./load.ts";
import { displayPath, findRepo, globalConfigPath, REPO_CONFIG_FILE } from "./paths.ts";
import { quote } from "../base/text/escape.ts";
import { maskSecret, SECRET_KEYS } from "./schema.ts";

/** A value as shown: a secret key's masked (maskSecret), a section's with its secret keys masked. */
function shown(key: string, value: unknown): unknown {
  if (SECRET_KEYS.includes(key)) return value === undefined ? value : maskSecret(value);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shown(`${key}.${k}`, v)]));
  }
  return value;
}

export interface Printed {
  stdout: string;
  stderr?: string;
}

export interface Scope {
  /** use the repo's .kodama.yaml instead of the global file */
  repo?: boolean;
  cwd?: string;
  /** kodama's home directory (default: $KODAMA_HOME, else ~/.kodama) */
  home?: string;
}

export type ViewFormat = "table" | "yaml" | "json";

function parseFormat(v: string | undefined, allowed: ViewFormat[], fallback: ViewFormat): ViewFormat {
  const f = (v ?? fallback) as ViewFormat;
  if (!allowed.includes(f)) {
    throw usageError(`unknown output format ${quote(v)}`, `use one of: ${allowed.join(", ")}`);
  }
  return f;
}

/** The file a command reads or writes. With `create`, a missing repo file goes to the git root. */
async function targetFile(scope: Scope, create: boolean): Promise<string> {
  if (!scope.repo) return globalConfigPath(scope.home);
  const loc = await findRepo(scope.cwd);
  if (loc.configFile) return loc.configFile;
  if (create && loc.gitRoot) return `${loc.gitRoot}/${REPO_CONFIG_FILE}`;
  throw notFound(
    `no ${REPO_CONFIG_FILE} found ${
      loc.gitRoot
        ? `between the current directory and the git root ${displayPath(loc.gitRoot)}`
        : "(not inside a git repository)"
    }`,
    loc.gitRoot
      ? `create one with: kodama config set --repo KEY VALUE`
      : "run this inside a git repository, or drop --repo to use the global config",
  );
}

export async function configPathCommand(scope: Scope): Promise<Printed> {
  return { stdout: (await targetFile(scope, false)) + "\n" };
}

/** `config view`: the file itself, or with `resolved` the merged settings and their sources. */
export async function configViewCommand(
  opts: Scope & { resolved?: boolean; output?: string; flags?: Record<string, unknown> },
): Promise<Printed> {
  if (opts.resolved) {
    const format = parseFormat(opts.output, ["table", "yaml", "json"], "table");
    const cfg = await loadConfig({ cwd: opts.cwd, flags: opts.flags, home: opts.home });
    const entries: Record<string, { value: unknown; source: ConfigSource }> = {};
    for (const k of allKeys()) {
      const source = cfg.sources[k.key];
      if (!source) continue;
      entries[k.key] = { value: shown(k.key, getIn(cfg.values, k.path)), source };
    }
    // unknown keys (cfg.warnings) are already reported on stderr at every command's start (cli/settings.ts)
    if (format === "json") return { stdout: JSON.stringify(entries, null, 2) + "\n" };
    if (format === "yaml") return { stdout: yamlStringify(entries) };
    const rows = Object.entries(entries).map(([k, e]) => [k, formatValue(e.value), e.source]);
    return { stdout: renderTable(["KEY", "VALUE", "SOURCE"], rows) };
  }
  const format = parseFormat(opts.output, ["yaml", "json"], "yaml");
  const path = await targetFile(opts, false);
  // no schema validation: show the file as written even when a value in it is wrong
  const file = await readConfigFile(path, { validate: false });
  // a secret (a webhook URL) shows masked: the document is changed in memory only, its comments kept
  let masked = false;
  for (const k of SECRET_KEYS) {
    const path = k.split(".");
    const v = file.doc.getIn(path);
    if (typeof v === "string") {
      file.doc.setIn(path, maskSecret(v));
      masked = true;
    }
  }
  // unknown keys (file.warnings) are already reported on stderr at every command's start (cli/settings.ts)
  const stderr = [
    ...(file.exists
      ? []
      : [`no config file at ${displayPath(path)} yet; \`kodama config set KEY VALUE\` creates it`]),
  ];
  const note = stderr.length ? stderr.join("\n") + "\n" : undefined;
  if (format === "json") {
    return { stdout: JSON.stringify(file.doc.toJS() ?? {}, null, 2) + "\n", stderr: note };
  }
  const text = masked ? file.doc.toString() : file.text;
  return { stdout: text && !text.endsWith("\n") ? text + "\n" : text, stderr: note };
}

/** `config get KEY`: the resolved value (section -> its subtree); exit 3 when unset without a default. */
export async function configGetCommand(
  key: string,
  opts: Scope & { output?: string; flags?: Record<string, unknown> },
): Promise<Printed> {
  const found = lookupKey(key);
  const format = opts.output === undefined ? undefined : parseFormat(opts.output, ["yaml", "json"], "yaml");
  const cfg = await loadConfig({ cwd: opts.cwd, flags: opts.flags, home: opts.home });
  const value = shown(key, getIn(cfg.values, found.info.path));
  if (value === undefined) {
    throw notFound(`${key} is not set and has no default`, `set it with: kodama config set ${key} VALUE`);
  }
  if (format === "json") return { stdout: JSON.stringify(value, null, 2) + "\n" };
  if (format === "yaml" || found.type === "section") return { stdout: yamlStringify(value) };
  if (Array.isArray(value)) return { stdout: value.map((v) => String(v) + "\n").join("") };
  return { stdout: String(value) + "\n" };
}

/** `config set KEY VALUE` into the global file (or the repo file with `repo`). */
export async function configSetCommand(key: string, raw: string, scope: Scope): Promise<Printed> {
  const found = lookupKey(key);
  if (found.type === "section") {
    const some = keysUnder(key).slice(0, 3).map((k) => k.key).join(", ");
    throw usageError(`${key} is a section, not a single setting`, `set one of its keys, e.g. ${some}`);
  }
  const value = coerceValue(found.info, raw);
  const path = await targetFile(scope, true);
  await editConfigFile(path, (file) => {
    file.doc.setIn(found.info.path, value);
  });
  return { stdout: "", stderr: `set ${key} = ${formatValue(shown(key, value))} in ${displayPath(path)}\n` };
}

/** `config unset KEY` (a leaf or a whole section). */
export async function configUnsetCommand(key: string, scope: Scope): Promise<Printed> {
  const found = lookupKey(key);
  const path = await targetFile(scope, false);
  const removed = await editConfigFile(path, (file) => {
    if (!file.doc.hasIn(found.info.path)) return false;
    file.doc.deleteIn(found.info.path);
    pruneEmpty(file.doc, found.info.path);
    return true;
  });
  return {
    stdout: "",
    stderr: removed
      ? `unset ${key} in ${displayPath(path)}\n`
      : `${key} was not set in ${displayPath(path)}\n`,
  };
}

/** `config keys`: every key with its type, default and description. */
export function configKeysCommand(opts: { output?: string }): Printed {
  const format = parseFormat(opts.output, ["table", "yaml", "json"], "table");
  const keys = allKeys().map((k) => ({
    key: k.key,
    type: typeLabel(k),
    ...(k.default !== undefined ? { default: k.default } : {}),
    description: k.description,
  }));
  if (format === "json") return { stdout: JSON.stringify(keys, null, 2) + "\n" };
  if (format === "yaml") return { stdout: yamlStringify(keys) };
  const out = allKeys().map((k) =>
    `${k.key}  ${typeLabel(k)}${k.default !== undefined ? `  (default ${formatValue(k.default)})` : ""}\n` +
    `    ${k.description}\n`
  );
  return { stdout: out.join("") };
}

export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => String(x)).join(", ")}]`;
  if (v === undefined) return "<unset>";
  return String(v);
}
