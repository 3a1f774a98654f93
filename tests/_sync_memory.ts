/**
 * A sync endpoint held in memory (src/session/sync/endpoint.ts), for pure, fast tests of the cycle
 * (cycle.ts): the same promises as the local and pod endpoints — a step is applied only while its path
 * still is what the last snapshot saw (its version), a directory is removed only when empty, a file is
 * written only into a directory that is there, and a path marked unreadable is reported `unknown`.
 */
import { type Ancestor, hashBytes } from "../src/session/sync/ancestor.ts";
import type {
  Applied,
  Fetched,
  KeepCopy,
  Move,
  Snapshot,
  SyncEndpoint,
} from "../src/session/sync/endpoint.ts";
import type { SnapTree } from "../src/session/sync/plan.ts";

export interface MemEntry {
  kind: "file" | "dir" | "symlink";
  mode: number;
  data?: Uint8Array;
  link?: string;
  /** bumped by every change: the change token */
  ver: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const parentOf = (p: string) => p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";

export class MemoryEndpoint implements SyncEndpoint {
  readonly entries = new Map<string, MemEntry>();
  /** paths whose content cannot be read (a snapshot reports them unknown) */
  readonly unreadable = new Set<string>();
  /** run once, just before the next apply: a change made between the snapshot and the apply */
  meanwhile?: () => void;
  /** run once, at the next fetch from this side: a write between the snapshot and the other side's apply */
  beforeFetch?: () => void;
  /** every apply's steps, in order, and the ones refused (their path changed since the snapshot) */
  readonly refused: string[] = [];
  #seen = new Map<string, number>();
  #ver = 0;
  #hashed = 0;

  constructor(readonly side: "local" | "pod") {}

  /** Set a file (its parent directories are made), as an editor would: a new version. */
  write(path: string, text: string, mode = 0o644): this {
    this.#parents(path);
    this.entries.set(path, { kind: "file", mode, data: enc.encode(text), ver: ++this.#ver });
    return this;
  }

  mkdir(path: string, mode = 0o755): this {
    this.#parents(path);
    if (this.entries.get(path)?.kind !== "dir") {
      this.entries.set(path, { kind: "dir", mode, ver: ++this.#ver });
    }
    return this;
  }

  symlink(path: string, link: string): this {
    this.#parents(path);
    this.entries.set(path, { kind: "symlink", mode: 0o777, link, ver: ++this.#ver });
    return this;
  }

  /** Remove a path and all below it (`rm -r`). */
  remove(path: string): this {
    for (const p of [...this.entries.keys()]) {
      if (p === path || p.startsWith(path + "/")) this.entries.delete(p);
    }
    return this;
  }

  /** Move a path and all below it (`mv`): new versions at the new names. */
  rename(from: string, to: string): this {
    const moved = [...this.entries].filter(([p]) => p === from || p.startsWith(from + "/"));
    this.remove(from);
    this.#parents(to);
    for (const [p, e] of moved) this.entries.set(to + p.slice(from.length), { ...e, ver: ++this.#ver });
    return this;
  }

  read(path: string): string | undefined {
    const e = this.entries.get(path);
    return e?.kind === "file" ? dec.decode(e.data) : e?.kind === "symlink" ? `-> ${e.link}` : e && "<dir>";
  }

  /** The tree as text, for comparing two endpoints. */
  show(): Record<string, string> {
    return Object.fromEntries([...this.entries.keys()].sort().map((p) => [p, this.read(p)!]));
  }

  #parents(path: string): void {
    for (let d = parentOf(path); d; d = parentOf(d)) {
      if (!this.entries.has(d)) this.entries.set(d, { kind: "dir", mode: 0o755, ver: ++this.#ver });
    }
  }

  async snapshot(_anc: Ancestor, scope?: Set<string>): Promise<Snapshot> {
    const snaps: SnapTree = new Map();
    const unknown = new Set<string>();
    this.#seen = new Map();
    for (const [p, e] of this.entries) {
      if (scope && !scope.has(p)) continue;
      this.#seen.set(p, e.ver);
      if (this.unreadable.has(p)) {
        unknown.add(p);
        continue;
      }
      if (e.kind === "file") {
        this.#hashed++;
        snaps.set(p, { kind: "file", mode: e.mode, size: e.data!.length, hash: await hashBytes(e.data!) });
      } else if (e.kind === "symlink") snaps.set(p, { kind: "symlink", mode: 0o777, size: 0, link: e.link });
      else snaps.set(p, { kind: "dir", mode: e.mode, size: 0 });
    }
    return { snaps, unknown };
  }

  fetch(paths: string[]): Promise<Fetched> {
    const change = this.beforeFetch;
    this.beforeFetch = undefined;
    change?.();
    const got: Fetched = new Map();
    for (const p of paths) {
      const e = this.entries.get(p);
      if (e?.kind === "file") got.set(p, { kind: "file", data: e.data!.slice(), mode: e.mode, mtime: 0 });
      if (e?.kind === "symlink") got.set(p, { kind: "symlink", link: e.link, mode: 0o777, mtime: 0 });
    }
    return Promise.resolve(got);
  }

  async apply(moves: Move[], from: SyncEndpoint, keep: KeepCopy): Promise<Applied> {
    const change = this.meanwhile;
    this.meanwhile = undefined;
    change?.();
    const out: Applied = { done: new Set(), tokens: new Map(), hashes: new Map(), sizes: new Map() };
    const wanted = moves.filter((a) => a.op === "copy" && a.entry.kind !== "dir").map((a) => a.path);
    const fetched = wanted.length ? await from.fetch(wanted) : new Map();
    for (const a of moves) {
      const cur = this.entries.get(a.path);
      // the expectation: the path is still what the snapshot saw (absent, or the same version)
      if (cur?.ver !== this.#seen.get(a.path)) {
        this.refused.push(a.path);
        continue;
      }
      if (a.keep && cur && cur.kind !== "dir") {
        await keep(a.path, cur.kind === "file" ? cur.data! : cur.link!);
      }
      if (a.op === "delete") {
        if ([...this.entries.keys()].some((p) => p.startsWith(a.path + "/"))) continue; // not empty
        this.entries.delete(a.path);
        this.#seen.delete(a.path);
      } else {
        const parent = parentOf(a.path);
        if (parent && this.entries.get(parent)?.kind !== "dir") continue; // its directory is gone
        if (cur?.kind === "dir" && a.entry.kind !== "dir") {
          if ([...this.entries.keys()].some((p) => p.startsWith(a.path + "/"))) continue;
        }
        const e: MemEntry = a.entry.kind === "dir"
          ? { kind: "dir", mode: a.entry.mode, ver: ++this.#ver }
          : { ...fetched.get(a.path), mode: a.entry.mode, kind: a.entry.kind, ver: ++this.#ver } as MemEntry;
        if (a.entry.kind !== "dir" && !fetched.has(a.path)) continue; // gone on the other side meanwhile
        this.entries.set(a.path, e);
        this.#seen.set(a.path, e.ver);
        out.tokens.set(a.path, `v${e.ver}`);
        if (e.kind === "file") {
          out.hashes.set(a.path, await hashBytes(e.data!));
          out.sizes!.set(a.path, e.data!.length);
        }
      }
      out.done.add(a);
    }
    return out;
  }

  token(path: string): string | undefined {
    const v = this.#seen.get(path);
    return v === undefined ? undefined : `v${v}`;
  }

  mtimeMs(): number | undefined {
    return undefined;
  }

  takeHashed(): number {
    const n = this.#hashed;
    this.#hashed = 0;
    return n;
  }
}
