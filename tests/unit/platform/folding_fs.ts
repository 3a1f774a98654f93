/**
 * A case-folding, normalizing in-memory file system, as APFS (case-insensitive, normalization-insensitive)
 * or NTFS (case-insensitive) behave: a name is stored as first written, and every lookup folds (`foo.ts`
 * finds `Foo.ts`; an NFD name finds its NFC twin on APFS). It implements the ScanFs interface that sync's
 * scan reads through (src/session/sync/scan.ts), so the real scan and pull planner run over it.
 */
import { type Folding, foldName } from "../../../src/base/platform.ts";
import type { ScanFs } from "../../../src/session/sync/scan.ts";

interface Node {
  name: string; // as first written
  kind: "file" | "dir" | "symlink";
  data: string;
  mode: number;
  mtime: number;
  link?: string;
  children?: Map<string, Node>; // folded name -> node
}

export class FoldingFs implements ScanFs {
  readonly #root: Node = { name: "", kind: "dir", data: "", mode: 0o755, mtime: 0, children: new Map() };
  #clock = 1_700_000_000_000;

  constructor(readonly root: string, readonly folding: Folding) {}

  #parts(path: string): string[] {
    if (path !== this.root && !path.startsWith(this.root + "/")) throw new Deno.errors.NotFound(path);
    return path.slice(this.root.length).split("/").filter(Boolean);
  }

  #find(path: string): Node {
    let n = this.#root;
    for (const p of this.#parts(path)) {
      const c = n.children?.get(foldName(p, this.folding));
      if (!c) throw new Deno.errors.NotFound(`lstat '${path}'`);
      n = c;
    }
    return n;
  }

  /** Write a file (making its directories): an existing file of the folded name keeps its spelling. */
  writeFile(rel: string, data: string, mode = 0o644): void {
    const parts = rel.split("/");
    let n = this.#root;
    for (const [i, p] of parts.entries()) {
      const key = foldName(p, this.folding);
      let c = n.children!.get(key);
      const last = i === parts.length - 1;
      if (!c) {
        c = last
          ? { name: p, kind: "file", data: "", mode, mtime: 0 }
          : { name: p, kind: "dir", data: "", mode: 0o755, mtime: 0, children: new Map() };
        n.children!.set(key, c);
      }
      if (last) {
        c.data = data;
        c.mtime = this.#clock += 1000;
      }
      n = c;
    }
  }

  /** rename(2): on a case-insensitive disk `Foo.ts` -> `foo.ts` changes the stored spelling. */
  rename(from: string, to: string): void {
    const fp = from.split("/"), tp = to.split("/");
    const dirOf = (parts: string[]) => this.#find([this.root, ...parts.slice(0, -1)].join("/"));
    const src = dirOf(fp), dst = dirOf(tp);
    const node = src.children!.get(foldName(fp.at(-1)!, this.folding));
    if (!node) throw new Deno.errors.NotFound(from);
    src.children!.delete(foldName(fp.at(-1)!, this.folding));
    node.name = tp.at(-1)!;
    dst.children!.set(foldName(node.name, this.folding), node);
  }

  readDirSync(path: string): Iterable<{ name: string }> {
    const n = this.#find(path);
    if (n.kind !== "dir") throw new Deno.errors.NotADirectory(path);
    return [...n.children!.values()].map((c) => ({ name: c.name }));
  }

  lstatSync(path: string): Deno.FileInfo {
    const n = this.#find(path);
    return {
      isFile: n.kind === "file",
      isDirectory: n.kind === "dir",
      isSymlink: n.kind === "symlink",
      size: n.data.length,
      mtime: new Date(n.mtime),
      atime: null,
      birthtime: null,
      ctime: null,
      dev: 1,
      ino: 0,
      mode: n.mode,
      nlink: 1,
      uid: 0,
      gid: 0,
      rdev: 0,
      blksize: 4096,
      blocks: 1,
      isBlockDevice: false,
      isCharDevice: false,
      isFifo: false,
      isSocket: false,
    } as Deno.FileInfo;
  }

  readLinkSync(path: string): string {
    const n = this.#find(path);
    if (n.kind !== "symlink") throw new Error(`not a link: ${path}`);
    return n.link ?? "";
  }
}
