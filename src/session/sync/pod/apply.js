/* kodama-idle-ignore kodama-pod-apply */
/*
 * The two-way sync's apply as a node program, for the kept-open channel (channel.sh runs it as
 * `node -e APPLY_JS -- WORKDIR` where the image has node; src/session/sync/podapply.ts says why).
 * stdin: batch after batch, each `LENGTH\n` and a tar archive of that length whose last member is
 * `.kodama/ops` (the protocol of apply2.sh; tests/_apply_spec.ts specifies it for both).
 * stdout: `ready node` once it runs, then per batch `skip PATH` / `fail PATH` lines and `done CODE`.
 * A node older than 12 exits 86 (NODE_UNFIT in podapply.ts) before reading anything: the channel's
 * shell loop takes over. The mark on the first line: waiting for batches is not activity for an idle stop.
 */
"use strict";
if (parseInt(process.versions.node, 10) < 12) process.exit(86);
const fs = require("fs");
process.umask(0);
const root = process.argv[1], ST = ".kodama/sync-stage";
const lst = (p) => {
  try {
    return fs.lstatSync(p);
  } catch (_e) {
    return undefined;
  }
};
const key = (p) => {
  let s;
  try {
    s = fs.lstatSync(p, { bigint: true });
  } catch (_e) {
    return "-";
  }
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
const unesc = (p) => p.replace(/\\(\\|n)/g, (_m, c) => (c === "n" ? "\n" : "\\"));
const unsafe = (p) => p === "" || p[0] === "/" || p.split("/").some((c) => c === ".." || c === "");
const mkdirp = (p) => fs.mkdirSync(p, { recursive: true, mode: 0o777 });

function members(b) {
  const out = [];
  let off = 0, pax = {};
  while (off + 512 <= b.length) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const str = (a, n) => {
      const s = h.subarray(a, a + n);
      const z = s.indexOf(0);
      return s.subarray(0, z < 0 ? n : z).toString("utf8");
    };
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
  try {
    mkdirp(root);
    process.chdir(root);
  } catch (_e) {
    return 97;
  }
  try {
    if (!lst(".kodama") || !fs.statSync(".kodama").isDirectory()) {
      fs.mkdirSync(".kodama", { mode: 0o700 });
      fs.writeFileSync(".kodama/.made-by-sync", "", { mode: 0o600 });
    }
    rmrf(ST);
    fs.mkdirSync(ST, { mode: 0o700 });
  } catch (_e) {
    return 97;
  }
  let ops;
  try {
    const links = [];
    for (const m of members(batch)) {
      if (m.name === ".kodama/ops") {
        if (m.type === "0" || m.type === "\0") ops = m.data.toString("utf8");
        continue;
      }
      if (unsafe(m.name)) continue;
      const p = ST + "/" + m.name, slash = p.lastIndexOf("/");
      if (m.type === "5") {
        mkdirp(p);
        fs.chmodSync(p, m.mode & 0o7777);
        continue;
      }
      if (m.type === "2") {
        links.push(m);
        continue;
      }
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
      try {
        if (fs.lutimesSync) fs.lutimesSync(p, m.mtime, m.mtime);
      } catch (_e) { /* as busybox tar */ }
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
    if (unsafe(p)) {
      say("fail", p);
      return;
    }
    if (o.op === "X" || (o.expect !== "*" && keys[i] !== o.expect)) {
      say("skip", p);
      return;
    }
    const st = lst(p);
    const dir = st && st.isDirectory();
    try {
      if (o.op === "F") {
        if (dir) {
          try {
            fs.rmdirSync(p);
          } catch (_e) {
            say("skip", p);
            return;
          }
        }
        try {
          fs.renameSync(ST + "/" + p, p);
        } catch (_e) {
          say("fail", p);
        }
      } else if (o.op === "R" && dir) {
        try {
          fs.rmdirSync(p);
        } catch (_e) {
          say("skip", p);
        }
      } else if (o.op === "R") {
        try {
          fs.unlinkSync(p);
        } catch (_e) { /* rm -f */ }
        if (lst(p)) say("fail", p);
      } else if (o.op[0] === "D") {
        if (st && !dir) fs.unlinkSync(p);
        mkdirp(p);
        fs.chmodSync(p, parseInt(o.op.slice(1), 8));
      }
    } catch (_e) {
      say("fail", p);
    }
  });
  try {
    rmrf(ST);
  } catch (_e) { /* as rm -rf: what is left, stays */ }
  if (lst(".kodama/.made-by-sync")) {
    try {
      fs.unlinkSync(".kodama/.made-by-sync");
      fs.rmdirSync(".kodama");
    } catch (_e) { /* not empty */ }
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
      if (!/^[0-9]+$/.test(n)) {
        process.stdout.write("done 96\n");
        process.exit(96);
      }
      need = Number(n);
    }
    if (buf.length < need) return;
    const batch = buf.subarray(0, need);
    buf = buf.subarray(need);
    need = -1;
    let said = "", code;
    try {
      code = apply(batch, (w, p) => {
        said += w + " " + p + "\n";
      });
    } catch (e) {
      process.stderr.write("kodama-pod-apply: " + (e && e.message) + "\n");
      code = 99;
    }
    process.stdout.write(said + "done " + code + "\n");
  }
});
process.stdin.on("end", () => process.exit(0));
process.stdout.write("ready node\n");
