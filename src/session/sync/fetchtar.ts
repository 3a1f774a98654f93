/**
 * Fetching files and links from the pod: a tar of the named paths (one exec per 200, or the kept-open
 * fetch channel for a few small ones, base64-encoded), read by a parser that keeps what was asked for.
 */
import { concatBytes } from "../../base/text/bytes.ts";
import type { Kube } from "../../kube/client.ts";
import { TarParser } from "../../pods/tarformat.ts";
import { targetOf } from "./push.ts";
import { type BatchChannel, execWatched, SyncConnectionError } from "./remote.ts";
import type { SyncConfig } from "./store.ts";
import FETCH from "./pod/fetch.sh" with { type: "text" };
import TAR from "./pod/tar.sh" with { type: "text" };

/** A fetched file or link (`mtime` in seconds, as tar keeps it). */
export interface FetchedFile {
  kind: "file" | "symlink";
  data?: Uint8Array;
  link?: string;
  mode: number;
  mtime: number;
}
export type Fetched = Map<string, FetchedFile>;

/** Fetch files and links from the pod (tar, one exec per 200). */
export async function fetchPod(
  kube: Kube,
  c: SyncConfig,
  rels: string[],
  channel?: () => Promise<BatchChannel>,
): Promise<Fetched> {
  const t = targetOf(c);
  const got: Fetched = new Map();
  // a few small files (a save in the pod) come over the kept-open channel: no new exec per fetch
  if (channel && rels.length <= 200 && !rels.some((r) => r.includes("\n"))) {
    const lines = await (await channel()).apply(enc.encode(rels.map((r) => `./${r}\n`).join("")), c.pod);
    const parser = fetchParser(new Set(rels), got);
    await parser.push(base64Decode(lines.join("")));
    await parser.idle();
    return got;
  }
  for (let i = 0; i < rels.length; i += 200) {
    const group = new Set(rels.slice(i, i + 200));
    const parser = fetchParser(group, got);
    const res = await execWatched(
      kube,
      t,
      // a path gone meanwhile makes tar complain and go on: that path is then simply not fetched
      ["sh", "-c", TAR, "sh", t.workdir, ...[...group].map((g) => `./${g}`)],
      {
        backpressure: true,
        stdout: async (chunk) => await parser.push(chunk),
      },
    );
    await parser.idle();
    if (res.error) throw new SyncConnectionError(`cannot fetch from ${t.pod}: ${res.error}`);
  }
  return got;
}

const enc = new TextEncoder();

function base64Decode(text: string): Uint8Array {
  const bin = atob(text.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The pod's side of a fetch over the kept-open channel: stdin is one `./PATH` a line; the tar of those
 * paths comes back base64-encoded (busybox `base64`), before the channel's `done` line. A path gone
 * meanwhile is left out. Reading is not activity for a session's idle stop (session/lifecycle/lifetime.ts): what
 * the sync fetches, hashes or lists is marked `kodama-idle-ignore`; what it sends into the pod counts.
 */
export const FETCH_SCRIPT: string = FETCH; // pod/fetch.sh

/** A tar reader that keeps the files and links of `group` in `got`. */
function fetchParser(group: Set<string>, got: Fetched): TarParser {
  return new TarParser((e) => {
    const rel = e.name.replace(/^\.\//, "");
    if (!group.has(rel)) return Promise.resolve(undefined);
    if (e.type === "symlink") {
      got.set(rel, { kind: "symlink", link: e.linkname ?? "", mode: 0o777, mtime: e.mtime });
      return Promise.resolve(undefined);
    }
    if (e.type === "hardlink") {
      // tar sends a second name of one inode as a link to the first (always earlier in this archive):
      // it is a file of its own here (the pod's hard link is not made locally)
      const first = got.get((e.linkname ?? "").replace(/^\.\//, ""));
      if (first?.kind === "file") got.set(rel, { ...first, mode: e.mode & 0o7777 || first.mode });
      return Promise.resolve(undefined);
    }
    if (e.type !== "file") return Promise.resolve(undefined);
    const parts: Uint8Array[] = [];
    return Promise.resolve({
      write(b: Uint8Array) {
        parts.push(b.slice());
        return Promise.resolve();
      },
      close() {
        got.set(rel, { kind: "file", data: concatBytes(parts), mode: e.mode & 0o7777, mtime: e.mtime });
        return Promise.resolve();
      },
    });
  });
}
