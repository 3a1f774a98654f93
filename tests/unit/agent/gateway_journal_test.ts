// The gateway's durable book of figures (src/agent/pod/gatewayjournal.js), run in Node's module system on a
// temporary state directory: entries replayed at open, a torn last line ignored and cut off, a snapshot and
// the journal past it, reservations open at a crash settled as spent once, compaction, an unwritable place.
import { assert, assertEquals } from "@kodama/test-assert";
import { createRequire } from "node:module";
import { join } from "node:path";

const gj = createRequire(import.meta.url)("../../../src/agent/pod/gatewayjournal.js");

interface Totals {
  requests: number;
  input: number;
  output: number;
  costUsd: number;
  unpriced: number;
}
interface Journal {
  book: {
    seq: number;
    sessions: Map<string, Totals>;
    groups: Map<string, Totals>;
    open: Map<string, unknown>;
  };
  durable: boolean;
  error?: string;
  report: { entries: number; torn: boolean; settled: number; snapshot: boolean };
  append(e: Record<string, unknown>, sync?: boolean): boolean;
  compact(): boolean;
  flush(): void;
}

const open = (dir: string, compactBytes?: number): Journal => gj.openJournal(dir, { compactBytes });
const T = "2026-11-28T10:00:00.000Z";
const use = (s: string, c: number | null, extra: Record<string, unknown> = {}) => ({
  e: "use",
  t: T,
  s,
  g: "grp",
  p: "anthropic",
  k: "a1",
  u: { input: 100, output: 10, cacheRead: 0, cacheWrite: 0 },
  c,
  ...extra,
});

async function withDir(fn: (dir: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "kodama-gwj-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const plain = (m: Map<string, unknown>) => Object.fromEntries(m);

Deno.test("gateway journal: what was appended is the book again at the next open", () =>
  withDir((dir) => {
    const a = open(dir);
    assert(a.durable);
    a.append(use("s1", 0.5), true);
    a.append(use("s1", 0.25), true);
    a.append(use("s2", null), true);
    a.append({ e: "req", t: T, s: "s1", g: "grp" });
    a.append({ e: "deny", t: T, s: "s1", g: "grp" });
    a.flush();
    const b = open(dir);
    // the five and the first open's `start`
    assertEquals(b.report.entries, 6);
    assertEquals(plain(b.book.sessions), plain(a.book.sessions));
    assertEquals(plain(b.book.groups), plain(a.book.groups));
    assertEquals(b.book.sessions.get("s1")!.costUsd, 0.75);
    assertEquals(b.book.sessions.get("s2")!.unpriced, 1);
    assertEquals(b.book.seq, 7);
  }));

Deno.test("gateway journal: each open is a start; a start in another pod counts a pod", () =>
  withDir((dir) => {
    const at = (pod?: string) => {
      const b = gj.openJournal(dir, { pod }).book as { starts: number; pods: number };
      return [b.starts, b.pods];
    };
    assertEquals(at("uid-1"), [1, 1]);
    // a container restart in the same pod: a start, not a pod
    assertEquals(at("uid-1"), [2, 1]);
    // the StatefulSet's replacement: another pod, on the same claim
    assertEquals(at("uid-2"), [3, 2]);
    // and through a compaction's snapshot
    const j = gj.openJournal(dir, { pod: "uid-2" });
    j.compact();
    assertEquals(at("uid-3"), [5, 3]);
  }));

Deno.test("gateway journal: a torn last line (a write cut by a crash) is ignored and cut off", () =>
  withDir(async (dir) => {
    const a = open(dir);
    a.append(use("s1", 1), true);
    const file = join(dir, gj.JOURNAL);
    // a crash in the middle of the next line; a second spelling: a line of garbage bytes with no newline
    for (const torn of ['{"n":2,"e":"use","s":"s1","c":10', "\u0000\u0000\u0000"]) {
      await Deno.writeTextFile(file, torn, { append: true });
      const b = open(dir);
      assert(b.report.torn);
      assertEquals(b.book.sessions.get("s1")!.costUsd, 1);
      // the next entry is a line of its own, not glued to the torn one: it is read at the open after
      b.append(use("s1", 2), true);
      const c = open(dir);
      assertEquals(c.report.torn, false);
      assertEquals(c.book.sessions.get("s1")!.costUsd, 3);
      c.append(use("s1", -2), true); // back to 1 for the second spelling
    }
  }));

Deno.test("gateway journal: a hold open at a crash is settled as spent at its reserved amount, once", () =>
  withDir((dir) => {
    const a = open(dir);
    a.append({ e: "hold", t: T, s: "b1", g: "grp", id: "h1", usd: 1.5 }, true);
    // a raised hold counts at its highest amount; a lower one is never written, but is ignored if it were
    a.append({ e: "hold", t: T, s: "b1", g: "grp", id: "h1", usd: 1.75 }, true);
    a.append({ e: "hold", t: T, s: "b1", g: "grp", id: "h1", usd: 0.1 }, true);
    // a settled hold and a freed hold cost only what was charged
    a.append({ e: "hold", t: T, s: "b1", g: "grp", id: "h2", usd: 3 }, true);
    a.append(use("b1", 0.2, { id: "h2" }), true);
    a.append({ e: "hold", t: T, s: "b1", g: "grp", id: "h3", usd: 4 }, true);
    a.append({ e: "free", id: "h3" });
    assertEquals(a.book.sessions.get("b1")!.costUsd, 0.2);
    const b = open(dir);
    assertEquals(b.report.settled, 1);
    assertEquals(b.book.open.size, 0);
    assertEquals(b.book.sessions.get("b1")!.costUsd, 0.2 + 1.75);
    // the settlement is in the journal: the next open neither loses nor repeats it
    const c = open(dir);
    assertEquals(c.report.settled, 0);
    assertEquals(c.book.sessions.get("b1")!.costUsd, 0.2 + 1.75);
  }));

Deno.test("gateway journal: compaction writes a snapshot and empties the journal; the figures stay", () =>
  withDir(async (dir) => {
    const a = open(dir, 600);
    for (let i = 0; i < 12; i++) a.append(use(`s${i % 3}`, 0.125), true);
    a.append({ e: "hold", t: T, s: "s0", g: "grp", id: "open", usd: 1 }, true);
    const snap = await Deno.stat(join(dir, gj.SNAPSHOT));
    assert(snap.isFile);
    assert((await Deno.stat(join(dir, gj.JOURNAL))).size < 600);
    const b = open(dir);
    assert(b.report.snapshot);
    assertEquals(b.book.sessions.get("s0")!.costUsd, 0.5 + 1);
    assertEquals(b.book.sessions.get("s1")!.costUsd, 0.5);
    assertEquals(b.book.sessions.get("s2")!.requests, 4);
    assertEquals(b.book.groups.get("grp")!.costUsd, 1.5 + 1);
  }));

Deno.test("gateway journal: a crash between the snapshot's rename and the truncation counts nothing twice", () =>
  withDir(async (dir) => {
    const a = open(dir);
    for (let i = 0; i < 4; i++) a.append(use("s1", 1), true);
    const before = await Deno.readTextFile(join(dir, gj.JOURNAL));
    a.compact();
    // the journal as it was before the truncation, and one entry written after the snapshot
    await Deno.writeTextFile(join(dir, gj.JOURNAL), before);
    a.append(use("s1", 1), true);
    const b = open(dir);
    assertEquals(b.book.sessions.get("s1")!.costUsd, 5);
    assertEquals(b.book.sessions.get("s1")!.requests, 5);
  }));

Deno.test("gateway journal: a place it cannot write is an error and a book in memory", () =>
  withDir(async (dir) => {
    const missing = join(dir, "no", "such");
    const a = open(missing);
    assertEquals(a.durable, false);
    assert(a.error);
    assert(a.append(use("s1", 1)));
    assertEquals(a.book.sessions.get("s1")!.costUsd, 1);
    // a read-only directory (when this user is not root, who may write anyway)
    if (Deno.uid() !== 0) {
      await Deno.chmod(dir, 0o500);
      try {
        assertEquals(open(dir).durable, false);
      } finally {
        await Deno.chmod(dir, 0o700);
      }
    }
  }));

Deno.test("gateway journal: entries of another shape are ignored, never thrown on", () => {
  const book = gj.newBook();
  for (const e of [null, 7, "x", [], {}, { e: "use" }, { e: "hold", s: "a" }, { e: "req", s: 5 }]) {
    gj.apply(book, e);
  }
  assertEquals(book.sessions.size, 0);
  assertEquals(book.open.size, 0);
  assertEquals(gj.bookOf("not json"), undefined);
  assertEquals(gj.bookOf(JSON.stringify({ v: 2, seq: 1 })), undefined);
});
