/**
 * Door git: kodama's git in a repository named through a door (an MCP client, a page, a workflow's session
 * step) runs no program the repository can name — by construction, not by a list (docs/security.md,
 * "Door git").
 *
 * Inside `withDoorGit(dir, fn)` every git command kodama runs (src/session/git/gitrun.ts `gitSpawn`) runs
 * against a **scratch git directory** kodama made and owns, with a `config` kodama wrote, an environment
 * kodama built (no inherited `GIT_*`, no system or global config, HOME in the scratch, no prompt), and no
 * hooks. The repository's objects are reached with `GIT_OBJECT_DIRECTORY` (objects carry no programs),
 * its work tree with `GIT_WORK_TREE`. Its config, hooks, includes and `config.worktree` are never read by
 * git at all, at any moment, so no race with a file planted meanwhile exists. kodama reads the repository's
 * refs, HEAD and index itself (src/session/git/gitrefs.ts: an allow-list of the formats it understands), and
 * writes them back with git's lock protocol (`<file>.lock` created exclusively, compare-and-swap, rename,
 * a reflog line when the repository keeps reflogs).
 *
 * git itself writes nothing into the repository's git directory: new objects go to the scratch's own object
 * directory (the repository's borrowed, `GIT_ALTERNATE_OBJECT_DIRECTORIES`), and kodama moves them in before a
 * ref or the index can name them. Every write kodama makes there — a lock, a rename, a reflog line, an
 * object — is checked at the moment it is made, each directory on its way lstat'ed from the git directory
 * pinned when the call started (src/base/fs/nofollow.ts): a link planted at any moment is refused (exit 4).
 */
import type { AsyncLocalStorage } from "node:async_hooks";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { dirname, join, resolve } from "../../base/fs/fspath.ts";
import { baseEnvNames, devNull, hostPlatform } from "../../base/platform.ts";
import { readTextBounded } from "../../base/fs/boundedread.ts";
import { type GitLocations, gitLocations } from "../../base/fs/gitpaths.ts";
import {
  appendTo,
  createNew,
  existsBelow,
  type NewFile,
  pinDir,
  type Pinned,
} from "../../base/fs/nofollow.ts";
import {
  configValues,
  formatProblem,
  lastReflog,
  OID,
  parsePackedRefs,
  parseRefFile,
  reflogLine,
} from "./gitrefs.ts";

/** Where a repository keeps itself, found by reading files (no git runs: src/base/fs/gitpaths.ts). */
export type RepoFiles = GitLocations;

export interface DoorGit {
  repo: RepoFiles;
  /** the scratch git directory (GIT_DIR) */
  gitDir: string;
  /** the environment every git command gets (complete: nothing is inherited) */
  env: Record<string, string>;
  /** "Name <email>" for reflog lines */
  who: string;
  /** the repository's git, common and object directories as they were when the call started: every write */
  pins?: { git: Pinned; common: Pinned; objects: Pinned };
  /** the scratch object directory git writes new objects into (moved into the repository: flushObjects) */
  objects?: string;
}

/**
 * The door git of the call in progress. Made by the first `withDoorGit` (node:async_hooks loaded then, not
 * on the everyday path that imports this module: tests/unit/hot_path_test.ts).
 */
let scope: AsyncLocalStorage<DoorGit> | undefined;

/**
 * The door gits whose `withDoorGit` has not ended. An async context outlives its call in a long-lived server
 * (a keep-alive connection or a timer made during one request carries it into the next): a store found there
 * after its scratch directory was removed is not door git any more, and is never reused.
 */
const live = new WeakSet<DoorGit>();

/** The door git of this call, if it runs inside a `withDoorGit` that has not ended. */
export const doorGit = (): DoorGit | undefined => {
  const d = scope?.getStore();
  return d && live.has(d) ? d : undefined;
};

const isFile = (p: string) => Deno.stat(p).then((s) => s.isFile, () => false);
const isDir = (p: string) => Deno.stat(p).then((s) => s.isDirectory, () => false);
const readSmall = (p: string, what: string) =>
  readTextBounded(p, { what, kind: "repoFile", exitCode: ExitCode.FORBIDDEN });

async function readOr(p: string, what: string): Promise<string | undefined> {
  try {
    return await readSmall(p, what);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
    throw e;
  }
}

/** Every ref of the repository (loose over packed), and its symbolic refs under refs/. */
export async function readRefs(
  repo: RepoFiles,
): Promise<{ refs: Map<string, string>; sym: Map<string, string> }> {
  const refs = parsePackedRefs((await readOr(join(repo.commonDir, "packed-refs"), "packed-refs")) ?? "");
  const sym = new Map<string, string>();
  let n = 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    for await (const e of Deno.readDir(abs)) {
      if (++n > 1_000_000) {
        throw new KodamaError("the repository holds more than 1000000 refs", ExitCode.FORBIDDEN);
      }
      const a = join(abs, e.name), r = `${rel}/${e.name}`;
      if (e.isDirectory) await walk(a, r);
      else if (e.isFile && !e.name.endsWith(".lock")) {
        const v = parseRefFile((await readOr(a, "a ref")) ?? "");
        if (v && "oid" in v) refs.set(r, v.oid);
        else if (v) sym.set(r, v.symref);
      }
    }
  };
  if (await isDir(join(repo.commonDir, "refs"))) await walk(join(repo.commonDir, "refs"), "refs");
  return { refs, sym };
}

/** The current value of one ref (loose, else packed), read as git would; "" when it does not exist. */
export async function readRef(repo: RepoFiles, ref: string): Promise<string> {
  const loose = parseRefFile((await readOr(refFile(repo, ref), "a ref")) ?? "");
  if (loose && "oid" in loose) return loose.oid;
  return parsePackedRefs((await readOr(join(repo.commonDir, "packed-refs"), "packed-refs")) ?? "").get(ref) ??
    "";
}

function refFile(repo: RepoFiles, ref: string): string {
  return join(repo.commonDir, ...refParts(ref));
}

function refParts(ref: string): string[] {
  const parts = ref.split("/");
  if (
    parts[0] !== "refs" || parts.length < 2 ||
    parts.some((p) => !p || p === "." || p === ".." || p.endsWith(".lock") || /[\\:\0]/.test(p))
  ) {
    throw new KodamaError(`not a ref kodama writes: ${JSON.stringify(ref)}`, ExitCode.FAILED);
  }
  return parts;
}

/** The user's identity, as plain values from their own global config (never the repository's). */
async function identity(scratch: string): Promise<{ name: string; email: string }> {
  const get = async (key: string) => {
    const r = await new Deno.Command("git", {
      args: ["config", "--global", "--get", key],
      cwd: scratch,
      env: { GIT_DIR: join(scratch, "none"), GIT_CONFIG_NOSYSTEM: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output().catch(() => undefined);
    // deno-lint-ignore no-control-regex
    return r?.success ? new TextDecoder().decode(r.stdout).trim().replace(/[\x00-\x1f<>]/g, "") : "";
  };
  return {
    name: (await get("user.name")) || "kodama",
    email: (await get("user.email")) || "kodama@localhost",
  };
}

/** The config kodama writes for its scratch git directory: only what its commands need, nothing that runs. */
export function scratchConfig(
  o: { bare: boolean; objectFormat: string; name: string; email: string; none: string },
) {
  const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return [
    "[core]",
    `\trepositoryformatversion = ${o.objectFormat === "sha1" ? 0 : 1}`,
    `\tbare = ${o.bare}`,
    // no directory can exist below the null device: no hook, whatever is planted anywhere
    `\thooksPath = ${q(o.none)}`,
    `\tattributesFile = ${q(o.none)}`,
    `\texcludesFile = ${q(o.none)}`,
    "\tfsmonitor = false",
    "\tuntrackedCache = false",
    "\tlogAllRefUpdates = false",
    "\tuseReplaceRefs = false",
    ...(o.objectFormat === "sha1" ? [] : ["[extensions]", `\tobjectFormat = ${o.objectFormat}`]),
    "[gc]\n\tauto = 0",
    "[maintenance]\n\tauto = false",
    // a fetch reads only a bundle file kodama names: no remote helper, no network
    "[protocol]\n\tallow = never",
    '[protocol "file"]\n\tallow = always',
    "[transfer]\n\tfsckObjects = true",
    "[commit]\n\tgpgSign = false",
    "[tag]\n\tgpgSign = false",
    "[rebase]\n\tautoStash = false\n\tupdateRefs = false",
    "[advice]\n\tdetachedHead = false",
    "[user]",
    `\tname = ${q(o.name)}`,
    `\temail = ${q(o.email)}`,
    "",
  ].join("\n");
}

/** Make the scratch git directory for the repository found from `dir` (exit 2 when none, 4 when unreadable). */
export async function openDoorGit(dir: string): Promise<DoorGit & { close: () => Promise<void> }> {
  const repo = await gitLocations(dir);
  if (!repo) {
    throw new KodamaError(
      `${dir} is not in a git repository`,
      ExitCode.USAGE,
      "run it in a clone of the repository",
    );
  }
  const fmt = formatProblem(
    configValues((await readOr(join(repo.commonDir, "config"), "the repository's config")) ?? ""),
  );
  if (fmt.problem) {
    throw new KodamaError(
      `the repository at ${
        repo.workTree ?? repo.gitDir
      } uses a format kodama does not read through a door (${fmt.problem})`,
      ExitCode.FORBIDDEN,
      "run the command from your terminal",
    );
  }
  const root = await Deno.makeTempDir({ prefix: "kodama-doorgit-" });
  try {
    const gitDir = join(root, "git"), none = devNull(hostPlatform()), home = join(root, "home");
    const objects = join(root, "objects");
    const pins = {
      git: await pinDir(repo.gitDir),
      common: await pinDir(repo.commonDir),
      objects: await pinDir(repo.objects),
    };
    for (const d of [join(gitDir, "refs"), join(home, ".config"), join(objects, "pack")]) {
      await Deno.mkdir(d, { recursive: true, mode: 0o700 });
    }
    const me = await identity(root);
    await Deno.writeTextFile(
      join(gitDir, "config"),
      scratchConfig({ bare: !repo.workTree, objectFormat: fmt.objectFormat, ...me, none }),
    );
    await Deno.writeTextFile(join(root, "global"), "");
    await snapshotRefs(repo, gitDir);
    const idx = join(repo.gitDir, "index");
    if (await isFile(idx)) await Deno.copyFile(idx, join(gitDir, "index"));
    const plat = hostPlatform();
    const env: Record<string, string> = {};
    for (const n of baseEnvNames(plat)) {
      const v = Deno.env.get(n);
      if (v !== undefined) env[n] = v;
    }
    Object.assign(env, {
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      ...(plat.os === "windows" ? { USERPROFILE: home } : {}),
      GIT_DIR: gitDir,
      GIT_OBJECT_DIRECTORY: objects,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: altEntry(repo.objects, plat.os === "windows" ? ";" : ":"),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: join(root, "global"),
      GIT_ATTR_NOSYSTEM: "1",
      GIT_TERMINAL_PROMPT: "0",
      GIT_NO_REPLACE_OBJECTS: "1",
      GIT_OPTIONAL_LOCKS: "0",
      GIT_PROTOCOL_FROM_USER: "0",
      ...(repo.workTree ? { GIT_WORK_TREE: repo.workTree } : {}),
    });
    return {
      repo,
      gitDir,
      env,
      who: `${me.name} <${me.email}>`,
      pins,
      objects,
      close: () => Deno.remove(root, { recursive: true }).catch(() => {}),
    };
  } catch (e) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** One entry of GIT_ALTERNATE_OBJECT_DIRECTORIES: C-quoted when it holds the separator or starts with a quote. */
export function altEntry(dir: string, sep: string): string {
  return dir.includes(sep) || dir.startsWith('"')
    ? `"${dir.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`
    : dir;
}

/** HEAD, every ref and the shallow list of the repository, into the scratch git directory (as data). */
async function snapshotRefs(repo: RepoFiles, gitDir: string): Promise<void> {
  const { refs, sym } = await readRefs(repo);
  await Deno.writeTextFile(
    join(gitDir, "packed-refs"),
    [...refs].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([r, o]) => `${o} ${r}\n`).join(""),
  );
  for (const [r, to] of sym) {
    await Deno.mkdir(dirname(join(gitDir, r)), { recursive: true });
    await Deno.writeTextFile(join(gitDir, r), `ref: ${to}\n`);
  }
  const head = parseRefFile((await readOr(join(repo.gitDir, "HEAD"), "HEAD")) ?? "");
  if (!head) {
    throw new KodamaError(`the repository at ${repo.gitDir} has no HEAD kodama can read`, ExitCode.USAGE);
  }
  await Deno.writeTextFile(join(gitDir, "HEAD"), "oid" in head ? `${head.oid}\n` : `ref: ${head.symref}\n`);
  const shallow = await readOr(join(repo.commonDir, "shallow"), "shallow");
  if (shallow !== undefined) {
    await Deno.writeTextFile(
      join(gitDir, "shallow"),
      shallow.split("\n").filter((l) => OID.test(l)).join("\n") + "\n",
    );
  }
}

/**
 * Door git asked for by whoever started this process (`KODAMA_DOOR_GIT=1`: a workflow's session step, the
 * VS Code extension's fetch and land): it only ever takes rights away.
 */
export const doorGitAsked = (): boolean => Deno.env.get("KODAMA_DOOR_GIT") === "1";

/** `fn` under door git when this process was asked for it (doorGitAsked), else as it is. */
export async function doorGitIfAsked<R>(dir: string, fn: () => Promise<R>): Promise<R> {
  return doorGitAsked() ? await withDoorGit(dir, fn) : await fn();
}

/** Run `fn` with door git for the repository found from `dir` (reused when already inside one for it). */
export async function withDoorGit<R>(dir: string, fn: () => Promise<R>): Promise<R> {
  scope ??= new (await import("node:async_hooks")).AsyncLocalStorage<DoorGit>();
  const at = await gitLocations(dir);
  const cur = doorGit();
  if (cur && at && cur.repo.gitDir === at.gitDir) return await fn();
  // no repository here: git still runs as door git, and finds none (each caller says so its own way)
  const d = at ? await openDoorGit(dir) : nowhere();
  live.add(d);
  try {
    return await scope.run(d, fn);
  } finally {
    live.delete(d);
    await d.close();
  }
}

/**
 * Door git for several repositories at once (a fetch or land of a session with several: fetchrepos.ts), each
 * its own scratch, all open for the whole call: `inRepo(dir, f)` runs `f` with the door git of `dir` (one of
 * `dirs`), so what one step made in a repository's scratch (a merge's commit) is there for the next.
 */
export async function withDoorGits<R>(
  dirs: string[],
  fn: (inRepo: <T>(dir: string, f: () => Promise<T>) => Promise<T>) => Promise<R>,
): Promise<R> {
  scope ??= new (await import("node:async_hooks")).AsyncLocalStorage<DoorGit>();
  const s = scope;
  const open = new Map<string, DoorGit & { close: () => Promise<void> }>();
  try {
    for (const dir of dirs) {
      if (open.has(dir)) continue;
      const d = await openDoorGit(dir);
      open.set(dir, d);
      live.add(d);
    }
    return await fn(async (dir, f) => {
      const d = open.get(dir);
      if (!d) throw new KodamaError(`door git: ${dir} was not opened`, ExitCode.FAILED);
      return await s.run(d, f);
    });
  } finally {
    for (const d of open.values()) {
      live.delete(d);
      await d.close();
    }
  }
}

/** Door git where there is no repository: a GIT_DIR that does not exist, so every git command fails. */
function nowhere(): DoorGit & { close: () => Promise<void> } {
  const none = join(devNull(hostPlatform()), "no-repository");
  const repo = { gitDir: none, commonDir: none, objects: join(none, "objects") };
  const env: Record<string, string> = {};
  for (const n of baseEnvNames(hostPlatform())) {
    const v = Deno.env.get(n);
    if (v !== undefined) env[n] = v;
  }
  Object.assign(env, { GIT_DIR: none, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: devNull(hostPlatform()) });
  return { repo, gitDir: none, env, who: "kodama <kodama@localhost>", close: () => Promise.resolve() };
}

/** The pins of a door git that can write (openDoorGit's), else a bug. */
function pinsOf(d: DoorGit) {
  if (!d.pins || !d.objects) throw new KodamaError("door git has no repository to write to", ExitCode.FAILED);
  return { ...d.pins, scratch: d.objects };
}

/** Create `rel`'s lock below `pin`: a held one (exit 1) says another git holds it. */
async function lockIn(pin: Pinned, rel: string, what: string, hint: string): Promise<NewFile> {
  try {
    return await createNew(pin, `${rel}.lock`);
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    throw new KodamaError(
      `cannot lock ${what} (${
        e instanceof Deno.errors.AlreadyExists ? "another git holds it" : (e as Error).message
      })`,
      ExitCode.FAILED,
      hint,
    );
  }
}

/**
 * The objects git wrote into the scratch's object directory, into the repository's (loose objects, then
 * each pack with its index last, as git does), each by nofollow's createNew and rename; what is there
 * already is left. Called before a ref or the index can name them.
 */
export async function flushObjects(d: DoorGit): Promise<void> {
  const p = pinsOf(d);
  const list = async (dir: string) =>
    (await Array.fromAsync(Deno.readDir(dir)).catch(() => [] as Deno.DirEntry[])).map((e) => e.name).sort();
  const moves: string[] = [];
  for (const sub of await list(p.scratch)) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue;
    for (const f of await list(join(p.scratch, sub))) {
      if (/^[0-9a-f]{38,62}$/.test(f)) moves.push(`${sub}/${f}`);
    }
  }
  const packs = (await list(join(p.scratch, "pack"))).filter((f) =>
    /^pack-[0-9a-f]+\.(pack|rev|bitmap|mtimes|promisor|idx)$/.test(f)
  );
  const last = (f: string) => f.endsWith(".idx") ? 1 : 0;
  moves.push(...packs.sort((a, b) => last(a) - last(b)).map((f) => `pack/${f}`));
  for (const rel of moves) {
    const from = join(p.scratch, ...rel.split("/"));
    if (!(await existsBelow(p.objects, rel))) {
      const name = rel.split("/").pop()!;
      const nf = await createNew(p.objects, `${rel}.kodama-${crypto.randomUUID().slice(0, 8)}`, 0o444);
      try {
        const src = await Deno.open(from);
        try {
          const buf = new Uint8Array(1 << 20);
          for (let n; (n = await src.read(buf)) !== null;) await nf.write(buf.subarray(0, n));
        } finally {
          src.close();
        }
        await nf.renameTo(name);
      } catch (e) {
        await nf.discard();
        throw e;
      }
    }
    await Deno.remove(from);
  }
}

/**
 * Write `ref` of the repository itself to `now`, by git's lock protocol: `<ref>.lock` created exclusively
 * (a running git holds it: refused), then compared with `old` ("" = must not exist; undefined = any), the
 * new value written and renamed into place, a reflog line appended when the repository keeps `logs/`. The
 * objects git wrote go in first. Every one of these writes is checked as it is made (nofollow.ts): a link
 * on the way is refused (exit 4). The scratch's copy follows (git reads it there). Exit 1 when the ref
 * changed meanwhile.
 */
export async function writeRef(d: DoorGit, ref: string, now: string, old: string | undefined, msg: string) {
  if (!OID.test(now)) throw new KodamaError(`not an object id: ${now}`, ExitCode.FAILED);
  const rel = refParts(ref).join("/");
  const p = pinsOf(d);
  await flushObjects(d);
  const lock = await lockIn(p.common, rel, ref, "run it again once the other git command is done");
  try {
    const cur = await readRef(d.repo, ref);
    if (old !== undefined && cur !== old) {
      throw new KodamaError(
        `${ref} changed meanwhile (it is ${cur.slice(0, 12) || "gone"})`,
        ExitCode.FAILED,
      );
    }
    await lock.write(new TextEncoder().encode(`${now}\n`));
    if (await existsBelow(p.common, "logs")) {
      await appendTo(
        p.common,
        `logs/${rel}`,
        new TextEncoder().encode(reflogLine(cur, now, d.who, new Date(), msg)),
      );
    }
    await lock.renameTo(rel.split("/").pop()!);
  } catch (e) {
    await lock.discard();
    throw e;
  }
  await Deno.mkdir(dirname(join(d.gitDir, ref)), { recursive: true });
  await Deno.writeTextFile(join(d.gitDir, ref), `${now}\n`);
}

/** The newest reflog entry of a ref of the repository itself. */
export async function lastReflogOf(d: DoorGit, ref: string) {
  refFile(d.repo, ref);
  return lastReflog((await readOr(join(d.repo.commonDir, "logs", ...ref.split("/")), "a reflog")) ?? "");
}

/**
 * Change the repository's index with `fn` (git commands on the scratch's copy, with its work tree), by
 * git's lock protocol: `index.lock` is held for the whole change (a git running there refuses, and waits
 * are none), the copy is taken under it, and renamed into place only when `fn` succeeded.
 */
export async function withIndexLock<R>(d: DoorGit, fn: () => Promise<R>): Promise<R> {
  const p = pinsOf(d);
  const idx = join(d.repo.gitDir, "index");
  const lock = await lockIn(
    p.git,
    "index",
    `the index of ${d.repo.workTree ?? d.repo.gitDir}`,
    "run it again once the other git command is done; nothing was changed",
  );
  const mine = join(d.gitDir, "index");
  try {
    if (await isFile(idx)) await Deno.copyFile(idx, mine);
    else await Deno.remove(mine).catch(() => {});
    // the objects made so far go in before the work tree moves: a refusal then changes nothing
    await flushObjects(d);
    const r = await fn();
    await flushObjects(d);
    await lock.write(await Deno.readFile(mine));
    await lock.renameTo("index");
    return r;
  } catch (e) {
    await lock.discard();
    throw e;
  }
}

/** One work tree of the repository: its path, its git directory, the branch its HEAD holds. */
export interface DoorWorktree {
  path: string;
  gitDir: string;
  branch?: string;
}

/** The repository's work trees (the main one, and `worktrees/*`), read from git's files. */
export async function worktreesOf(d: DoorGit): Promise<DoorWorktree[]> {
  const out: DoorWorktree[] = [];
  const headOf = async (g: string) => {
    const h = parseRefFile((await readOr(join(g, "HEAD"), "HEAD")) ?? "");
    return h && "symref" in h ? h.symref : undefined;
  };
  const c = d.repo.commonDir;
  const main = d.repo.gitDir === c ? d.repo.workTree : /[\\/]\.git$/.test(c) ? dirname(c) : undefined;
  if (main) out.push({ path: main, gitDir: c, branch: await headOf(c) });
  try {
    for await (const e of Deno.readDir(join(c, "worktrees"))) {
      const g = join(c, "worktrees", e.name);
      const at = (await readOr(join(g, "gitdir"), "a work tree's gitdir"))?.trim();
      out.push({ path: at ? dirname(resolve(g, at)) : g, gitDir: g, branch: await headOf(g) });
    }
  } catch { /* none */ }
  return out;
}

/** A merge, rebase, cherry-pick or revert in progress in the repository's own git directory. */
export async function inProgressIn(gitDir: string): Promise<string | undefined> {
  const marks: [string, string][] = [
    ["MERGE_HEAD", "a merge"],
    ["rebase-merge", "a rebase"],
    ["rebase-apply", "a rebase"],
    ["CHERRY_PICK_HEAD", "a cherry-pick"],
    ["REVERT_HEAD", "a revert"],
  ];
  for (const [f, what] of marks) {
    if (await Deno.lstat(join(gitDir, f)).then(() => true, () => false)) return what;
  }
  return undefined;
}

/** The repository's own config, as data: its upstream for `start` (never a setting git acts on). */
export async function configOf(d: DoorGit): Promise<Map<string, string>> {
  return configValues((await readOr(join(d.repo.commonDir, "config"), "the repository's config")) ?? "");
}
