/**
 * Where workflows come from, nearest first:
 *   1. the repo: `.kodama/workflows/*.yaml|yml` in the current directory and every parent up to the
 *      git root (the first directory holding `.git`; without one, only the current directory);
 *   2. the directories of the `workflows.paths` setting: from `~/.kodama/config.yaml` they are yours
 *      (trusted like home workflows); from a repo's `.kodama.yaml` they must lie inside the repository
 *      (config/load.ts refuses others, and they are checked here again after symlinks) and their
 *      workflows are repo workflows: untrusted, confined, asked for like `.kodama/workflows/`;
 *   3. the user's home: `$KODAMA_HOME/workflows/` (default `~/.kodama/workflows/`);
 *   4. the built-ins shipped with kodama (`workflows/` beside the sources, embedded by
 *      `deno compile --include workflows`).
 * A name found earlier shadows the same name later; `kodama workflow list` shows both.
 */
import { dirname, join, resolve } from "../base/fs/fspath.ts";
import { findRepo, globalConfigPath, kodamaHome, type RepoLocation } from "../config/paths.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { fileUrlToPath, hostPlatform } from "../base/platform.ts";
import { suggest } from "../base/text/suggest.ts";
import { type Source, stemOf as stem } from "./model.ts";
import { quote } from "../base/text/escape.ts";

/** Built-in workflow names; each is workflows/<name>.yaml (listed here so a compiled binary need not list a directory). */
export const BUILTINS = ["kwekash", "health", "shell"] as const;

export interface WorkflowRef {
  name: string;
  /** file path, or a URL for built-ins that are not on the file system */
  file: string;
  source: Source;
  /** set on entries hidden by a nearer one of the same name */
  shadowedBy?: WorkflowRef;
}

export function builtinUrl(name: string): URL {
  return new URL(`../../workflows/${name}.yaml`, import.meta.url);
}

function builtinFile(name: string): string {
  const u = builtinUrl(name);
  return u.protocol === "file:" ? fileUrlToPath(u, hostPlatform()) : u.href;
}

// The places are looked at with synchronous calls, as findRepo does (config/paths.ts): each is one
// local name lookup or directory listing, and an async one costs a round trip through Deno's thread pool.

function isDir(p: string): boolean {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Directories to look in for repo workflows, nearest first (up to the git root; without one, only cwd).
 * `repo`: findRepo(cwd), when the caller has it.
 */
export async function repoDirs(cwd: string, repo?: RepoLocation): Promise<string[]> {
  const { gitRoot } = repo ?? await findRepo(cwd);
  const chain: string[] = [];
  for (let dir = resolve(cwd);; dir = dirname(dir)) {
    chain.push(dir);
    if (!gitRoot || dir === gitRoot || dirname(dir) === dir) break;
  }
  const home = resolve(kodamaHome(), "workflows");
  // `~/.kodama/workflows` is the home location, not a repo one
  const dirs = chain.map((d) => join(d, ".kodama", "workflows")).filter((wf) => resolve(wf) !== home);
  return dirs.filter(isDir);
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if ((e.isFile || e.isSymlink) && /\.ya?ml$/.test(e.name) && !e.name.startsWith(".")) {
        out.push(join(dir, e.name));
      }
    }
  } catch { /* missing directory */ }
  return out.sort();
}

/** Does a config file mention `workflows` at all? (the config loader and its schema cost ~100 ms) */
async function mentionsWorkflows(file: string | undefined): Promise<boolean> {
  if (!file) return false;
  try {
    const st = Deno.statSync(file);
    if (!st.isFile || st.size > 1 << 20) return st.isFile; // let the loader say what is wrong with it
    return /(^|[\s{,])workflows\s*:/m.test(await Deno.readTextFile(file));
  } catch {
    return false;
  }
}

/** The `workflows.paths` directories, with the trust of the file that named them. */
export async function configDirs(
  cwd: string,
  loc?: RepoLocation,
): Promise<{ dir: string; source: Source }[]> {
  const repo = loc ?? await findRepo(cwd);
  const [g, r] = await Promise.all([
    mentionsWorkflows(globalConfigPath()),
    mentionsWorkflows(repo.configFile),
  ]);
  if (!g && !r) return [];
  const { loadConfig } = await import("../config/load.ts");
  let cfg;
  try {
    cfg = await loadConfig({ cwd });
  } catch {
    return []; // a broken config file is reported by the commands that read it (`kodama config …`)
  }
  const { workflowPathDirs } = await import("../config/workflowpaths.ts");
  const { dirs, fromRepo, root } = workflowPathDirs(cfg, cwd);
  const out: { dir: string; source: Source }[] = [];
  for (const dir of dirs) {
    if (fromRepo) {
      // inside the repository after symlinks, or not used at all (the loader checked it when it read it)
      const { inside } = await import("./sandbox/confine.ts");
      const { realLanding } = await import("../base/fs/realpath.ts");
      if (!inside(await realLanding(dir), await realLanding(root))) continue;
    }
    if (isDir(dir)) out.push({ dir, source: fromRepo ? "repo" : "home" });
  }
  return out;
}

/** Every workflow, nearest first, with shadowed entries marked. */
export async function discover(cwd = Deno.cwd()): Promise<WorkflowRef[]> {
  const repo = await findRepo(cwd);
  // their order is the list's
  const repoFiles = (await repoDirs(cwd, repo)).map(yamlFiles);
  const configFiles = (await configDirs(cwd, repo)).map(({ dir, source }) => ({
    files: yamlFiles(dir),
    source,
  }));
  const homeFiles = yamlFiles(join(kodamaHome(), "workflows"));
  const refs: WorkflowRef[] = [];
  for (const f of repoFiles.flat()) refs.push({ name: stem(f), file: f, source: "repo" });
  for (const { files, source } of configFiles) {
    for (const f of files) refs.push({ name: stem(f), file: f, source });
  }
  for (const f of homeFiles) refs.push({ name: stem(f), file: f, source: "home" });
  for (const n of BUILTINS) refs.push({ name: n, file: builtinFile(n), source: "builtin" });
  const first = new Map<string, WorkflowRef>();
  for (const r of refs) {
    const f = first.get(r.name);
    if (f) r.shadowedBy = f;
    else first.set(r.name, r);
  }
  return refs;
}

/**
 * Find a workflow by name (nearest wins), or by path when NAME looks like a file
 * (`./x.yaml`, `path/to/x.yml`). Throws exit 3 with a "did you mean". `byName`: a door's caller (MCP, the web
 * UI; src/config/doors.ts workflowName) never reaches the path form, whatever the name looks like.
 */
export async function findWorkflow(
  name: string,
  cwd = Deno.cwd(),
  o: { byName?: boolean } = {},
): Promise<WorkflowRef> {
  if (!o.byName && (/\.ya?ml$/.test(name) || name.includes("/"))) {
    const file = resolve(cwd, name);
    if (!exists(file)) throw new KodamaError(`workflow file not found: ${name}`, ExitCode.NOT_FOUND);
    return { name: stem(file), file, source: file.includes("/.kodama/workflows/") ? "repo" : "file" };
  }
  const refs = await discover(cwd);
  const hit = refs.find((r) => r.name === name && !r.shadowedBy);
  if (hit) return hit;
  const names = [...new Set(refs.map((r) => r.name))];
  const hint = suggest(name, names);
  throw new KodamaError(
    `no workflow named ${quote(name)}${hint ? ` (did you mean ${quote(hint)}?)` : ""}`,
    ExitCode.NOT_FOUND,
    `available: ${names.join(", ")} — see kodama workflow list`,
  );
}
