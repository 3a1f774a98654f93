/**
 * The two-way apply as a node program (APPLY_JS), for the kept-open channel in an image that has `node`
 * (most coding-agent images: the agents are Node programs; the watcher's notifier uses it too). Nothing is
 * copied into the pod: the program is the exec's argument.
 *
 * Why: APPLY2_SCRIPT (podside.ts) starts about fifteen processes a batch (mkdir, rm, head, tar, stat, awk,
 * mv, …). On the real v1.24 cluster those were 150-500 ms of a one-file save's 350 ms p95 (stop 45's
 * trace). This program stays up for the whole sync and applies each batch with file system calls: no
 * process per batch.
 *
 * It does exactly what APPLY2_SCRIPT does, on the same stdin (`LENGTH\n` and a tar archive of that
 * length, its last member `.kodama/ops`), and says the same (`skip PATH`, `fail PATH`, then `done CODE`):
 *  - the archive is extracted into `.kodama/sync-stage` (0700; `.kodama` 0700 and marked made-by-sync
 *    when the sync makes it), modes and mtimes as tar sets them under umask 0; symlinks are made after
 *    every file (as GNU tar delays them), so no member is written through a link of the same archive, and
 *    a member named absolutely or with `..` is not extracted (its operation then fails);
 *  - every operation's path is checked before any runs: it runs only when the path's `%s %Y %f` key (size,
 *    mtime in whole seconds, raw mode in hex: what `stat -c` prints) is still what the plan saw (`-`
 *    absent, `*` whatever). The key is read with bigint stats, so a mtime a nanosecond before a second's
 *    end is not rounded up into the next;
 *  - F renames the staged file into place (an empty directory there is removed first; a non-empty one is
 *    skipped), R removes a file or link, or a directory when empty, D makes a directory (a file or link
 *    there is removed first) and sets its mode, X is skipped;
 *  - the stage goes, and `.kodama` with it when the sync made it.
 *
 * The program prints `ready node` once it runs (the channel then sends batches raw, not base64). A node
 * older than 12 exits 86 before reading anything and the channel's shell loop takes over; a first line
 * other than `ready node` (a wrapper that prints), or an end without one, makes BatchChannel.open reopen
 * the channel without it. No file of the workspace is read except to stat it. `kodama-idle-ignore`:
 * waiting for batches is not activity for a session's idle stop; what a batch writes is (a write under
 * the workspace).
 */
import { IDLE_IGNORE_MARK } from "../lifetime.ts";

/** The node program's exit code when this node cannot run it: the channel falls back to its shell loop. */
export const NODE_UNFIT = 86;

export const APPLY_JS = String.raw`/* ${IDLE_IGNORE_MARK} kodama-pod-apply */
"use strict";
if (parseInt(process.versions.node, 10) < 12) process.exit(${NODE_UNFIT});
const fs = require("fs");
process.umask(0);
const root = process.argv[1], ST = ".kodama/sync-stage";
const lst = (p) => { try { return fs.lstatSync(p); } catch (e) { return undefined; } };
const key = (p) => {
  let s;
  try { s = fs.lstatSync(p, { bigint: true }); } catch (e) { return "-"; }
  return String(s.size) + " " + String(s.mtimeMs / BigInt(1000)) + " " + s.mode.toString(16);
};
const rmrf = (p) => {
  const s = lst(p);
  if (!s) return;
  if (s.isDirectory()) {
    for (const n of fs.readdirSync(p)) rmrf(p + "/" + n);
    fs.rmdirSync(p);
  } else fs.unlinkSync(p);
};
const unesc = (p) => p.replace(/\\(\\|n)/g, (m, c) => (c === "n" ? "\n" : "\\"));
const unsafe = (p) => p === "" || p[0] === "/" || p.split("/").some((c) => c === ".." || c === "");
const mkdirp = (p) => fs.mkdirSync(p, { recursive: true, mode: 0o777 });

function members(b) {
  const out = [];
  let off = 0, pax = {};
  while (off + 512 <= b.length) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const str = (a, n) => { const s = h.subarray(a, a + n); const z = s.indexOf(0); return s.subarray(0, z < 0 ? n : z).toString("utf8"); };
    const num = (a, n) => parseInt(str(a, n).trim() || "0", 8);
    const size = num(124, 12), type = String.fromCharCode(h[156] || 48);
    const data = b.subarray(off + 512, off + 512 + size);
    if (data.length < size) throw new Error("the archive ends inside a member");
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = {};
      for (let i = 0; i < data.length;) {
        const sp = data.indexOf(32, i), len = parseInt(data.subarray(i, sp).toString(), 10);
        if (sp < 0 || !(len > 0)) break;
        const kv = data.subarray(sp + 1, i + len - 1).toString("utf8"), eq = kv.indexOf("=");
        pax[kv.slice(0, eq)] = kv.slice(eq + 1);
        i += len;
      }
      continue;
    }
    if (type === "g") continue;
    const prefix = h[257] === 0x75 ? str(345, 155) : "";
    const name = pax.path !== undefined ? pax.path : (prefix ? prefix + "/" : "") + str(0, 100);
    const link = pax.linkpath !== undefined ? pax.linkpath : str(157, 100);
    out.push({ name: name.replace(/\/+$/, ""), type, mode: num(100, 8), mtime: num(136, 12), data, link });
    pax = {};
  }
  return out;
}

function apply(batch, say) {
  try { mkdirp(root); process.chdir(root); } catch (e) { return 97; }
  try {
    if (!lst(".kodama") || !fs.statSync(".kodama").isDirectory()) {
      fs.mkdirSync(".kodama", { mode: 0o700 });
      fs.writeFileSync(".kodama/.made-by-sync", "", { mode: 0o600 });
    }
    rmrf(ST);
    fs.mkdirSync(ST, { mode: 0o700 });
  } catch (e) { return 97; }
  let ops;
  try {
    const links = [];
    for (const m of members(batch)) {
      if (m.name === ".kodama/ops") { if (m.type === "0" || m.type === "\0") ops = m.data.toString("utf8"); continue; }
      if (unsafe(m.name)) continue;
      const p = ST + "/" + m.name, slash = p.lastIndexOf("/");
      if (m.type === "5") { mkdirp(p); fs.chmodSync(p, m.mode & 0o7777); continue; }
      if (m.type === "2") { links.push(m); continue; }
      if (m.type !== "0" && m.type !== "\0" && m.type !== "7") continue;
      mkdirp(p.slice(0, slash));
      if (lst(p)) rmrf(p);
      fs.writeFileSync(p, m.data, { mode: m.mode & 0o7777, flag: "wx" });
      fs.chmodSync(p, m.mode & 0o7777);
      fs.utimesSync(p, m.mtime, m.mtime);
    }
    for (const m of links) {
      const p = ST + "/" + m.name;
      mkdirp(p.slice(0, p.lastIndexOf("/")));
      if (lst(p)) rmrf(p);
      fs.symlinkSync(m.link, p);
      try { if (fs.lutimesSync) fs.lutimesSync(p, m.mtime, m.mtime); } catch (e) { /* as busybox tar */ }
    }
  } catch (e) {
    process.stderr.write("kodama-pod-apply: " + (e && e.message) + "\n");
    return 99;
  }
  if (ops === undefined) return 99;
  const list = [];
  for (const l of ops.split("\n")) {
    if (l === "") continue;
    const t1 = l.indexOf("\t"), t2 = l.indexOf("\t", t1 + 1);
    if (t1 < 0 || t2 < 0) continue;
    list.push({ op: l.slice(0, t1), expect: l.slice(t1 + 1, t2), path: unesc(l.slice(t2 + 1)) });
  }
  // every path's state before any operation runs, as the plan saw it
  const keys = list.map((o) => (o.expect === "*" || unsafe(o.path) ? "" : key(o.path)));
  list.forEach((o, i) => {
    const p = o.path;
    if (unsafe(p)) { say("fail", p); return; }
    if (o.op === "X" || (o.expect !== "*" && keys[i] !== o.expect)) { say("skip", p); return; }
    const st = lst(p);
    const dir = st && st.isDirectory();
    try {
      if (o.op === "F") {
        if (dir) { try { fs.rmdirSync(p); } catch (e) { say("skip", p); return; } }
        try { fs.renameSync(ST + "/" + p, p); } catch (e) { say("fail", p); }
      } else if (o.op === "R" && dir) {
        try { fs.rmdirSync(p); } catch (e) { say("skip", p); }
      } else if (o.op === "R") {
        try { fs.unlinkSync(p); } catch (e) { /* rm -f */ }
        if (lst(p)) say("fail", p);
      } else if (o.op[0] === "D") {
        if (st && !dir) fs.unlinkSync(p);
        mkdirp(p);
        fs.chmodSync(p, parseInt(o.op.slice(1), 8));
      }
    } catch (e) { say("fail", p); }
  });
  try { rmrf(ST); } catch (e) { /* as rm -rf: what is left, stays */ }
  if (lst(".kodama/.made-by-sync")) {
    try { fs.unlinkSync(".kodama/.made-by-sync"); fs.rmdirSync(".kodama"); } catch (e) { /* not empty */ }
  }
  return 0;
}

let buf = Buffer.alloc(0), need = -1;
process.stdout.on("error", () => process.exit(0));
process.stdin.on("data", (c) => {
  buf = buf.length ? Buffer.concat([buf, c]) : c;
  for (;;) {
    if (need < 0) {
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      const n = buf.subarray(0, nl).toString();
      buf = buf.subarray(nl + 1);
      if (!/^[0-9]+$/.test(n)) { process.stdout.write("done 96\n"); process.exit(96); }
      need = Number(n);
    }
    if (buf.length < need) return;
    const batch = buf.subarray(0, need);
    buf = buf.subarray(need);
    need = -1;
    let said = "", code;
    try {
      code = apply(batch, (w, p) => { said += w + " " + p + "\n"; });
    } catch (e) {
      process.stderr.write("kodama-pod-apply: " + (e && e.message) + "\n");
      code = 99;
    }
    process.stdout.write(said + "done " + code + "\n");
  }
});
process.stdin.on("end", () => process.exit(0));
process.stdout.write("ready node\n");`;
