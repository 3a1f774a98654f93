// kodama: before a preset's run, the project config files its CLI reads from the workspace (presets.ts:
// projectFiles), checked for a variable that decides where the user's key goes (src/config/steering.ts, whose
// pattern kodama passes in). Never writes anything. Run in the workspace by start.sh:
//   node -e PROJCHECK PATTERN FORMAT:PATH...
// FORMAT is `json-env` (a JSON object whose `env` object sets the CLI's variables: Claude Code's settings),
// `dotenv` (KEY=VALUE lines, `export KEY=…`, `KEY: …`, as the dotenv package reads them: the Gemini CLI's),
// `opencode-config` (opencode.json/.jsonc: an allow-list of keys, no `{env:…}`/`{file:…}`), `opencode-dir` (a
// `.opencode/` folder: only Markdown agents, commands and skills, no plugins or tools), `qwen-settings` (Qwen Code's project settings: its `env` checked as json-env, and an allow-list of the other
// keys, because a provider (`modelProviders`: a baseUrl and the variable of its key), `security.auth.baseUrl`,
// `proxy`, custom headers, hooks and MCP servers there each steer the key or run code: any other key counts)
// or `absent` (a file or folder that must not be there at all, whatever it holds: pi's .pi/, whose settings,
// providers and extensions are code and endpoints; a symbolic link, even a dangling one, counts).
// Exit 0 when none does; else 1 and one line on stdout: `FILE sets NAME, NAME; FILE2 …` (names, never
// values). A file that is there but cannot be read or is not JSON counts (fail closed): its CLI may read it.
"use strict";
const fs = require("node:fs");

const [pattern, ...specs] = process.argv.slice(1);
const steering = new RegExp(pattern, "i");

/** a name as it may be shown on a terminal: printable ASCII only */
const shown = (s) => String(s).replace(/[^\x20-\x7e]/g, "?").slice(0, 80);

/** the variable names a dotenv file sets: the dotenv package's own rule, and any `NAME=`/`NAME:` line */
function dotenvNames(text) {
  const lines = text.replace(/\r\n?/g, "\n");
  const names = new Set();
  // dotenv 16's LINE pattern (a quoted value may run over lines)
  const LINE =
    /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg;
  let m;
  while ((m = LINE.exec(lines)) !== null) names.add(m[1]);
  // line by line too: a name inside another's quoted value is counted (more than dotenv reads: fail closed)
  for (const l of lines.split("\n")) {
    const w = /^\s*(?:export\s+)?([^\s=:#]+)\s*[=:]/.exec(l);
    if (w) names.add(w[1]);
  }
  return [...names];
}

/** the variable names a settings file's `env` sets */
function jsonEnvNames(text) {
  const j = JSON.parse(text.replace(/^\uFEFF/, ""));
  const env = j && typeof j === "object" && !Array.isArray(j) ? j.env : undefined;
  return env && typeof env === "object" && !Array.isArray(env) ? Object.keys(env) : [];
}

/**
 * Qwen Code's project settings (`.qwen/settings.json`): the keys it may set are these (with their own keys
 * where listed); anything else is named as `KEY` (its CLI reads far more than kodama can vouch for).
 */
const QWEN_ALLOWED = { $schema: true, $version: true, env: true, model: ["name"] };

/** the names a qwen settings file sets that steer: its `env`'s on the list, and every key off the allow-list */
function qwenNames(text, steers) {
  const j = JSON.parse(text.replace(/^\uFEFF/, ""));
  if (!j || typeof j !== "object" || Array.isArray(j)) throw new Error("not an object");
  const bad = jsonEnvNames(text).filter(steers);
  for (const [k, v] of Object.entries(j)) {
    const allowed = Object.prototype.hasOwnProperty.call(QWEN_ALLOWED, k) ? QWEN_ALLOWED[k] : false;
    if (allowed === true) continue;
    if (Array.isArray(allowed) && v && typeof v === "object" && !Array.isArray(v)) {
      for (const sub of Object.keys(v)) if (!allowed.includes(sub)) bad.push(`${k}.${sub}`);
      continue;
    }
    bad.push(k);
  }
  return bad;
}

/** opencode.json keys that neither send a request with the key nor run code (all else: provider, mcp, plugin…) */
const OPENCODE_KEYS = [
  "$schema",
  "theme",
  "keybinds",
  "tui",
  "username",
  "instructions",
  "autoupdate",
  "share",
];

/** JSONC as OpenCode reads it: comments and trailing commas dropped (strings kept), then JSON. */
function jsonc(text) {
  let out = "", i = 0;
  const t = text.replace(/^\uFEFF/, "");
  while (i < t.length) {
    const c = t[i];
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(t.slice(i));
      if (!m) throw new Error("unterminated string");
      out += m[0];
      i += m[0].length;
    } else if (t.startsWith("//", i)) {
      while (i < t.length && t[i] !== "\n") i++;
    } else if (t.startsWith("/*", i)) {
      const e = t.indexOf("*/", i + 2);
      if (e < 0) throw new Error("unterminated comment");
      i = e + 2;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

/** What an opencode.json sets that is not allowed: its keys outside OPENCODE_KEYS, and any substitution. */
function opencodeConfigBad(text) {
  const j = jsonc(text);
  if (!j || typeof j !== "object" || Array.isArray(j)) return ["something that is not an object"];
  const bad = Object.keys(j).filter((k) => !OPENCODE_KEYS.includes(k));
  if (/\{(env|file):/i.test(JSON.stringify(j))) bad.push("an {env:...} or {file:...} substitution");
  return bad;
}

/** Where a `.opencode/` entry may be: its config files at the top, Markdown under agent/command/skill folders. */
function opencodeEntryAllowed(rel, isDir) {
  const parts = rel.split("/");
  if (parts.length === 1) {
    if (isDir) return /^(agents?|commands?|skills?)$/.test(rel);
    return ["opencode.json", "opencode.jsonc", ".gitignore", "README.md"].includes(rel);
  }
  if (!/^(agents?|commands?|skills?)$/.test(parts[0])) return false;
  return isDir || /\.md$/.test(rel);
}

/** What in a `.opencode/` folder is not allowed (relative paths; a symlink or an unreadable entry counts). */
function opencodeDirBad(dir) {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) return [`${dir} (not a plain folder)`];
  const bad = [];
  let seen = 0;
  const walk = (rel) => {
    for (const e of fs.readdirSync(rel ? `${dir}/${rel}` : dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (++seen > 2000) throw new Error("too many files");
      const plain = e.isDirectory() || e.isFile();
      if (!plain || !opencodeEntryAllowed(r, e.isDirectory())) bad.push(`${dir}/${r}`);
      else if (e.isDirectory()) walk(r);
      else if (/\.md$/.test(r)) {
        // an agent's or command's frontmatter is config too: no substitution of a variable or a file
        if (/\{(env|file):/i.test(fs.readFileSync(`${dir}/${r}`, "utf8"))) {
          bad.push(`${dir}/${r} ({env:...} or {file:...})`);
        }
      } else if (/^opencode\.jsonc?$/.test(r)) {
        const b = opencodeConfigBad(fs.readFileSync(`${dir}/${r}`, "utf8"));
        if (b.length) bad.push(`${dir}/${r} (${b.map(shown).join(", ")})`);
      }
    }
  };
  walk("");
  return bad;
}

const found = [];
for (const spec of specs) {
  const at = spec.indexOf(":");
  const format = spec.slice(0, at);
  const path = spec.slice(at + 1);
  if (format === "absent") {
    try {
      fs.lstatSync(path);
      found.push(`${path} is there (its CLI takes settings, endpoints or code to run from it)`);
    } catch (e) {
      if (e.code !== "ENOENT" && e.code !== "ENOTDIR") found.push(`${path} cannot be checked (${e.code})`);
    }
    continue;
  }
  if (format === "opencode-dir") {
    try {
      const bad = opencodeDirBad(path);
      if (bad.length) {
        found.push(`${bad.slice(0, 5).join(", ")} ${bad.length > 1 ? "are" : "is"} not allowed there`);
      }
    } catch (e) {
      if (e.code === "ENOENT" || e.code === "ENOTDIR") continue;
      found.push(`${path} cannot be read (${e.code ?? e.message}), so kodama cannot check it`);
    }
    continue;
  }
  if (!["json-env", "dotenv", "qwen-settings", "opencode-config"].includes(format)) {
    found.push(`${path}: unknown check ${format}`);
    continue;
  }
  let text;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") continue;
    found.push(`${path} cannot be read (${e.code}), so kodama cannot check it`);
    continue;
  }
  const steers = (n) => steering.test(n);
  let bad;
  try {
    if (format === "dotenv") bad = dotenvNames(text).filter(steers);
    else if (format === "json-env") bad = jsonEnvNames(text).filter(steers);
    else if (format === "qwen-settings") bad = qwenNames(text, steers);
    else bad = opencodeConfigBad(text);
  } catch {
    found.push(`${path} is not plain JSON, so kodama cannot check it`);
    continue;
  }
  if (bad.length) found.push(`${path} sets ${[...new Set(bad)].map(shown).join(", ")}`);
}
if (found.length) {
  process.stdout.write(found.join("; ") + "\n");
  process.exit(1);
}
