/**
 * `kodama sync pull NAME [PATH]`: bring back what changed in the pod since the last sync.
 *
 * The pod's workspace is listed in one exec (size, mtime, mode of every path) and compared with the
 * manifest — what the pod was last sent or last pulled from it. A path the pod changed (new, different
 * size or mtime, different kind) comes back; a path the manifest knows that the pod no longer has is
 * removed locally. When the local file changed too since the last sync, it is a conflict: listed, and
 * left alone unless --force. Ignored paths never come back. Pulled files are written beside their
 * target and renamed over it, with the pod's mode and mtime, and recorded in the manifest so that the
 * background sync does not send them back.
 */
import { dirname, join } from "node:path";
import type { Kube } from "../../kube/client.ts";
import { execInPod } from "../../kube/exec.ts";
import { concatBytes } from "../../bytes.ts";
import { ExitCode, KodamaError, notFound } from "../../errors.ts";
import { type Sink, stderrSink, stdoutSink } from "../../base/sink.ts";
import { TarParser } from "../../pods/tar.ts";
import { requireSession } from "../cluster.ts";
import type { IgnoreRules } from "./ignore.ts";
import { rulesFor, targetOf } from "./push.ts";
import { inGitDir, pulledMode, pulledPathProblem, throughLink } from "./safety.ts";
import { listRemote, type RemoteEntry } from "./remote.ts";
import { type Entry, sameEntry, scanTree, sortWalk, statPath, type Tree } from "./scan.ts";
import { loadConfig, loadManifest, type SyncConfig, updateManifest } from "./store.ts";
import {
  type Folding,
  foldName,
  hasUnixModes,
  hostPlatform,
  nativeName,
  type Platform,
  probeFolding,
} from "../../platform.ts";

export type Change = "added" | "modified" | "deleted";

export interface PullItem {
  path: string;
  change: Change;
  conflict: boolean;
  /** the local name it would land on, on a case-insensitive or normalizing disk (a conflict) */
  foldsOnto?: string;
}

const sec = (ms: number) => Math.floor(ms / 1000);

/** Did the pod change this path since the manifest recorded it? Pure. */
export function podChanged(r: RemoteEntry, m: Entry | undefined): Change | undefined {
  if (!m) return "added";
  if (m.kind !== r.kind) return "modified";
  if (r.kind === "file" && (r.size !== m.size || r.mtime !== sec(m.mtime))) return "modified";
  if (r.kind === "symlink") return r.link !== undefined && r.link !== m.link ? "modified" : undefined;
  if (r.mode !== m.mode) return "modified";
  return undefined;
}

/** Did the local side change this path since the manifest recorded it? Pure. */
export function localChanged(l: Entry | undefined, m: Entry | undefined): boolean {
  if (!m) return l !== undefined && l.kind !== "dir";
  if (!l) return true;
  return !sameEntry(l, m);
}

/**
 * What a pull would do (files and links; directories are made as needed). `under` limits it to one
 * path. Pure.
 */
export function planPull(
  remote: Map<string, RemoteEntry>,
  manifest: Tree,
  local: Tree,
  ignored: (rel: string, isDir: boolean) => boolean,
  under?: string,
  o: {
    /** how the local disk folds names (src/platform.ts probeFolding of the sync root) */
    folding?: Folding;
    /** whose naming rules apply (default this machine's) */
    platform?: Platform;
  } = {},
): PullItem[] {
  const { folding, platform = hostPlatform() } = o;
  const inScope = (p: string) => !under || p === under || p.startsWith(under + "/");
  const items: PullItem[] = [];
  for (const [p, r] of remote) {
    if (r.kind === "dir" || !inScope(p) || ignored(p, false) || pulledPathProblem(p, platform)) continue;
    const m = manifest.get(p);
    const change = podChanged(r, m);
    if (!change) continue;
    const l = local.get(p);
    // the same file made on both sides is only a conflict when they differ
    const same = !m && l?.kind === r.kind && r.kind === "file" && l.size === r.size &&
      sec(l.mtime) === r.mtime;
    if (same) continue;
    items.push({ path: p, change, conflict: localChanged(l, m) });
  }
  for (const [p, m] of manifest) {
    if (
      m.kind === "dir" || remote.has(p) || !inScope(p) || ignored(p, false) || pulledPathProblem(p, platform)
    ) {
      continue;
    }
    const l = local.get(p);
    if (!l) continue; // gone on both sides
    items.push({ path: p, change: "deleted", conflict: localChanged(l, m) });
  }
  if (folding && (folding.caseInsensitive || folding.normalizing)) markFolded(items, remote, local, folding);
  return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * On a disk that folds names (APFS, NTFS: `Foo` and `foo` are one file; APFS: NFC and NFD too), a pod
 * name is a conflict — never an overwrite — when it, or one of its directories, would land on a local
 * name spelled differently, or when another pod name lands on the same local name. Pure.
 */
export function markFolded(
  items: PullItem[],
  remote: Map<string, RemoteEntry>,
  local: Tree,
  f: Folding,
): void {
  const localByKey = new Map<string, string>();
  for (const name of local.keys()) localByKey.set(foldName(name, f), name);
  const podByKey = new Map<string, string[]>();
  for (const [name, r] of remote) {
    if (r.kind === "dir") continue;
    const k = foldName(name, f);
    (podByKey.get(k) ?? podByKey.set(k, []).get(k)!).push(name);
  }
  for (const i of items) {
    if (i.change === "deleted") continue;
    const parts = i.path.split("/");
    for (let n = 1; n <= parts.length && i.foldsOnto === undefined; n++) {
      const prefix = parts.slice(0, n).join("/");
      if (local.has(prefix)) continue;
      i.foldsOnto = localByKey.get(foldName(prefix, f));
    }
    const twins = (podByKey.get(foldName(i.path, f)) ?? []).filter((x) => x !== i.path);
    if (i.foldsOnto === undefined && twins.length) i.foldsOnto = twins[0];
    if (i.foldsOnto !== undefined) i.conflict = true;
  }
}

const MARK: Record<Change, string> = { added: "A", modified: "M", deleted: "D" };

/**
 * `A path`, `M path`, `D path`; conflicts as `C path (changed here and in the pod)`, or `C path (this
 * disk stores it as the same file as X)` on a folding disk.
 */
export function formatItems(items: PullItem[]): string {
  return items.map((i) =>
    i.foldsOnto !== undefined
      ? `C ${i.path} (this disk stores it as the same file as ${i.foldsOnto})\n`
      : i.conflict
      ? `C ${i.path} (${i.change} in the pod, changed here too)\n`
      : `${MARK[i.change]} ${i.path}\n`
  ).join("");
}

/**
 * Where a pulled hard link may point: a regular file of this same pull (`group`), inside the tree, not
 * through a symlink — never a local file the pod did not send (a secret linked under another name would
 * be pushed back to the pod), never outside (macOS's link(2) follows a symlink). The absolute path, or
 * undefined.
 */
export function hardLinkSource(root: string, to: string, group: string[]): string | undefined {
  if (!to || !group.includes(to) || pulledPathProblem(to) || throughLink(root, to)) return undefined;
  const abs = join(root, to);
  try {
    return Deno.lstatSync(abs).isFile ? abs : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Make room for a pulled file where a local directory is: never without --force, and with it only the
 * paths the rules do not ignore go (ignored files the pod never had are kept, and so is the directory
 * then). True when the directory is gone.
 */
async function clearDir(
  root: string,
  rel: string,
  rules: IgnoreRules,
  force: boolean,
  err: Sink,
): Promise<boolean> {
  if (!force) {
    err.write(
      `warning: not pulling ${rel}: it is a directory here and a file in the pod (--force replaces it)\n`,
    );
    return false;
  }
  const local = await scanTree(root, rules, { under: rel });
  for (const p of sortWalk([...local.keys()]).reverse()) {
    if (p === rel) continue;
    await Deno.remove(join(root, p)).catch(() => {});
  }
  try {
    await Deno.remove(join(root, rel));
    return true;
  } catch {
    err.write(`warning: not pulling ${rel}: the directory here holds ignored files, which are kept\n`);
    return false;
  }
}

/** Fetch `rels` from the pod with tar (in groups, one exec each) and write them locally. */
async function fetchFiles(
  kube: Kube,
  c: SyncConfig,
  rels: string[],
  err: Sink,
  o: { rules: IgnoreRules; force: boolean },
): Promise<string[]> {
  const written: string[] = [];
  const t = targetOf(c);
  const dec = new TextDecoder();
  for (let i = 0; i < rels.length; i += 200) {
    const group = rels.slice(i, i + 200);
    const parser = new TarParser(async (e) => {
      const rel = e.name.replace(/^\.\//, "");
      if (!group.includes(rel) || pulledPathProblem(rel)) return undefined;
      if (throughLink(c.root, rel)) {
        err.write(`warning: skipping ${rel}: its local path goes through a symlink\n`);
        return undefined;
      }
      const target = join(c.root, rel);
      await Deno.mkdir(dirname(target), { recursive: true });
      const mtime = new Date(e.mtime * 1000);
      const cur = await Deno.lstat(target).catch(() => undefined);
      if (cur?.isDirectory && !(await clearDir(c.root, rel, o.rules, o.force, err))) return undefined;
      if (e.type === "symlink") {
        await Deno.remove(target).catch(() => {});
        // Windows makes symlinks only with Developer Mode (or as admin): one link must not end the pull
        await Deno.symlink(e.linkname ?? "", target).then(
          () => void written.push(rel),
          (x) =>
            err.write(`warning: skipping the symlink ${nativeName(rel, hostPlatform())}: ${x.message}\n`),
        );
        return undefined;
      }
      if (e.type === "hardlink") {
        // a hard link to a file earlier in this archive: one inode again, as in the pod
        const to = (e.linkname ?? "").replace(/^\.\//, "");
        const source = hardLinkSource(c.root, to, group);
        if (!source) {
          err.write(`warning: skipping the hard link ${rel}: ${to} is not a file this pull wrote\n`);
          return undefined;
        }
        await Deno.remove(target).catch(() => {});
        await Deno.link(source, target).then(
          () => void written.push(rel),
          (x) => err.write(`warning: link ${rel}: ${x.message}\n`),
        );
        return undefined;
      }
      if (e.type !== "file") return undefined;
      const tmp = join(dirname(target), `.kodama-pull-${crypto.randomUUID().slice(0, 8)}`);
      const fh = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      return {
        async write(b: Uint8Array) {
          let off = 0;
          while (off < b.length) off += await fh.write(b.subarray(off));
        },
        async close() {
          fh.close();
          const mode = pulledMode(e.mode);
          if (mode !== undefined) await Deno.chmod(tmp, mode);
          await Deno.utime(tmp, mtime, mtime);
          await Deno.rename(tmp, target);
          written.push(rel);
        },
      };
    });
    const errParts: Uint8Array[] = [];
    let writeErr: unknown;
    const res = await execInPod(
      kube,
      t.namespace,
      t.pod,
      t.container,
      ["sh", "-c", 'cd "$1" && shift && exec tar -cf - "$@"', "sh", t.workdir, ...group.map((g) => `./${g}`)],
      {
        backpressure: true,
        stdout: async (chunk) => {
          if (writeErr) return;
          try {
            await parser.push(chunk);
          } catch (e) {
            writeErr = e;
          }
        },
        stderr: (chunk) => void errParts.push(chunk.slice()),
      },
    );
    await parser.idle();
    if (writeErr) throw new KodamaError(`writing pulled files failed: ${(writeErr as Error).message}`);
    if (res.error || res.exitCode !== 0) {
      throw new KodamaError(
        `pulling from ${t.pod}:${t.workdir} failed: ${
          dec.decode(concatBytes(errParts)).trim().split("\n").slice(-2).join("; ") || res.error
        }`,
      );
    }
  }
  return written;
}

export async function pullCommand(
  kube: Kube,
  name: string,
  path: string | undefined,
  f: { dryRun?: boolean; force?: boolean },
  out: Sink = stdoutSink,
  err: Sink = stderrSink,
): Promise<number> {
  const c = await loadConfig(name);
  if (!c || c.namespace !== kube.namespace) {
    throw notFound(
      `session ${name} is not synced from this machine`,
      `pull compares with the last sync: start one with \`kodama sync push ${name} PATH\``,
    );
  }
  const v = await requireSession(kube, kube.namespace, name);
  if (v.status !== "Running") {
    throw new KodamaError(`session ${name} is ${v.status.toLowerCase()}: pull needs its pod running`);
  }
  const under = path?.replace(/^\.\/+/, "").replace(/\/+$/, "") || undefined;
  const rules = rulesFor(c);
  const where = { root: c.root, workdir: c.workdir };
  const [remote, manifest, local] = await Promise.all([
    listRemote(kube, targetOf(c), { syncGit: c.syncGit }),
    loadManifest(name, where),
    scanTree(c.root, rules),
  ]);
  // a case-insensitive or normalizing disk (APFS, NTFS) turns two pod names into one file: a conflict
  const folding = await probeFolding(c.root, hostPlatform());
  const items = planPull(remote, manifest, local, (p, d) => rules.ignoredPath(p, d), under, { folding });
  out.write(formatItems(items));
  const conflicts = items.filter((i) => i.conflict);
  if (!items.length) {
    err.write(`nothing changed in ${c.pod}:${c.workdir} since the last sync\n`);
    return ExitCode.OK;
  }
  if (f.dryRun) {
    err.write(
      `${items.length} path(s) would change locally${
        conflicts.length ? `, ${conflicts.length} conflict(s) (--force takes the pod's version)` : ""
      }; nothing done (--dry-run)\n`,
    );
    return ExitCode.OK;
  }
  // --force takes the pod's version of a conflict, never of a name this disk would fold onto another
  const todo = items.filter((i) => i.foldsOnto === undefined && (!i.conflict || f.force));
  const fetch = sortWalk(todo.filter((i) => i.change !== "deleted").map((i) => i.path));
  for (const p of remote.keys()) {
    const why = inGitDir(p) ? undefined : pulledPathProblem(p); // .git is never pulled: no need to say so
    if (why) err.write(`warning: not pulling ${JSON.stringify(p)}: ${why}\n`);
  }
  const written = new Set(await fetchFiles(kube, c, fetch, err, { rules, force: !!f.force }));
  for (const i of todo.filter((i) => i.change === "deleted")) {
    if (throughLink(c.root, i.path)) continue; // never remove through a local symlink
    await Deno.remove(join(c.root, i.path)).catch(() => {});
  }
  // record what the local files are now: the pod has the same, so nothing is sent back
  const now = new Map<string, Entry | undefined>();
  for (const i of todo) {
    if (i.change !== "deleted" && !written.has(i.path)) continue; // refused: stays as it was
    const e = await statPath(c.root, i.path);
    // Windows keeps no modes: the manifest keeps the pod's, so the next push sends them back unchanged
    const podBits = remote.get(i.path)?.mode;
    now.set(
      i.path,
      e && !hasUnixModes(hostPlatform()) && podBits !== undefined ? { ...e, mode: podBits & 0o7777 } : e,
    );
  }
  await updateManifest(name, where, (t) => {
    for (const [p, e] of now) {
      if (e) {
        t.set(p, e);
        const parts = p.split("/");
        for (let k = 1; k < parts.length; k++) {
          const d = parts.slice(0, k).join("/");
          const r = remote.get(d);
          if (!t.has(d) && r?.kind === "dir") {
            t.set(d, { kind: "dir", mode: r.mode, size: 0, mtime: r.mtime * 1000, ino: 0, dev: 0, nlink: 1 });
          }
        }
      } else t.delete(p);
    }
  });
  const left = conflicts.filter((i) => !f.force || i.foldsOnto !== undefined).length;
  err.write(
    `pulled ${fetch.length} file(s), removed ${todo.length - fetch.length}${
      left ? `; ${left} conflict(s) left alone (--force takes the pod's version)` : ""
    }\n`,
  );
  return left ? ExitCode.FAILED : ExitCode.OK;
}
