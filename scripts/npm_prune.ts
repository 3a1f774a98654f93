/**
 * Files of an npm package that kodama's binary never loads, left out of `deno compile` with --exclude:
 * type declarations, source maps, docs and TypeScript sources (Deno runs a package's JavaScript; its .ts
 * files are reachable only through conditions such as "source" or "@zod/source", which Deno does not
 * follow). A .ts file the package's main/module or a condition Deno follows points at is kept.
 */
import { join, relative } from "node:path";

const DROP = /\.(d\.[cm]?ts|[cm]?tsx?|map|md|markdown)$/i;
/** The package.json conditions Deno resolves with (plus main/module). */
const FOLLOWED = new Set(["deno", "node", "import", "require", "default", "module-sync"]);

/** The paths (relative, "./x") package.json's main/module and followed export conditions name. */
export function entryPaths(pkg: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const norm = (p: string) => "./" + p.replace(/^\.\//, "");
  for (const k of ["main", "module"]) if (typeof pkg[k] === "string") out.add(norm(pkg[k] as string));
  const walk = (v: unknown, key?: string): void => {
    if (typeof v === "string") {
      if (key === undefined || FOLLOWED.has(key) || key.startsWith(".")) out.add(norm(v));
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, k);
    }
  };
  walk(pkg.exports);
  return out;
}

/** Of a package's files ("./a/b.d.ts"), those the binary can go without. */
export function prunable(files: string[], pkg: Record<string, unknown>): string[] {
  const keep = entryPaths(pkg);
  return files.filter((f) => DROP.test(f) && !keep.has(f));
}

/**
 * --exclude paths for the package directories `dirs`: a directory whose files are all prunable is one
 * path, otherwise each prunable file is.
 */
export function excludes(dirs: string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    let pkg: Record<string, unknown> = {};
    try {
      pkg = JSON.parse(Deno.readTextFileSync(join(dir, "package.json")));
    } catch { /* no package.json: every rule but the entries applies */ }
    const files = listFiles(dir).map((f) => "./" + relative(dir, f));
    const drop = new Set(prunable(files, pkg));
    out.push(...collapse(".", files, drop).map((p) => join(dir, p)));
  }
  return out;
}

/** The fewest paths under `at` covering exactly the `drop` files among `files`. */
function collapse(at: string, files: string[], drop: Set<string>): string[] {
  const mine = files.filter((f) => at === "." || f.startsWith(at + "/"));
  if (at !== "." && mine.length && mine.every((f) => drop.has(f))) return [at];
  const out: string[] = [];
  const subdirs = new Set<string>();
  for (const f of mine) {
    const rest = f.slice(at.length + 1).split("/");
    if (rest.length === 1) {
      if (drop.has(f)) out.push(f);
    } else subdirs.add(`${at}/${rest[0]}`);
  }
  for (const d of subdirs) out.push(...collapse(d, mine, drop));
  return out;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...listFiles(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}
