/**
 * The common ancestor of a two-way sync: per path, the state both sides last agreed on (kind, mode,
 * size, content hash, link target), in `$KODAMA_HOME/sync/NAME/ancestor.json`, written atomically (temp
 * file, fsync, rename) and only after a plan's changes are applied on both sides. A crash before the
 * write leaves the old ancestor: the next cycle finds both sides already equal on what was applied
 * (agreement) and nothing is lost or resurrected.
 *
 * Beside each snap it keeps the stat keys (size and mtime) each side had when its hash was taken, so an
 * unchanged file is never read again to hash it.
 */
import { join } from "node:path";
import { atomicWrite } from "../../config/atomic.ts";
import type { Snap, SnapTree } from "./plan.ts";
import { paths } from "./store.ts";

export interface AncestorEntry extends Snap {
  /** local stat key when hashed: `size:mtimeMs` */
  lk?: string;
  /** pod stat key when hashed: `size:mtimeSec` */
  pk?: string;
}

interface AncestorFile {
  v: 1;
  root: string;
  workdir: string;
  entries: Record<string, AncestorEntry>;
}

export type Ancestor = Map<string, AncestorEntry>;

const file = (name: string, home?: string) => join(paths(name, home).dir, "ancestor.json");

/** The ancestor (empty when there is none, or it was made for another root or workdir). */
export async function loadAncestor(
  name: string,
  where: { root: string; workdir: string },
  home?: string,
): Promise<Ancestor> {
  try {
    const f = JSON.parse(await Deno.readTextFile(file(name, home))) as AncestorFile;
    if (f.v !== 1 || f.root !== where.root || f.workdir !== where.workdir) return new Map();
    return new Map(Object.entries(f.entries));
  } catch {
    return new Map();
  }
}

export async function saveAncestor(
  name: string,
  where: { root: string; workdir: string },
  a: Ancestor,
  home?: string,
): Promise<void> {
  const f: AncestorFile = { v: 1, ...where, entries: Object.fromEntries(a) };
  await atomicWrite(file(name, home), JSON.stringify(f));
}

/** Snaps only (what the planner compares). */
export function snapsOf(a: Ancestor): SnapTree {
  return a as SnapTree;
}

/**
 * node:crypto's createHash, loaded on first use: a push that hashes nothing (`sync push`) does not pay for
 * loading Deno's node:crypto (~0.1 s of CPU here).
 */
export async function md5(): Promise<ReturnType<typeof import("node:crypto").createHash>> {
  return (await import("node:crypto")).createHash("md5");
}

/** md5 of a local file (hex), read in one piece below 8 MiB, streamed above. */
export async function hashFile(abs: string): Promise<string | undefined> {
  return (await hashFileSized(abs))?.hash;
}

/**
 * md5 of a local file and the number of bytes it was taken over: a file being written while it is read
 * (a save, an unpacking tool) has another size than its stat said a moment before, and the two must
 * describe the same bytes, or a torn snapshot (size 0, the later content's hash) reaches the plan.
 */
export async function hashFileSized(abs: string): Promise<{ hash: string; size: number } | undefined> {
  try {
    const st = await Deno.stat(abs);
    if (st.size <= 8 << 20) {
      const b = await Deno.readFile(abs);
      return { hash: (await md5()).update(b).digest("hex"), size: b.length };
    }
    const h = await md5();
    let size = 0;
    using f = await Deno.open(abs);
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
    return { hash: h.digest("hex"), size };
  } catch {
    return undefined;
  }
}

export async function hashBytes(b: Uint8Array): Promise<string> {
  return (await md5()).update(b).digest("hex");
}
