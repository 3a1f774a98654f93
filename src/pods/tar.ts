/**
 * A small streaming tar codec for `kodama cp` and sync (ustar + PAX long names; reads GNU long names too).
 * Hand-written rather than npm:tar-stream because it plugs straight into the exec stream's
 * backpressure (async chunks in, awaited writes out) and needs no untyped streamx bridge.
 *
 * Entries: regular files, directories, symlinks and hard links (a file's second name is written as a
 * link to its first, as GNU and busybox tar do, and extracted as a link again); FIFOs, sockets and
 * devices are never copied, and both packing and extracting say so through `warn` — nothing is dropped
 * silently.
 */
import { lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { hardLinkUnder, mkdirUnder, openUnder, Refused, symlinkUnder } from "../base/fs/safewrite.ts";
import { END_OF_ARCHIVE, header, KIND, padding, TarParser } from "./tarformat.ts";
export { END_OF_ARCHIVE, header, TarParser } from "./tarformat.ts";
export type { TarEntry } from "./tarformat.ts";
import {
  type Folding,
  foldName,
  hostPlatform,
  type Platform,
  podMode,
  pulledNameProblem,
} from "../base/platform.ts";

export interface PackOptions {
  /** bytes of file content read so far (progress) */
  onBytes?: (n: number) => void;
  /** an entry that is not copied (a socket, a FIFO, a device): said here, never dropped silently */
  warn?: (message: string) => void;
  /** whose mode policy applies (default this machine's: Windows sends 0o644/0o755, never its 0o666) */
  platform?: Platform;
}

/**
 * Stream a local file or directory as tar, its top entry renamed to `asName`
 * (kubectl cp semantics: `cp ./dir pod:/tmp/x` makes /tmp/x with dir's contents). A file with several
 * names inside the tree is stored once; its other names become hard-link entries.
 */
export async function* packPath(
  src: string,
  asName: string,
  o: PackOptions | ((n: number) => void) = {},
): AsyncGenerator<Uint8Array> {
  const { onBytes, warn, platform = hostPlatform() } = typeof o === "function"
    ? { onBytes: o, warn: undefined, platform: undefined }
    : o;
  const modeOf = (st: { mode: number; isDirectory(): boolean }) =>
    podMode({ local: st.mode, isDir: st.isDirectory() }, platform);
  /** `dev:ino` of files with several links -> the archive name they were first stored under */
  const firstName = new Map<string, string>();
  const walk = async function* (abs: string, name: string): AsyncGenerator<Uint8Array> {
    const st = await lstat(abs);
    const mtime = st.mtimeMs / 1000;
    if (st.isFile() && st.nlink > 1) {
      const id = `${st.dev}:${st.ino}`;
      const first = firstName.get(id);
      if (first !== undefined) {
        yield* header({ name, type: "hardlink", size: 0, mode: modeOf(st), mtime, linkname: first });
        return;
      }
      firstName.set(id, name);
    }
    if (st.isSymbolicLink()) {
      yield* header({ name, type: "symlink", size: 0, mode: st.mode, mtime, linkname: await readlink(abs) });
    } else if (st.isDirectory()) {
      yield* header({ name, type: "directory", size: 0, mode: modeOf(st), mtime });
      for (const child of (await readdir(abs)).sort()) yield* walk(join(abs, child), `${name}/${child}`);
    } else if (st.isFile()) {
      // the walk never follows a link: a directory on the way swapped for one meanwhile is not read through
      if (await realpath(abs).catch(() => "") !== abs) {
        warn?.(`skipping ${abs}: its path changed to go through a symlink while it was being copied`);
        return;
      }
      yield* header({ name, type: "file", size: st.size, mode: modeOf(st), mtime });
      const fh = await open(abs, "r");
      try {
        let left = st.size;
        while (left > 0) {
          const buf = new Uint8Array(Math.min(256 * 1024, left));
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) throw new Error(`${abs} shrank while being copied`);
          left -= bytesRead;
          onBytes?.(bytesRead);
          yield buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
      yield padding(st.size);
    } else {
      const kind = st.isFIFO()
        ? "a FIFO"
        : st.isSocket()
        ? "a socket"
        : st.isCharacterDevice()
        ? "a character device"
        : st.isBlockDevice()
        ? "a block device"
        : "of an unknown type";
      warn?.(`skipping ${abs}: it is ${kind}, which is not copied`);
    }
  };
  // from the real directory of the top entry, so that every file's own realpath is its walked path
  const top = resolve(src);
  yield* walk(join(await realpath(dirname(top)), basename(top)), asName);
  yield END_OF_ARCHIVE;
}

/**
 * Where an archive entry lands locally: `srcBase/...` is renamed to `dest/...`. Entries that
 * would escape `dest` (absolute paths, `..`) return undefined and are skipped.
 */
export function localPathFor(
  entryName: string,
  srcBase: string,
  dest: string,
  p: Platform = hostPlatform(),
): string | undefined {
  return entryProblem(entryName, srcBase, p) ? undefined : landing(entryName, dest, p);
}

function landing(entryName: string, dest: string, p: Platform): string | undefined {
  const parts = entryName.split("/").filter((x) => x !== "" && x !== ".");
  const out = p.path.resolve(dest, ...parts.slice(1));
  const root = p.path.resolve(dest);
  if (out !== root && !out.startsWith(root.endsWith(p.path.sep) ? root : root + p.path.sep)) return undefined;
  return out;
}

/**
 * Why an archive entry must not be written under the destination, or undefined: outside the copied
 * tree, or (src/base/platform.ts) a name this OS cannot hold as written — on Windows `a\b`, `..\x`, `C:x`,
 * `CON`, a trailing dot.
 */
export function entryProblem(
  entryName: string,
  srcBase: string,
  p: Platform = hostPlatform(),
): string | undefined {
  const parts = entryName.split("/").filter((x) => x !== "" && x !== ".");
  if (parts.length === 0 || parts.includes("..") || entryName.startsWith("/")) {
    return "outside the destination";
  }
  if (parts[0] !== srcBase) return "outside the destination";
  if (parts.length > 1) {
    const why = pulledNameProblem(parts.slice(1).join("/"), p);
    if (why) return why;
  }
  return undefined;
}

export interface ExtractOptions {
  /** whose naming rules apply (default this machine's) */
  platform?: Platform;
  /**
   * How the destination's file system folds names (src/base/platform.ts probeFolding): a second entry
   * that folds onto an earlier one (`Foo` then `foo`, NFC then NFD) would overwrite it, so it is skipped
   * with a warning instead.
   */
  folding?: Folding;
  /** why a local path must not be written (a workflow never writes `.git`), or undefined */
  refuse?: (target: string) => string | undefined;
  /** told each entry refused by the link rule (src/base/fs/safewrite.ts), after its warning */
  onRefused?: (name: string) => void;
}

/**
 * Write the entries of a tar stream under `dest` (the archive's top entry is `srcBase`), the one safe
 * way (src/base/fs/safewrite.ts): never through a symlink (an archive can chain `x/y -> ..` and `x/y/z -> ..`,
 * the class of bug behind kubectl cp's CVEs, or plant a link and then a file through it), each file
 * under a temporary name renamed into place, and a symlink only when, resolved against the disk as it is
 * when it is made, it stays inside the destination and out of .git. A refused entry is a warning.
 *
 * What each entry is measured against comes from `dest`, never from an entry: the top entry is `dest`
 * itself (a file or link there may point beside it, in its directory), and everything below it lands
 * in `dest` and is checked against `dest`. The top entry, when there is one, comes first and once: a
 * top entry that is not a directory (a file, a link, a FIFO that is skipped, a link that is refused)
 * makes a one-entry archive, so every entry after it is refused; a top entry after another entry, or a
 * second one, is refused (it could turn the destination into a link under entries already checked).
 */
export function extractTo(
  dest: string,
  srcBase: string,
  warn: (m: string) => void,
  o: ExtractOptions = {},
): TarParser {
  const p = o.platform ?? hostPlatform();
  const written = new Map<string, string>();
  // decided from the destination alone: a directory's entries stay inside it; the top entry (the
  // destination itself) is measured against the directory it lands in
  const tree = resolve(dest);
  const beside = dirname(tree);
  /** what the archive has shown so far: nothing, a tree (entries below the top), or one entry */
  let shape: "none" | "tree" | "single" = "none";
  /** the name of the archive's single top entry, once seen */
  let single = "";
  const refuse = (name: string, why: string) => {
    warn(`skipping ${name}: ${why}`);
    o.onRefused?.(name);
    return undefined;
  };
  return new TarParser(async (e) => {
    const target = localPathFor(e.name, srcBase, dest, p);
    if (!target) {
      warn(`skipping ${e.name}: ${entryProblem(e.name, srcBase, p) ?? "outside the destination"}`);
      return undefined;
    }
    const top = target === p.path.resolve(dest);
    if (shape === "single") {
      return refuse(
        e.name,
        `the archive's top entry ${single} is not a directory, so nothing comes after it`,
      );
    }
    if (top && e.type !== "directory") {
      if (shape === "tree") {
        return refuse(e.name, "it names the destination itself again, after entries inside it");
      }
      shape = "single";
      single = e.name;
    } else shape = "tree";
    const root = top && e.type !== "directory" ? beside : tree;
    if (o.folding && e.type !== "directory") {
      const key = foldName(e.name.replace(/\/+$/, ""), o.folding);
      const earlier = written.get(key);
      if (earlier !== undefined && earlier !== e.name) {
        warn(`skipping ${e.name}: this file system stores it as the same file as ${earlier}`);
        return undefined;
      }
      written.set(key, e.name);
    }
    const refused = o.refuse?.(target);
    if (refused) {
      warn(`skipping ${e.name}: ${refused}`);
      return undefined;
    }
    const shown = relative(dirname(resolve(dest)), target) || e.name;
    try {
      if (e.type === "directory") {
        await mkdirUnder(root, target);
        return undefined;
      }
      if (e.type !== "file" && e.type !== "symlink" && e.type !== "hardlink") {
        warn(`skipping ${e.name}: it is ${KIND[e.type] ?? KIND.other}, which is not copied`);
        return undefined;
      }
      await mkdirUnder(root, dirname(target));
      if (e.type === "symlink") {
        await symlinkUnder(root, target, e.linkname ?? "");
        return undefined;
      }
      if (e.type === "hardlink") {
        // another name of a file extracted earlier: link it, if that file is inside the destination
        const to = localPathFor(e.linkname ?? "", srcBase, dest, p);
        if (!to) throw new Refused("its target is outside the destination");
        await hardLinkUnder(root, to, target);
        return undefined;
      }
      return await openUnder(root, target, { mode: e.mode & 0o777 || 0o644 });
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      // the target once: the reason names it already when it is about the target
      const to = e.linkname && !err.message.includes(e.linkname) ? ` -> ${e.linkname}` : "";
      const what = e.type === "symlink"
        ? `symlink ${shown}${to}`
        : e.type === "hardlink"
        ? `hard link ${shown}${to}`
        : shown;
      warn(`skipping ${what}: ${err.message}`);
      o.onRefused?.(e.name);
      return undefined;
    }
  });
}
