/**
 * What a grant names, pinned (issue 26 class 2). Trust is given to what the prompt showed, so the
 * trust hash covers not only the workflow's text but what its grants and commands resolve to:
 *
 * - every `read`/`write` grant as the real path it lands on (symlinks at the path or any parent
 *   resolved): a committed `docs -> ~/.ssh` shows as `./docs → /home/you/.ssh`, and re-pointing the
 *   link after trust changes the hash (a new prompt);
 * - every repo file a `local` step or a `run` grant executes — a `run: [./build.sh]` entry, or a
 *   command argument that is a file of the repository (`sh ./build.sh`, `python3 tool.py`) — by its
 *   real path and sha256: an edited script is a new prompt; a path of the repository that is a link to
 *   a program outside it (`./tool -> /bin/echo`) by where it lands: re-pointing it is a new prompt.
 *
 * The pins are taken again right before each `local` and `script` step: anything re-targeted or
 * edited since the run was trusted (by an earlier step, or by anyone) stops the step.
 */
import { dirname, relative, resolve } from "node:path";
import { CODE_VARS, commandWords, isWrapper } from "../codewords.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { LoadedWorkflow } from "../file.ts";
import { flattenSteps } from "../model.ts";
import { inside } from "./confine.ts";
import { realLanding } from "../../base/fs/realpath.ts";
import { expandPath, looksLikePath } from "./permissions.ts";
import { loadsUnnamedCode } from "./loaders.ts";

export interface Pin {
  /** what kind of thing is pinned: a grant, or a file that runs */
  kind: "read" | "write" | "run" | "file" | "tree";
  /** as written in the workflow */
  written: string;
  /** the real path it lands on */
  real: string;
  /** sha256 of the file (files that run), or of a tree's paths and contents */
  sha256?: string;
  /** a tree: how many entries it holds */
  files?: number;
}

async function sha256File(path: string): Promise<string | undefined> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile || st.size > 64 << 20) {
      return st.isFile ? `size:${st.size}:${st.mtime?.getTime()}` : undefined;
    }
    const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
    return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined;
  }
}

/**
 * The words of a `local` command that name code that runs (codewords.ts): the program itself (when
 * written as a path, or after a wrapper), an interpreter's script or a file an option loads, and the
 * path-like words of an inline shell string (`sh -c "./tools/x.sh"`).
 */
export function programsIn(argv: string[]): string[] {
  const w = commandWords(argv);
  const out = w.files.filter((i) => i > 0 || looksLikePath(argv[i])).map((i) => argv[i]);
  for (const c of w.code) if (c.lang === "sh") out.push(...shellPaths(argv[c.index]).paths);
  return out;
}

/**
 * Does a `local` command's code reach files the shell reader cannot name — so that the whole repository is
 * pinned, as for a computed path: a program that reads an input file of the repository implicitly (a build
 * tool: `make` reads `Makefile` and what it includes, then runs its recipes), or a word of an inline shell
 * string in a code position that cannot be resolved statically (quotes inside it, `$VAR`, a glob, `$( )`).
 */
export function reachesRepo(argv: string[]): boolean {
  const w = commandWords(argv);
  if (w.files.some((i) => BUILD_TOOLS.test(progName(argv[i])))) return true;
  if (w.code.some((c) => c.lang === "sh" && shellPaths(argv[c.index]).dynamic)) return true;
  // a module by name, an inline program, code from stdin, a loader variable (loaders.ts)
  return loadsUnnamedCode(argv, (code) => shellPaths(code).dynamic);
}

/**
 * Programs whose input is a file of the repository they find themselves (and whose recipes, scripts or
 * tasks then run anything): pinning them pins the whole repository.
 */
const BUILD_TOOLS =
  /^(make|gmake|bmake|pmake|just|task|go-task|npm|npx|pnpm|yarn|bun|deno|cargo|go|gradle|gradlew|mvn|mvnw|ant|rake|bundle|ninja|cmake|meson|bazel|bazelisk|buck2?|scons|tox|nox|poetry|pipenv|invoke|pdm|hatch|uv|composer|mix|sbt|dotnet|msbuild|earthly|tilt|skaffold|docker-compose|podman-compose)$/;

/** A program that, given arguments no one reads statically (a `script` step's), can run any repo code. */
function runsAnyCode(program: string): boolean {
  const prog = progName(program);
  return isWrapper(prog) || /^(sh|bash|dash|zsh|ksh|mksh|ash|yash|busybox|fish|pwsh|find)$/.test(prog) ||
    loadsUnnamedCode([prog], () => true);
}

const progName = (w: string) => w.replace(/^.*[\\/]/, "").replace(/\.(exe|cmd|bat)$/i, "");

/** One raw shell word: unquoted characters, escapes, and quoted parts, as written. */
const WORD = /(?:[^\s'"\\;&|()<>`]|\\.|'[^']*'|"(?:[^"\\]|\\.)*"|`[^`]*`|\$\([^)]*\))+|[;&|()<>\n]+/g;
/** Words after which the next word is a command (the shell's keywords and separators). */
const COMMAND_NEXT = /^(?:[;&|()\n]+|then|do|else|elif|if|while|until|!|\{|time|exec|command|nohup|env)$/;
/** Words after which the next word is a file the shell (or another interpreter) reads as code. */
/** Shell keywords before a simple command's program. */
const SHELL_KEYWORD = /^(?:then|do|else|elif|if|while|until|!|\{|\})$/;
const CODE_NEXT = /^(?:\.|source|sh|bash|dash|zsh|ksh|ash|mksh|busybox|python[0-9.]*|node|perl|ruby|php)$/;

/**
 * The files a shell string names by a path (`./x.sh`, `tools/lib.sh`, `../y`, `"./x y.sh"`), and whether a
 * word in a code position — the command itself, or the file after `.`, `source`, a shell or an interpreter —
 * cannot be resolved statically: quotes inside the word (`./tools/q""ux.sh`), a `$`, a backquote, a glob or
 * a backslash — or the string runs a build tool (BUILD_TOOLS). Such a word could name any file, so the
 * caller pins the whole repository.
 */
function shellPaths(code: string): { paths: string[]; dynamic: boolean } {
  const paths: string[] = [];
  let dynamic = false;
  let commandNext = true, codeNext = false;
  // the words of the simple command being read: what it runs is read as a `local` command is (reachesRepo)
  let words: string[] = [];
  const endCommand = () => {
    let k = 0;
    while (k < words.length && (SHELL_KEYWORD.test(words[k]) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[k]))) {
      k++;
    }
    if (k < words.length && reachesRepo(words.slice(k))) dynamic = true;
    words = [];
  };
  for (const m of code.replace(/^#!.*$/m, "").replace(/(^|\s)#.*$/gm, "$1").matchAll(WORD)) {
    const raw = m[0];
    if (/^[;&|()<>\n]+$/.test(raw)) {
      endCommand();
      commandNext = true;
      codeNext = false;
      continue;
    }
    // what a command substitution runs, read the same way
    for (const sub of raw.matchAll(/\$\(([^)]*)\)|`([^`]*)`/g)) {
      if (shellPaths(sub[1] ?? sub[2]).dynamic) dynamic = true;
    }
    const wholeQuoted = /^'[^']*'$|^"[^"$`\\]*"$/.test(raw);
    const computed = !/^\[\[?$|^\]\]?$/.test(raw) &&
      (/[$`*?[\\]/.test(raw) || (!wholeQuoted && /['"]/.test(raw)));
    const value = wholeQuoted ? raw.slice(1, -1) : raw;
    const assignment = commandNext && /^[A-Za-z_][A-Za-z0-9_]*=/.test(raw);
    // a computed word is read as an unknown option: where an interpreter's options go, it could be `-m x`
    words.push(computed ? "-$" : value);
    // a variable a loader reads (`PYTHONPATH=.`, `export NODE_OPTIONS=--require=./x`): any code
    const assigned = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(value);
    if (assigned && CODE_VARS.test(assigned[1])) dynamic = true;
    // a computed word where the shell runs or reads code, or a build tool run by the string: any file
    if (((commandNext && !assignment) || codeNext) && computed) dynamic = true;
    if (commandNext && !assignment && !computed && BUILD_TOOLS.test(progName(value))) dynamic = true;
    if (
      !computed && /^(?:\.{1,2}\/|[\w.-]+\/)[\w./ -]*$/.test(value) && !value.startsWith("/") &&
      !/\/\//.test(value)
    ) {
      paths.push(value);
    }
    if (assignment) continue;
    codeNext = CODE_NEXT.test(value) && (commandNext || codeNext);
    commandNext = COMMAND_NEXT.test(value);
  }
  endCommand();
  return { paths, dynamic };
}

const MAX_TREE_FILES = 20_000;
const MAX_TREE_HASHED = 32 << 20;
const MAX_SOURCE_DEPTH = 8;

/**
 * The content of a directory a program could read as code, recursively (`.git` and `__pycache__` left
 * out): one sha256 over
 * each file's path and sha256 (past 32 MiB in all, its size and mtime), and each link's target. More than
 * 20,000 entries is an error: nothing that large is pinned blind.
 */
async function treeHash(dir: string, shown: string): Promise<{ sha256: string; files: number }> {
  const lines: string[] = [];
  let hashed = 0, n = 0;
  const walk = async (rel: string) => {
    const names: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) names.push(e);
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of names) {
      // git's own directory, and Python's byte-code cache (rewritten by every run, from the sources pinned here)
      if (e.name === ".git" || e.name === "__pycache__") continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (++n > MAX_TREE_FILES) {
        throw new KodamaError(
          `cannot pin what runs: ${shown} holds more than ${MAX_TREE_FILES} files a program there could read as code`,
          ExitCode.USAGE,
          "keep the workflow's scripts in a directory of their own (tools/, scripts/) and run them from there",
        );
      }
      const abs = `${dir}/${r}`;
      if (e.isSymlink) lines.push(`l ${r} ${await Deno.readLink(abs).catch(() => "?")}`);
      else if (e.isDirectory) await walk(r);
      else if (e.isFile) {
        const st = await Deno.stat(abs).catch(() => undefined);
        if (st && hashed + st.size <= MAX_TREE_HASHED) {
          hashed += st.size;
          lines.push(`f ${r} ${await sha256File(abs)}`);
        } else lines.push(`f ${r} ${st?.size}:${st?.mtime?.getTime()}`);
      }
    }
  };
  await walk("");
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lines.join("\n")));
  return { sha256: Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join(""), files: n };
}

const SHELL_FILE = /\.(sh|bash|zsh|ksh)$/;
const JS_FILE = /\.(?:[cm]?[jt]sx?)$/;
const NODE_BANG = /^#!\s*\S*?\/(?:env\s+(?:-\S+\s+)*)?(?:node|nodejs|bun|deno|tsx|ts-node)\b/;
const SHELL_BANG = /^#!\s*\S*?\/(?:env\s+(?:-\S+\s+)*)?(sh|bash|dash|zsh|ksh|ash|mksh)\b/;

/**
 * What a repo file that runs may read as code, beyond itself. A shell script: the files it sources
 * (`source X`, `. X`) and runs by a literal path, recursively — or, when one is named by a variable or
 * `eval` is used, the whole repository. Any other program (Python, a binary …) imports relative to where
 * it is: its directory, recursively — the repository when its text reaches up with `..`, or when it is
 * Node's (a module by name is looked up in every parent directory's node_modules).
 */
async function reachOf(
  file: string,
  root: string,
  depth = 0,
  seen = new Set<string>(),
): Promise<{ files: string[]; trees: string[] }> {
  const out = { files: [] as string[], trees: [] as string[] };
  if (seen.has(file) || depth > MAX_SOURCE_DEPTH) return out;
  seen.add(file);
  let text: string;
  try {
    const st = await Deno.stat(file);
    if (!st.isFile || st.size > 4 << 20) return { files: [], trees: [dirname(file)] };
    text = new TextDecoder().decode(await Deno.readFile(file));
  } catch {
    return out;
  }
  const dir = dirname(file);
  const shell = SHELL_FILE.test(file) || SHELL_BANG.test(text);
  // Node resolves a module by name (`require("lib")`) in the node_modules of every parent directory: a
  // script of the repository's reaches up to its root (issue 79 escape 5)
  const node = JS_FILE.test(file) || NODE_BANG.test(text);
  if (!shell) return { files: [], trees: [text.includes("..") || node ? root : dir] };
  const words: string[] = [];
  let dynamic = /(^|[\s;&|(])eval\b/.test(text);
  for (const m of text.matchAll(/(?:^|[\s;&|(])(?:source|\.)\s+("[^"]*"|'[^']*'|[^\s;&|)]+)/gm)) {
    const w = m[1].replace(/^["']|["']$/g, "");
    if (/[$`*?[]/.test(w)) dynamic = true;
    else words.push(w);
  }
  const named = shellPaths(text);
  words.push(...named.paths);
  if (dynamic || named.dynamic) return { files: [], trees: [root] };
  for (const w of words) {
    for (const base of [dir, root]) {
      const abs = resolve(base, w);
      const real = await realLanding(abs);
      if (!inside(real, root)) continue;
      const st = await Deno.stat(real).catch(() => undefined);
      if (!st?.isFile) continue;
      out.files.push(real);
      const more = await reachOf(real, root, depth + 1, seen);
      out.files.push(...more.files);
      out.trees.push(...more.trees);
      break;
    }
  }
  return out;
}

/** The pins of one workflow: its grants' real paths and the repo files its commands run. */
export async function pinsOf(lw: LoadedWorkflow, root: string): Promise<Pin[]> {
  const out: Pin[] = [];
  const p = lw.workflow.permissions ?? {};
  for (const kind of ["read", "write"] as const) {
    for (const written of p[kind] ?? []) {
      out.push({ kind, written, real: await realLanding(expandPath(written, lw.baseDir)) });
    }
  }
  const rootReal = await realLanding(root);
  const runFile = async (kind: "run" | "file", written: string, base: string) => {
    if (written.includes("${{")) return;
    const abs = expandPath(written, base);
    const real = await realLanding(abs);
    if (inside(real, rootReal)) {
      const sha256 = await sha256File(real);
      if (sha256 !== undefined) {
        out.push({ kind, written, real, sha256 });
        // and what it could read as code from the repository (sourced files, its directory)
        const reach = await reachOf(real, rootReal);
        for (const f of reach.files) {
          const h = await sha256File(f);
          if (h) sourced.set(f, h);
        }
        for (const t of reach.trees) trees.add(t);
      }
    } else if (real !== abs && (inside(abs, root) || inside(abs, rootReal))) {
      // a link of the repository to a program outside it (`./tool -> /bin/sh`): the link is the repo's to
      // re-point, so where it lands is pinned; the program itself is the person's (an upgrade changes nothing)
      out.push({ kind, written, real });
    } // the person's own programs (`/usr/bin/curl`, `~/bin/x`) are not the repo's to change
  };
  const sourced = new Map<string, string>();
  const trees = new Set<string>();
  const steps = flattenSteps(lw.workflow.steps);
  const scripts = steps.some((s) => s.kind === "script");
  for (const r of p.run ?? []) {
    if (looksLikePath(r)) await runFile("run", r, lw.baseDir);
    else if (BUILD_TOOLS.test(progName(r))) trees.add(rootReal); // `run: [make]`: the Makefile and all it runs
    // a script's arguments to a granted interpreter, shell or wrapper are not read statically: `-m`, `-c` …
    else if (scripts && runsAnyCode(r)) trees.add(rootReal);
  }
  // a variable a loader reads, set by the workflow or a step (`PYTHONPATH: .`, `NODE_OPTIONS: --require …`)
  const locals = steps.filter((s) => s.kind === "local");
  const envs = locals.length ? [lw.workflow.env, ...locals.map((s) => s.step.env)] : [];
  if (envs.some((e) => e && typeof e === "object" && Object.keys(e).some((k) => CODE_VARS.test(k)))) {
    trees.add(rootReal);
  }
  for (const { step, kind } of steps) {
    if (kind !== "local") continue;
    const spec = step.local as { command?: unknown[]; cwd?: string };
    const cwd = typeof spec.cwd === "string" && !spec.cwd.includes("${{")
      ? expandPath(spec.cwd, lw.baseDir)
      : lw.baseDir;
    const argv = (spec.command ?? []).filter((a): a is string => typeof a === "string");
    for (const a of programsIn(argv)) await runFile("file", a, cwd);
    // a `${{ }}` value is read as an unknown option: where an interpreter's options go, it could be `-m x`
    if (reachesRepo(argv.map((a) => a.includes("${{") ? "-$" : a))) trees.add(rootReal);
  }
  for (const [real, sha256] of sourced) {
    out.push({ kind: "file", written: relative(rootReal, real), real, sha256 });
  }
  // a tree inside another pinned tree is covered by it
  const all = [...trees].sort((a, b) => a.length - b.length);
  for (const t of all) {
    if (all.some((o) => o !== t && inside(t, o))) continue;
    const h = await treeHash(t, relative(rootReal, t) || ".");
    out.push({ kind: "tree", written: (relative(rootReal, t) || ".") + "/", real: t, ...h });
  }
  return out;
}

export function pinText(pins: Pin[]): string {
  return pins.map((x) => `${x.kind}\0${x.written}\0${x.real}\0${x.sha256 ?? ""}`).sort().join("\n");
}

/** A grant for the trust prompt: `./docs → /home/you/.ssh` when it lands elsewhere than it reads. */
export function shownGrant(pin: Pin, baseDir: string): string {
  const abs = expandPath(pin.written, baseDir);
  return abs === pin.real ? pin.written : `${pin.written} → ${pin.real}`;
}

/** The pins a run was trusted with, by workflow (set when trust is checked). */
const trustedPins = new WeakMap<LoadedWorkflow, { root: string; text: string; pins: Pin[] }>();

export function rememberPins(lw: LoadedWorkflow, root: string, pins: Pin[]): void {
  trustedPins.set(lw, { root, text: pinText(pins), pins });
}

/**
 * Right before a `local` or `script` step: the grants and files the run was trusted with must still
 * be what they were (exit 4 naming what changed).
 */
export async function checkPins(lw: LoadedWorkflow): Promise<void> {
  const was = trustedPins.get(lw);
  if (!was) return;
  const now = await pinsOf(lw, was.root);
  if (pinText(now) === was.text) return;
  // what was pinned must be unchanged; a file that did not exist then (a build's output) is new, not changed
  const current = new Map(now.map((x) => [`${x.kind}\0${x.written}`, x]));
  const i = was.pins.findIndex((b) => {
    const x = current.get(`${b.kind}\0${b.written}`);
    return !x || x.real !== b.real || x.sha256 !== b.sha256;
  });
  if (i < 0) return;
  const b = was.pins[i], moved = current.get(`${b.kind}\0${b.written}`) ?? { ...b, real: "(gone)" };
  const what = b.kind === "read" || b.kind === "write"
    ? `permissions.${b.kind} "${b.written}" now lands on ${moved.real}`
    : b.sha256 === undefined || moved.real !== b.real
    ? `"${b.written}" now lands on ${moved.real} (it landed on ${b.real})`
    : `"${b.written}" (${relative(was.root, b.real) || b.real}) was changed`;
  throw new KodamaError(
    `workflow ${lw.name}: ${what} since the run was trusted; nothing more runs`,
    ExitCode.FORBIDDEN,
    "run it again to see (and trust) what it names now",
  );
}

/**
 * For a granted `local` step's life: hold the repository files and trees the run was trusted with against
 * every write kodama makes (src/base/fs/safewrite.ts: a parallel `cp` step from a pod, `sync pull`, a land), then
 * check them (checkPins) — so what the step reads is the pinned content, or the step does not start. Returns
 * the release.
 */
export async function holdPins(lw: LoadedWorkflow): Promise<() => void> {
  const was = trustedPins.get(lw);
  const { holdAgainstWrites } = await import("../../base/fs/safewrite.ts");
  const release = holdAgainstWrites(
    (was?.pins ?? []).filter((p) => p.kind === "file" || p.kind === "run" || p.kind === "tree").map((p) =>
      p.real
    ),
  );
  try {
    await checkPins(lw);
  } catch (e) {
    release();
    throw e;
  }
  return release;
}
