/**
 * kodama owns the module graph of every `script` step.
 *
 * Deno loads a Worker's *static* module graph (static imports, and dynamic imports written with a
 * literal specifier) without any permission check — `import kc from "~/.kube/config" with { type:
 * "text" }` would read the kubeconfig in a worker that holds no permission at all. So kodama:
 *
 *  1. walks the script's graph itself (es-module-lexer: a real lexer for JS and TS module syntax,
 *     import attributes included) and refuses, with file:line:col, every module outside the
 *     workflow's repository (after realpath), every remote, `npm:`, `jsr:`, `data:`, `blob:` or bare
 *     specifier (except `kodama/sdk`), and every `text`/`bytes`/`json` import of a file outside the
 *     declared `read` paths;
 *  2. copies exactly the bytes it checked into a content-addressed snapshot in its own cache
 *     (`$KODAMA_HOME/cache/scripts/<sha256>/`, never grantable to a workflow), so nothing can change
 *     between check and load;
 *  3. runs the snapshot through a *computed* dynamic `import()` from the worker bootstrap, so Deno
 *     itself checks `read` (and `import` for remote code) for every module of the graph as it loads
 *     it. The worker is granted read on the snapshot directory only — whatever the lexer might have
 *     missed (a computed import, code built by `eval`, a differential between two parsers) is refused
 *     by Deno or simply is not there.
 *
 * The graph's sha256 (every module's repo-relative path and content) is what trust pins.
 * A manifest per entry module lets a later run verify the graph by hashing its files, without
 * loading the lexer (the fast path of a script step's start).
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { kodamaHome } from "../../config/paths.ts";
import { type Problem, WorkflowProblems } from "../problems.ts";
import SDK_SOURCE from "../sdk.ts" with { type: "text" };
import { crossCheck } from "./crosscheck.ts";
import { lineCol } from "../positions.ts";

export type GraphProblem = Problem;

export interface GraphModule {
  /** real path on disk */
  path: string;
  /** relative to the repository root (its real path) */
  rel: string;
  sha256: string;
  bytes: Uint8Array;
  /** offsets of `kodama/sdk` specifiers (rewritten in the snapshot) */
  sdk: [number, number][];
}

export interface ScriptGraph {
  entry: string;
  /** the repository root (real path) every module lives under */
  root: string;
  modules: GraphModule[];
  /** sha256 over every module's relative path and content */
  hash: string;
  /** some module imports a `node:` built-in (the worker then locks Node's `process` down eagerly) */
  usesNode: boolean;
}

export interface GraphOptions {
  /** the workflow's repository: no module may live outside it */
  root: string;
  /** declared `permissions.read`, expanded to absolute paths */
  readPaths: string[];
}

/** A graph that breaks the rules: exit 2, every problem as file:line:col. */
export class GraphError extends WorkflowProblems {
  constructor(problems: Problem[]) {
    super(problems, "what scripts may import: docs/workflows.md#module-graph");
  }
}

const CODE_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/i;
const DATA_TYPES = new Set(["json", "text", "bytes"]);
const SDK_SPECIFIER = "kodama/sdk";
/** node built-ins that run code from strings or outside the worker (the worker blocks them too) */
const BLOCKED_BUILTINS = /^node:(vm|worker_threads|inspector|inspector\/promises|repl|module|wasi|tty)$/;
const SDK_FILE = ".kodama-sdk.ts";
/**
 * Node modules a script may import only as a default import (`import fs from "node:fs"`): the worker
 * guards the functions of their default export (no terminal file descriptors, no node:vm).
 */
const DEFAULT_ONLY: Record<string, string> = {
  "node:process": "process",
  "node:fs": "fs",
  "node:fs/promises": "fs",
  "node:net": "net",
};
const DEFAULT_IMPORT = /^import\s+[\p{ID_Start}$_][\p{ID_Continue}$]*\s+from\s*(["'])M\1/u;
/** bump when the graph rules or the snapshot layout change: old manifests are then ignored */
const GRAPH_VERSION = "6";
const MAX_MODULES = 2000;
const MAX_BYTES = 32 << 20;

export function scriptCacheDir(): string {
  return join(kodamaHome(), "cache", "scripts");
}

async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

function inside(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

async function realpathOrSelf(p: string): Promise<string> {
  try {
    return await Deno.realPath(p);
  } catch {
    return resolve(p);
  }
}

interface Edge {
  /** resolved absolute path (as written, before realpath) */
  target: string;
  type?: string;
  /** where the import is written: for problems */
  from: string;
  text: string;
  offset: number;
}

interface ManifestEntry {
  resolved: string;
  path: string;
  rel: string;
  sha256: string;
}

interface Manifest {
  version: string;
  hash: string;
  modules: ManifestEntry[];
  sdk: Record<string, [number, number][]>;
  usesNode: boolean;
}

async function manifestFile(entry: string, o: GraphOptions): Promise<string> {
  const reads = await Promise.all(o.readPaths.map(realpathOrSelf));
  const key = await sha256([GRAPH_VERSION, entry, o.root, ...o.readPaths, ...reads].join("\0"));
  return join(scriptCacheDir(), "manifests", `${key}.json`);
}

/** The fast path: the graph recorded last time, if every file still has the content it had then. */
async function fromManifest(entry: string, o: GraphOptions): Promise<ScriptGraph | undefined> {
  let m: Manifest;
  try {
    m = JSON.parse(await Deno.readTextFile(await manifestFile(entry, o)));
  } catch {
    return undefined;
  }
  if (m.version !== GRAPH_VERSION || !Array.isArray(m.modules) || !m.modules.length) return undefined;
  const rootReal = await realpathOrSelf(o.root);
  const modules: GraphModule[] = [];
  for (const e of m.modules) {
    try {
      const path = await Deno.realPath(e.resolved);
      if (path !== e.path || !inside(path, rootReal)) return undefined;
      const bytes = await Deno.readFile(path);
      if (await sha256(bytes) !== e.sha256) return undefined;
      modules.push({ path, rel: e.rel, sha256: e.sha256, bytes, sdk: m.sdk?.[e.rel] ?? [] });
    } catch {
      return undefined;
    }
  }
  return { entry, root: rootReal, modules, hash: m.hash, usesNode: m.usesNode !== false };
}

async function graphHash(modules: { rel: string; sha256: string }[]): Promise<string> {
  return await sha256(
    [...modules].sort((a, b) => (a.rel < b.rel ? -1 : 1)).map((m) => `${m.rel}\0${m.sha256}`).join("\n"),
  );
}

/** Classify a specifier written in `from`; returns the absolute target or a problem message. */
function resolveSpecifier(
  spec: string,
  from: string,
): { target?: string; sdk?: boolean; node?: boolean; problem?: string } {
  if (spec === SDK_SPECIFIER) return { sdk: true };
  if (BLOCKED_BUILTINS.test(spec)) {
    return {
      problem:
        `"${spec}" is not available to scripts (it runs code built from strings or outside the sandbox)`,
    };
  }
  if (spec.startsWith("node:")) return { node: true };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(spec)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") {
    return { problem: `remote import "${spec}" is not allowed: vendor the module into the repository` };
  }
  if (scheme === "npm" || scheme === "jsr") {
    return {
      problem:
        `${scheme}: import "${spec}" is not allowed: packages are not covered by trust; vendor the code`,
    };
  }
  if (scheme === "file") {
    try {
      return { target: fileURLToPath(new URL(spec)) };
    } catch {
      return { problem: `bad file URL "${spec}"` };
    }
  }
  if (scheme) return { problem: `${scheme}: import "${spec}" is not allowed (only files of the repository)` };
  if (spec.startsWith("//") || spec.startsWith("\\")) {
    return { problem: `"${spec}" names another host: scripts may import only files of the repository` };
  }
  if (spec.startsWith("/")) return { target: resolve(spec) };
  if (spec.startsWith("./") || spec.startsWith("../")) return { target: resolve(dirname(from), spec) };
  return {
    problem:
      `bare specifier "${spec}" is not allowed: use a relative path ("./${spec}"), "node:${spec}" or "${SDK_SPECIFIER}"`,
  };
}

/** The `type` of a dynamic import's options (`{ with: { type: "json" } }`), when written literally. */
function dynamicType(src: string, argStart: number, end: number): { type?: string; computed?: boolean } {
  const rest = src.slice(argStart, end).replace(/^\s*["'`][^]*?["'`]\s*/, "");
  if (!rest.startsWith(",")) return {};
  const opts = rest.slice(1).replace(/\)\s*$/, "").trim();
  if (opts === "") return {};
  const m = /^\{\s*(?:with|assert)\s*:\s*\{\s*type\s*:\s*(["'])(\w+)\1\s*,?\s*\}\s*,?\s*\}$/.exec(opts);
  return m ? { type: m[2] } : { computed: true };
}

/**
 * Specifiers Deno takes from places other than import statements — each can make it fetch, install or
 * load code, and none is seen by a module lexer: JSX pragmas (`@jsxImportSource X` loads
 * `X/jsx-runtime`; `@jsxImportSourceTypes`), triple-slash references (`types=`, `path=`), type
 * directives (`@deno-types=`, `@ts-types=`), JSDoc `@import … from "X"` and `import("X")` types, and
 * `require("X")` (TS `import x = require()`, CommonJS). The whole text is searched, comments and
 * strings alike: a false match costs a refusal only when it names something a script may not use.
 */
const PRAGMAS: { re: RegExp; kind: "jsx" | "types" | "path" | "code" }[] = [
  { re: /@jsxImportSource\s+([^\s*]+)/gi, kind: "jsx" },
  { re: /@jsxImportSourceTypes\s+([^\s*]+)/gi, kind: "types" },
  { re: /<reference\s+types\s*=\s*["']([^"']*)["']/gi, kind: "types" },
  { re: /<reference\s+path\s*=\s*["']([^"']*)["']/gi, kind: "path" },
  { re: /@(?:deno|ts)-types\s*=\s*["']?([^"'\s*]+)/gi, kind: "types" },
  { re: /@import\b[^"'\n]*?\bfrom\s*["']([^"']*)["']/g, kind: "types" },
  { re: /\bimport\s*\(\s*["'`]([^"'`]*)["'`]\s*\)/g, kind: "types" },
  { re: /\brequire\s*\(\s*["'`]([^"'`]*)["'`]\s*\)/g, kind: "code" },
];

export function pragmaSpecifiers(text: string): { spec: string; offset: number; kind: string }[] {
  const out: { spec: string; offset: number; kind: string }[] = [];
  for (const { re, kind } of PRAGMAS) {
    re.lastIndex = 0;
    for (let m; (m = re.exec(text));) {
      // @jsxImportSource also matches the start of @jsxImportSourceTypes: that one is listed on its own
      if (kind === "jsx" && /^types\b/i.test(text.slice(m.index + 16))) continue;
      out.push({ spec: m[1], offset: m.index + m[0].lastIndexOf(m[1]), kind });
    }
  }
  return out;
}

let lexer: typeof import("es-module-lexer") | undefined;

/** Walk the graph from `entry`; throws GraphError listing every problem. */
async function analyze(
  entry: string,
  o: GraphOptions,
): Promise<{ graph: ScriptGraph; resolvedOf: Map<string, string> }> {
  lexer ??= await import("es-module-lexer");
  await lexer.init;
  const rootReal = await realpathOrSelf(o.root);
  const readReal = await Promise.all(o.readPaths.map(realpathOrSelf));
  const problems: GraphProblem[] = [];
  const modules = new Map<string, GraphModule>();
  const resolvedOf = new Map<string, string>();
  const queue: Edge[] = [{ target: entry, from: "", text: "", offset: 0 }];
  let total = 0;
  let usesNode = false;
  const problemAt = (e: Edge, message: string) => {
    if (!e.from) problems.push({ file: entry, line: 1, col: 1, message });
    else problems.push({ file: e.from, ...lineCol(e.text, e.offset), message });
  };
  while (queue.length) {
    const edge = queue.shift()!;
    let path: string;
    try {
      path = await Deno.realPath(edge.target);
    } catch {
      problemAt(edge, `module "${edge.target}" not found`);
      continue;
    }
    if (!inside(path, rootReal)) {
      problemAt(
        edge,
        `"${edge.target}"${
          path !== edge.target ? ` (${path})` : ""
        } is outside the workflow's repository ${rootReal}: scripts may import only files inside it`,
      );
      continue;
    }
    const isData = edge.type !== undefined && DATA_TYPES.has(edge.type);
    if (isData && !readReal.some((r) => inside(path, r))) {
      problemAt(
        edge,
        `"${edge.target}" is imported as ${edge.type} but is not inside permissions.read: add it there, or read it with Deno.readTextFile`,
      );
      continue;
    }
    if (edge.type !== undefined && !isData) {
      problemAt(edge, `import attribute type "${edge.type}" is not supported (json, text, bytes)`);
      continue;
    }
    const rel = relative(rootReal, path).split(sep).join("/");
    if (modules.has(rel)) continue;
    if (modules.size >= MAX_MODULES) {
      problemAt(edge, `the script's module graph has more than ${MAX_MODULES} modules`);
      break;
    }
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      problemAt(edge, `cannot read "${edge.target}": ${(e as Error).message}`);
      continue;
    }
    total += bytes.length;
    if (total > MAX_BYTES) {
      problemAt(edge, `the script's module graph is over ${MAX_BYTES >> 20} MiB`);
      break;
    }
    const mod: GraphModule = { path, rel, sha256: await sha256(bytes), bytes, sdk: [] };
    modules.set(rel, mod);
    resolvedOf.set(rel, edge.target);
    if (isData) continue;
    const shown = edge.target;
    if (/\.wasm$/i.test(path)) {
      try {
        const wasm = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
        for (const spec of new Set(WebAssembly.Module.imports(wasm).map((i) => i.module))) {
          const r = resolveSpecifier(spec, shown);
          usesNode ||= !!r.node;
          if (r.problem) problems.push({ file: shown, line: 1, col: 1, message: r.problem });
          else if (r.target) queue.push({ target: r.target, from: shown, text: "", offset: 0 });
        }
      } catch (e) {
        problems.push({
          file: shown,
          line: 1,
          col: 1,
          message: `not a WebAssembly module: ${(e as Error).message}`,
        });
      }
      continue;
    }
    if (!CODE_EXT.test(path)) {
      problemAt(
        edge,
        `"${edge.target}" is not a JavaScript/TypeScript module; import data with { type: "json" | "text" | "bytes" }`,
      );
      continue;
    }
    const text = new TextDecoder().decode(bytes);
    let imports: readonly import("es-module-lexer").Import[];
    try {
      [imports] = lexer.parse(text, shown);
    } catch (e) {
      const idx = (e as { idx?: number }).idx ?? 0;
      problems.push({
        file: shown,
        ...lineCol(text, idx),
        message: `cannot parse the module: ${
          (e as Error).message.split("\n")[0].replace(/^Parse error\b.*$/, "a syntax error")
        }`,
      });
      continue;
    }
    // a second tokenizer must agree with the lexer on where imports are (crosscheck.ts)
    const sites = new Set<number>(), specifiers = new Set<number>();
    for (const imp of imports) {
      sites.add(imp.importStart);
      specifiers.add(imp.start).add(imp.start - 1);
    }
    for (const p of crossCheck(text, sites, specifiers)) {
      problems.push({ file: shown, ...lineCol(text, p.offset), message: p.message });
    }
    const seenByLexer = (offset: number) =>
      imports.some((imp) => imp.start - 1 <= offset && offset <= imp.end + 1);
    for (const p of pragmaSpecifiers(text)) {
      if (seenByLexer(p.offset)) continue;
      const at: Edge = { target: "", from: shown, text, offset: p.offset };
      // `/// <reference path="x.ts" />` is relative without ./
      const spec = p.kind === "path" && !/^([a-zA-Z][a-zA-Z0-9+.-]*:|\.{0,2}\/)/.test(p.spec)
        ? `./${p.spec}`
        : p.spec;
      const r = resolveSpecifier(spec, shown);
      if (r.problem) {
        problemAt(at, r.problem);
        continue;
      }
      if (!r.target) continue;
      const target = p.kind === "jsx" ? join(r.target, "jsx-runtime") : r.target;
      // a type-only reference to a file that is not there loads nothing; one that is there is checked
      if (p.kind !== "jsx" && p.kind !== "code") {
        try {
          await Deno.lstat(target);
        } catch {
          continue;
        }
      }
      queue.push({ ...at, target });
    }
    for (const imp of imports) {
      // deno-lint-ignore no-explicit-any
      const i = imp as any;
      if (i.type === "import-meta") continue;
      // a static `import type` is erased (its file is not needed), but it may not name a package
      // either; an `import()` the lexer guesses is only a type (`import("x").valueOf()`) is not
      // trusted to be one: it runs
      if (i.typeOnly) {
        const r = resolveSpecifier(String(i.specifier), shown);
        if (r.problem) problemAt({ target: "", from: shown, text, offset: i.start - 1 }, r.problem);
        continue;
      }
      const spec: string | undefined = i.specifier ?? undefined;
      // point at the specifier's opening quote, as Deno's own messages do
      const quote = /["'`]/.test(text[i.start] ?? "")
        ? i.start
        : /["'`]/.test(text[i.start - 1] ?? "")
        ? i.start - 1
        : i.start;
      const at: Edge = { target: "", from: shown, text, offset: quote };
      if (i.type === "dynamic" && spec === undefined) {
        // a computed specifier could name an npm: package (downloaded by kodama's own process) or
        // code kodama never read: only string literals are allowed
        problemAt(at, "computed import(): write the specifier as a string literal so kodama can check it");
        continue;
      }
      if (spec === undefined) continue;
      let type: string | undefined;
      if (i.type === "dynamic") {
        const d = dynamicType(text, i.start, i.importEnd);
        if (d.computed) {
          problemAt(at, `write the options of import("${spec}") literally ({ with: { type: "json" } })`);
          continue;
        }
        type = d.type;
      } else if (Array.isArray(i.attributes)) {
        const t = i.attributes.find((a: [string, string]) => a[0] === "type");
        type = t?.[1];
      }
      const r = resolveSpecifier(spec, shown);
      if (r.problem) {
        problemAt(at, r.problem);
        continue;
      }
      const only = DEFAULT_ONLY[spec];
      if (only && !DEFAULT_IMPORT.test(text.slice(i.importStart, i.importStart + 200).replace(spec, "M"))) {
        // named exports are bindings kodama cannot reach to guard (getBuiltinModule -> node:vm,
        // fs.writeSync(1, …) -> the terminal); the default export's functions it does guard
        problemAt(
          at,
          `import ${spec} only as \`import ${only} from "${spec}"\` (${
            spec === "node:process" ? "or use globalThis.process" : `then call ${only}.name(…)`
          })`,
        );
        continue;
      }
      usesNode ||= !!r.node;
      if (r.sdk) {
        mod.sdk.push([i.start, i.end]);
        continue;
      }
      if (!r.target) continue;
      queue.push({ target: r.target, type, from: shown, text, offset: quote });
    }
  }
  if (problems.length) throw new GraphError(problems);
  const list = [...modules.values()];
  return {
    graph: { entry, root: rootReal, modules: list, hash: await graphHash(list), usesNode },
    resolvedOf,
  };
}

async function writeManifest(
  entry: string,
  o: GraphOptions,
  g: ScriptGraph,
  resolvedOf: Map<string, string>,
) {
  const m: Manifest = {
    version: GRAPH_VERSION,
    hash: g.hash,
    modules: g.modules.map((x) => ({
      resolved: resolvedOf.get(x.rel) ?? x.path,
      path: x.path,
      rel: x.rel,
      sha256: x.sha256,
    })),
    sdk: Object.fromEntries(g.modules.filter((x) => x.sdk.length).map((x) => [x.rel, x.sdk])),
    usesNode: g.usesNode,
  };
  const file = await manifestFile(entry, o);
  await Deno.mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(m));
  await Deno.rename(tmp, file);
}

/**
 * The checked graph of a script module: from the manifest when every file is unchanged, else by
 * analysing it again. Throws GraphError (exit 2) listing every import that breaks the rules.
 */
export async function scriptGraph(entry: string, o: GraphOptions): Promise<ScriptGraph> {
  const cached = await fromManifest(entry, o);
  if (cached) return cached;
  const { graph: g, resolvedOf } = await analyze(entry, o);
  try {
    await writeManifest(entry, o, g, resolvedOf);
  } catch { /* a read-only cache only costs speed */ }
  return g;
}

/** The snapshot copy of a module, with `kodama/sdk` pointed at the SDK copied beside the modules. */
function snapshotBytes(m: GraphModule): Uint8Array {
  if (!m.sdk.length) return m.bytes;
  const text = new TextDecoder().decode(m.bytes);
  const depth = m.rel.split("/").length - 1;
  const target = (depth ? "../".repeat(depth) : "./") + SDK_FILE;
  let out = "", last = 0;
  for (const [s, e] of [...m.sdk].sort((a, b) => a[0] - b[0])) {
    out += text.slice(last, s) + target;
    last = e;
  }
  return new TextEncoder().encode(out + text.slice(last));
}

/**
 * Write (once) the content-addressed snapshot of a checked graph and return the file URL of its
 * entry module and the snapshot directory (the only path the worker needs to read its code).
 */
export async function snapshot(g: ScriptGraph): Promise<{ dir: string; entryUrl: string }> {
  const dir = join(scriptCacheDir(), g.hash);
  const entryRel = g.modules[0].rel;
  const done = join(dir, ".complete");
  try {
    await Deno.lstat(done);
  } catch {
    const tmp = `${dir}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.mkdir(tmp, { recursive: true });
    await Deno.writeTextFile(join(tmp, SDK_FILE), SDK_SOURCE);
    for (const m of g.modules) {
      const f = join(tmp, ...m.rel.split("/"));
      await Deno.mkdir(dirname(f), { recursive: true });
      await Deno.writeFile(f, snapshotBytes(m), { mode: 0o444 });
    }
    await Deno.writeTextFile(join(tmp, ".complete"), g.hash);
    try {
      await Deno.rename(tmp, dir);
    } catch {
      // another run wrote the same snapshot first (same hash, same bytes), or an old partial one is there
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      try {
        await Deno.lstat(done);
      } catch {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        return await snapshot(g);
      }
    }
  }
  return { dir, entryUrl: pathToFileURL(join(dir, ...entryRel.split("/"))).href };
}

/** Map paths of the snapshot back to the repository's in a message (errors name the user's files). */
export function unsnapshot(text: string, dir: string, root: string): string {
  const url = pathToFileURL(dir).href;
  return text.split(url + "/").join(root + "/").split(dir + "/").join(root + "/").replace(
    new RegExp(`${escapeRe(root)}/${escapeRe(SDK_FILE)}`, "g"),
    SDK_SPECIFIER,
  );
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Check a script's graph and snapshot it: what `runSandboxed({ script })` takes. */
export async function checkedScript(
  entry: string,
  o: GraphOptions,
): Promise<{ entryUrl: string; dir: string; root: string; usesNode: boolean }> {
  const g = await scriptGraph(entry, o);
  const s = await snapshot(g);
  return { entryUrl: s.entryUrl, dir: s.dir, root: g.root, usesNode: g.usesNode };
}
