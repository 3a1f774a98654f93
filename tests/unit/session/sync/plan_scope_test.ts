/**
 * planScope: an incremental cycle plans only the paths the file watcher and the pod rounds named (and
 * what they need). Random changes on both sides of random trees: the plan over the scope is the full
 * plan's every action that is not "nothing to do" — the same copies, deletes, agreements and conflicts.
 */
import { assertEquals } from "@kodama/test-assert";
import {
  planScope,
  planSync,
  sameSnap,
  type Snap,
  type SnapTree,
} from "../../../../src/session/sync/plan.ts";

const file = (text: string, mode = 0o644): Snap => ({
  kind: "file",
  mode,
  size: text.length,
  hash: `h:${text}`,
});
const dir = (mode = 0o755): Snap => ({ kind: "dir", mode, size: 0 });

Deno.test("planScope: a path, its parents, and what is below a directory in any tree", () => {
  const t: SnapTree = new Map([
    ["a", dir()],
    ["a/b", dir()],
    ["a/b/c.txt", file("c")],
    ["a/d.txt", file("d")],
    ["e", dir()],
    ["e/f.txt", file("f")],
  ]);
  assertEquals([...planScope(["a/b/c.txt"], [t])].sort(), ["a", "a/b", "a/b/c.txt"]);
  assertEquals([...planScope(["a/b"], [t])].sort(), ["a", "a/b", "a/b/c.txt"]);
  // a directory only in another tree (deleted here) still brings what was below it
  const gone: SnapTree = new Map([["e", dir()], ["e/f.txt", file("f")]]);
  assertEquals([...planScope(["a"], [gone, t])].sort(), ["a", "a/b", "a/b/c.txt", "a/d.txt"]);
  assertEquals([...planScope([], [t])], []);
});

/** a small deterministic PRNG (mulberry32) */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTree(r: () => number): SnapTree {
  const t: SnapTree = new Map();
  for (const d of ["a", "b", "a/x", "a/y", "b/z"]) t.set(d, dir());
  const dirs = ["", "a", "b", "a/x", "a/y", "b/z"];
  for (let i = 0; i < 30; i++) {
    const d = dirs[Math.floor(r() * dirs.length)];
    t.set(`${d ? d + "/" : ""}f${i}`, file(`v${i}`));
  }
  return t;
}

/** one random operation on a side's tree (in place) */
function mutate(t: SnapTree, r: () => number, tag: string): void {
  const keys = [...t.keys()];
  const p = keys[Math.floor(r() * keys.length)];
  const op = Math.floor(r() * 7);
  const s = t.get(p)!;
  const under = (q: string) => q === p || q.startsWith(p + "/");
  if (op === 0) t.set(`${p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "a"}/new-${tag}`, file(tag));
  else if (op === 1 && s.kind === "file") t.set(p, file(`${tag}:${p}`));
  else if (op === 2) {
    for (const q of keys) if (under(q)) t.delete(q);
  } else if (op === 3) t.set(p, { ...s, mode: s.kind === "dir" ? 0o700 : 0o755 });
  else if (op === 4 && s.kind === "dir") {
    for (const q of keys) if (under(q)) t.delete(q);
    t.set(p, file(`${tag}:now a file`));
  } else if (op === 5 && s.kind === "file") {
    t.set(p, dir());
    t.set(`${p}/inside-${tag}`, file(tag));
  } else t.set(`new-${tag}-${Math.floor(r() * 1000)}`, { kind: "symlink", mode: 0o777, size: 0, link: p });
}

Deno.test("planScope: planning only the changed paths gives the full plan's actions", () => {
  for (const mode of ["two-way", "one-way-local", "one-way-pod"] as const) {
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const anc = randomTree(r);
      const local = new Map(anc), pod = new Map(anc);
      for (let i = Math.floor(r() * 4); i > 0; i--) mutate(local, r, `l${i}`);
      for (let i = Math.floor(r() * 4); i > 0; i--) mutate(pod, r, `p${i}`);
      // what the watchers name: every path whose state differs from the ancestor on a side
      const dirty = new Set<string>();
      for (const side of [local, pod]) {
        for (const p of new Set([...anc.keys(), ...side.keys()])) {
          if (!sameSnap(anc.get(p), side.get(p))) dirty.add(p);
        }
      }
      const scope = planScope(dirty, [local, pod, anc]);
      const pick = (t: SnapTree) => new Map([...t].filter(([p]) => scope.has(p)));
      const full = planSync(anc, local, pod, mode);
      const scoped = planSync(pick(anc), pick(local), pick(pod), mode);
      assertEquals(scoped, full, `seed ${seed}, ${mode}`);
    }
  }
});
