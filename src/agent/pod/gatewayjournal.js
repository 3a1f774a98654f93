// kodama's agent gateway, its durable book of figures (docs/agents.md, "The gateway's durability"): required by
// gateway.js from the same directory (both are keys of the gateway's ConfigMap). The gateway's figures (per
// session, group, day and key: requests, denials, tokens, cost) and its open budget reservations live in a
// book kept in memory and written, one JSON line per change, to an append-only journal on the state claim
// (KODAMA_GATEWAY_STATE/meter.journal): a reservation's line is fsync'd before its request goes out, a settled
// answer's before the answer's end is released; request and denial counts are flushed within a second. At
// start the journal is replayed over the last snapshot (a torn last line is ignored and cut off), so a
// restarted gateway goes on from the same totals and a session cannot spend its budget again. A reservation
// still open at the crash is settled as spent at its reserved amount (conservative). Now and then the book is
// compacted: a snapshot written atomically (meter.snapshot.json, with the sequence number it covers), then the
// journal truncated; a crash between the two replays only the lines past the snapshot's number.
//
//   entry      {n, e: hold|free|use|req|deny, t, s, g, ...}: n is the book's sequence number
//   hold       {id, usd}: a reservation opened, or raised (a line per raise; a lowering is not written)
//   free       {id}: a reservation given back with nothing charged
//   use        {p, k, u: {input, output, cacheRead, cacheWrite}, c: USD or null, id?}: a settled answer
//   req, deny  a request or proxied connection let through, one refused
//   start      {pod}: the gateway started (pod: its pod's uid); `pods` counts the pods it ran in
"use strict";
const fs = require("fs");
const path = require("path");

const JOURNAL = "meter.journal";
const SNAPSHOT = "meter.snapshot.json";
const TOKENS = ["input", "output", "cacheRead", "cacheWrite"];

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const str = (v) => (typeof v === "string" && v ? v : undefined);

/** An empty book: totals per session, group and key (/_kodama/usage), per session+group+day, open holds. */
function newBook() {
  return {
    seq: 0,
    buckets: new Map(),
    sessions: new Map(),
    groups: new Map(),
    keys: new Map(),
    open: new Map(),
    starts: 0,
    pods: 0,
    lastPod: undefined,
  };
}

/** A total as /_kodama/usage has always shown it: requests are metered answers. */
function addTotals(map, name, u, cost) {
  if (!name) return;
  const t = map.get(name) ||
    { requests: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, costUsd: 0, unpriced: 0 };
  t.requests++;
  for (const k of TOKENS) t[k] += num(u[k]);
  if (cost === undefined) t.unpriced++;
  else t.costUsd += cost;
  map.set(name, t);
}

function bucketOf(book, s, g, day) {
  const id = JSON.stringify([s, g, day]);
  let b = book.buckets.get(id);
  if (!b) {
    b = { s, g, day, calls: 0, denied: 0, metered: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
    b.costUsd = 0;
    b.unpriced = 0;
    book.buckets.set(id, b);
  }
  return b;
}

/** One entry into the book (an entry of another shape is ignored). */
function apply(book, e) {
  if (!isObj(e) || typeof e.e !== "string") return;
  if (typeof e.n === "number" && e.n > book.seq) book.seq = e.n;
  const s = str(e.s);
  const g = str(e.g) || null;
  const day = typeof e.t === "string" ? e.t.slice(0, 10) : "";
  if (e.e === "start") {
    book.starts++;
    const pod = str(e.pod);
    if (!pod || pod !== book.lastPod) book.pods++;
    book.lastPod = pod;
  } else if (e.e === "hold" && str(e.id) && s) {
    const was = book.open.get(e.id);
    book.open.set(e.id, { s, g, t: e.t, usd: Math.max(num(e.usd), was ? was.usd : 0) });
  } else if (e.e === "free" && str(e.id)) {
    book.open.delete(e.id);
  } else if ((e.e === "req" || e.e === "deny") && s) {
    const b = bucketOf(book, s, g, day);
    if (e.e === "req") b.calls++;
    else b.denied++;
  } else if (e.e === "use" && s) {
    if (str(e.id)) book.open.delete(e.id);
    const u = isObj(e.u) ? e.u : {};
    const cost = typeof e.c === "number" && Number.isFinite(e.c) ? e.c : undefined;
    const b = bucketOf(book, s, g, day);
    b.metered++;
    for (const k of TOKENS) b[k] += num(u[k]);
    if (cost === undefined) b.unpriced++;
    else b.costUsd += cost;
    addTotals(book.sessions, s, u, cost);
    addTotals(book.groups, g, u, cost);
    if (str(e.p) && str(e.k)) addTotals(book.keys, `${e.p}/${e.k}`, u, cost);
  }
}

/** The book as a snapshot's JSON (what it covers: up to `seq`). */
function snapshotOf(book) {
  return JSON.stringify({
    v: 1,
    seq: book.seq,
    starts: book.starts,
    pods: book.pods,
    lastPod: book.lastPod,
    buckets: [...book.buckets.values()],
    keys: [...book.keys],
    open: [...book.open],
  });
}

/** A book from a snapshot's JSON (undefined when it is not one). */
function bookOf(text) {
  let j;
  try {
    j = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(j) || j.v !== 1 || typeof j.seq !== "number") return undefined;
  const book = newBook();
  book.seq = j.seq;
  book.starts = num(j.starts);
  book.pods = num(j.pods);
  book.lastPod = str(j.lastPod);
  for (const b of Array.isArray(j.buckets) ? j.buckets : []) {
    if (!isObj(b) || !str(b.s)) continue;
    const g = str(b.g) || null;
    const mine = bucketOf(book, b.s, g, typeof b.day === "string" ? b.day : "");
    for (const k of ["calls", "denied", "metered", ...TOKENS, "costUsd", "unpriced"]) mine[k] += num(b[k]);
    for (const [map, name] of [[book.sessions, b.s], [book.groups, g]]) {
      if (!name) continue;
      const t = map.get(name) ||
        { requests: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, costUsd: 0, unpriced: 0 };
      t.requests += num(b.metered);
      for (const k of [...TOKENS, "costUsd", "unpriced"]) t[k] += num(b[k]);
      map.set(name, t);
    }
  }
  for (const kv of Array.isArray(j.keys) ? j.keys : []) {
    if (Array.isArray(kv) && str(kv[0]) && isObj(kv[1])) book.keys.set(kv[0], { ...kv[1] });
  }
  for (const kv of Array.isArray(j.open) ? j.open : []) {
    if (Array.isArray(kv) && str(kv[0]) && isObj(kv[1]) && str(kv[1].s)) book.open.set(kv[0], { ...kv[1] });
  }
  return book;
}

/**
 * A journal's text replayed over the book: every whole line past the book's `seq` (a snapshot covers the
 * rest). `good`: the bytes of whole lines; `torn`: the text ended in a partial line (a write cut by a crash).
 */
function replayText(book, text) {
  const from = book.seq;
  const lines = text.split("\n");
  const tail = lines.pop();
  let entries = 0;
  for (const l of lines) {
    let e;
    try {
      e = JSON.parse(l);
    } catch {
      continue;
    }
    if (!isObj(e) || (typeof e.n === "number" && e.n <= from)) continue;
    apply(book, e);
    entries++;
  }
  return { entries, torn: tail !== "", good: Buffer.byteLength(text) - Buffer.byteLength(tail) };
}

/**
 * The holds still open after a replay: the gateway that made them is gone, their answers unknown. Each is
 * settled as spent at its reserved amount (a `use` entry of its cost, no tokens): what `settleOpen` returns.
 */
function openAsSpent(book, t) {
  return [...book.open].map(([id, h]) => ({
    e: "use",
    t: typeof h.t === "string" ? h.t : t,
    s: h.s,
    g: h.g || undefined,
    u: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    c: num(h.usd),
    id,
    lost: true,
  }));
}

/** A journal kept only in memory (no state directory, or a test of the program's parts). */
function memoryJournal() {
  const book = newBook();
  return {
    book,
    durable: false,
    append(e) {
      e.n = book.seq + 1;
      apply(book, e);
      return true;
    },
    flush() {},
  };
}

/** fsync a directory (a rename in it made durable); a filesystem that cannot is left as it is. */
function syncDir(dir) {
  let fd;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * The journal in `dir`: the snapshot read, the journal replayed (a torn last line cut off), the holds left
 * open settled as spent, then appended to. `compactBytes`: the journal's size that makes a snapshot. A
 * directory that cannot be written gives a memory journal and `error` (the caller warns).
 */
function openJournal(dir, o = {}) {
  const compactBytes = o.compactBytes || 1024 * 1024;
  const jpath = path.join(dir, JOURNAL);
  const spath = path.join(dir, SNAPSHOT);
  let book = newBook();
  const report = { snapshot: false, entries: 0, torn: false, settled: 0 };
  let text = "";
  try {
    const snap = bookOf(fs.readFileSync(spath, "utf8"));
    if (snap) (book = snap), (report.snapshot = true);
    else report.badSnapshot = true;
  } catch (e) {
    if (e.code !== "ENOENT") report.badSnapshot = e.code || "unreadable";
  }
  try {
    text = fs.readFileSync(jpath, "utf8");
  } catch (e) {
    if (e.code !== "ENOENT") return { ...memoryJournal(), error: e.code || "unreadable", report };
  }
  const r = replayText(book, text);
  report.entries = r.entries;
  report.torn = r.torn;
  let fd;
  try {
    if (r.torn) fs.truncateSync(jpath, r.good);
    fd = fs.openSync(jpath, "a", 0o600);
  } catch (e) {
    const m = memoryJournal();
    Object.assign(m.book, book);
    return { ...m, error: e.code || "unwritable", report };
  }
  let size = r.good;
  let dirty = false;
  let failed;
  const j = {
    book,
    durable: true,
    report,
    /** One entry: applied, then written (fsync'd when `sync`); false when it could not be written. */
    append(e, sync) {
      e.n = book.seq + 1;
      apply(book, e);
      const line = JSON.stringify(e) + "\n";
      try {
        fs.writeSync(fd, line);
        size += Buffer.byteLength(line);
        if (sync) fs.fsyncSync(fd);
        else dirty = true;
        failed = undefined;
      } catch (err) {
        failed = err.code || "error";
        if (o.onError) o.onError(failed);
        return false;
      }
      if (size >= compactBytes) j.compact();
      return true;
    },
    /** Counts written since the last fsync made durable. */
    flush() {
      if (!dirty) return;
      dirty = false;
      try {
        fs.fsyncSync(fd);
      } catch { /* the next append says so */ }
    },
    /** The book as a snapshot (atomic: a temporary file fsync'd, renamed over), then the journal emptied. */
    compact() {
      const tmp = `${spath}.${process.pid}.tmp`;
      try {
        const t = fs.openSync(tmp, "w", 0o600);
        try {
          fs.writeSync(t, snapshotOf(book));
          fs.fsyncSync(t);
        } finally {
          fs.closeSync(t);
        }
        fs.renameSync(tmp, spath);
        syncDir(dir);
        fs.ftruncateSync(fd, 0);
        fs.fsyncSync(fd);
        size = 0;
        return true;
      } catch (err) {
        try {
          fs.unlinkSync(tmp);
        } catch { /* never written */ }
        if (o.onError) o.onError(err.code || "error");
        return false;
      }
    },
    get failed() {
      return failed;
    },
  };
  const lost = openAsSpent(book, new Date().toISOString());
  for (const e of lost) j.append(e, true);
  report.settled = lost.length;
  j.append({ e: "start", t: new Date().toISOString(), pod: o.pod || undefined }, true);
  setInterval(() => j.flush(), 1000).unref();
  return j;
}

module.exports = {
  JOURNAL,
  SNAPSHOT,
  newBook,
  apply,
  snapshotOf,
  bookOf,
  replayText,
  openAsSpent,
  memoryJournal,
  openJournal,
};
