/* kodama-idle-ignore kodama-pod-events */
/*
 * The two-way sync's change notifier in the pod (src/session/sync/podside.ts), where the image has node.
 * Started by the watcher (watch.sh) as `node -e EVENTS_JS DIR GIT`: DIR is the watcher's temporary
 * directory, GIT 1 when `.git` is synced. No stdin, no output: it only says *that* something changed,
 * by appending a byte to DIR/dirty when that file is empty (one inotify watch per directory: fs.watch,
 * not recursive, as Node 18 on Linux has it); the watcher's find stays the only source of what changed.
 * It writes DIR/ready once the first walk of the tree has its watches, and ends when DIR is gone, when
 * its parent (the watcher's sh) is, or (exit 3: the watcher then walks every round) when the kernel
 * refuses a watch or the tree has more than 20,000 directories. Node 12 or later; CommonJS.
 */
const fs = require("fs"), path = require("path");
const d = process.argv[1], git = process.argv[2] === "1", dirty = d + "/dirty", parent = process.ppid;
const watched = new Map();
const mark = () => {
  try {
    if (fs.statSync(dirty).size > 0) return;
  } catch (_e) { /* not written yet */ }
  try {
    fs.appendFileSync(dirty, "x");
  } catch (_e) {
    process.exit(0);
  }
};
const skip = (rel) => rel === ".kodama" || (!git && rel === ".git") || path.resolve(rel) === d;
const unwatch = (dir) => {
  for (const [p, w] of watched) {
    if (p === dir || p.startsWith(dir + "/")) {
      w.close();
      watched.delete(p);
    }
  }
};
const add = (dir) => {
  if (watched.has(dir)) return;
  if (watched.size >= 20000) process.exit(3);
  let w;
  try {
    w = fs.watch(dir, { persistent: true }, (ev, name) => {
      mark();
      if (ev !== "rename" || name == null) return;
      const c = dir === "." ? String(name) : dir + "/" + name;
      let st;
      try {
        st = fs.lstatSync(c);
      } catch (_e) {
        unwatch(c);
        return;
      }
      if (st.isDirectory() && !skip(c)) {
        unwatch(c);
        add(c);
        mark();
      }
    });
  } catch (e) {
    if (e.code === "ENOSPC" || e.code === "EMFILE" || e.code === "ENFILE") process.exit(3);
    return;
  }
  w.on("error", () => {
    w.close();
    if (watched.get(dir) === w) watched.delete(dir);
  });
  watched.set(dir, w);
  let ents = [];
  try {
    ents = fs.readdirSync(dir, { withFileTypes: true });
  } catch (_e) { /* gone meanwhile */ }
  for (const e of ents) {
    const c = dir === "." ? e.name : dir + "/" + e.name;
    if (e.isDirectory() && !skip(c)) add(c);
  }
};
add(".");
fs.writeFileSync(d + "/ready", "");
setInterval(() => {
  if (process.ppid !== parent || !fs.existsSync(d)) process.exit(0);
}, 2000);
