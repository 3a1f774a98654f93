/**
 * The three-way planner, the whole matrix: one local operation x one pod operation (none, create, modify,
 * delete, rename, chmod, symlink, dir -> file, file -> dir) on the same paths, in each mode. Every cell
 * is planned, the plan is applied to in-memory trees the way the sync applies it (a directory is only
 * removed once empty, a copy needs its parent to be a directory), and then:
 *
 *   - no version is lost: every path a side changed is, afterwards, held with that content on one side
 *     (or kept as a copy in the one-way modes);
 *   - both sides agree on every path outside a conflict;
 *   - planning again from the new ancestor does nothing (the sync settles).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  type Action,
  isBelow,
  nextAncestor,
  planSync,
  sameSnap,
  type Side,
  type Snap,
  type SnapTree,
  SYNC_MODES,
  type SyncMode,
} from "../../../../src/session/sync/plan.ts";

const file = (text: string, mode = 0o644): Snap => ({
  kind: "file",
  mode,
  size: text.length,
  hash: `h:${text}`,
});
const dir = (mode = 0o755): Snap => ({ kind: "dir", mode, size: 0 });
const link = (to: string): Snap => ({ kind: "symlink", mode: 0o777, size: 0, link: to });

function base(): SnapTree {
  return new Map([
    ["x", file("base")],
    ["d", dir()],
    ["d/f", file("inside")],
    ["e", file("was a file")],
  ]);
}

type Op = (t: SnapTree, side: Side) => void;
const rmTree = (t: SnapTree, p: string) => {
  for (const k of [...t.keys()]) if (k === p || isBelow(k, p)) t.delete(k);
};
const OPS: Record<string, Op> = {
  none: () => {},
  create: (t, s) => void t.set("n", file(`new ${s}`)),
  modify: (t, s) => {
    t.set("x", file(`edit ${s}`));
    t.set("d/f", file(`edit inside ${s}`));
  },
  delete: (t) => {
    t.delete("x");
    rmTree(t, "d");
  },
  rename: (t) => {
    t.set("r", t.get("x")!);
    t.delete("x");
  },
  chmod: (t) => {
    t.set("x", { ...t.get("x")!, mode: 0o755 });
    t.set("d", dir(0o700));
  },
  symlink: (t, s) => void t.set("x", link(`target-${s}`)),
  "dir->file": (t, s) => {
    rmTree(t, "d");
    t.set("d", file(`d is a file ${s}`));
  },
  "file->dir": (t, s) => {
    t.set("e", dir());
    t.set("e/g", file(`in new dir ${s}`));
  },
};

/** Apply a plan to the two trees as the sync does; throws when a step could not be done without loss. */
function apply(local: SnapTree, pod: SnapTree, plan: Action[], kept: Snap[]): void {
  const tree = (s: Side) => (s === "local" ? local : pod);
  for (const x of plan) {
    if (x.op === "delete") {
      const t = tree(x.on);
      const cur = t.get(x.path);
      if (x.keep && cur) kept.push(cur);
      const below = [...t.keys()].filter((k) => isBelow(k, x.path));
      assert(below.length === 0, `delete ${x.path} on ${x.on} would take ${below.join(", ")}`);
      t.delete(x.path);
    } else if (x.op === "copy") {
      const t = tree(x.to);
      const cur = t.get(x.path);
      if (x.keep && cur) kept.push(cur);
      if (cur?.kind === "dir" && x.entry.kind !== "dir") {
        const below = [...t.keys()].filter((k) => isBelow(k, x.path));
        assert(
          below.length === 0,
          `copy ${x.path} to ${x.to} replaces a directory holding ${below.join(", ")}`,
        );
      }
      const parent = x.path.includes("/") ? x.path.slice(0, x.path.lastIndexOf("/")) : "";
      if (parent) {
        const pe = t.get(parent);
        assert(!pe || pe.kind === "dir", `copy ${x.path} to ${x.to}: its parent is a ${pe?.kind}`);
        if (!pe) t.set(parent, tree(x.from).get(parent) ?? dir());
      }
      t.set(x.path, x.entry);
    }
  }
}

for (const mode of SYNC_MODES) {
  for (const lop of Object.keys(OPS)) {
    for (const pop of Object.keys(OPS)) {
      Deno.test(`plan ${mode}: local ${lop} x pod ${pop}`, () => {
        const ancestor = base();
        const local = base(), pod = base();
        OPS[lop](local, "local");
        OPS[pop](pod, "pod");
        // the versions each side made (changed from the ancestor)
        const made: [Side, string, Snap][] = [];
        for (const [side, t] of [["local", local], ["pod", pod]] as const) {
          for (const [p, e] of t) {
            if (!sameSnap(ancestor.get(p), e) && e.kind !== "dir") made.push([side, p, e]);
          }
        }
        const plan = planSync(ancestor, local, pod, mode);
        const kept: Snap[] = [];
        apply(local, pod, plan, kept);
        const conflicts = plan.filter((x) => x.op === "conflict").map((x) => x.path);
        const inConflict = (p: string) => conflicts.some((c) => c === p || isBelow(p, c));
        // no version lost
        for (const [side, p, e] of made) {
          const held = sameSnap(local.get(p), e) || sameSnap(pod.get(p), e) ||
            kept.some((k) => sameSnap(k, e));
          assert(held, `${side}'s version of ${p} was lost: ${JSON.stringify(plan)}`);
        }
        // both sides agree outside conflicts
        for (const p of new Set([...local.keys(), ...pod.keys()])) {
          if (inConflict(p)) continue;
          assert(sameSnap(local.get(p), pod.get(p)), `${p} differs after the plan: ${JSON.stringify(plan)}`);
        }
        if (mode !== "two-way") assertEquals(conflicts, [], "a one-way mode has no conflicts");
        // settles: planning again from what was agreed does nothing more
        const next = nextAncestor(ancestor, plan);
        const again = planSync(next, local, pod, mode).filter((x) => x.op === "copy" || x.op === "delete");
        assertEquals(again, [], "a second plan still moves something");
      });
    }
  }
}

Deno.test("plan: defined outcomes of the cells that matter most", () => {
  const run = (lop: string, pop: string, mode: SyncMode = "two-way") => {
    const local = base(), pod = base();
    OPS[lop](local, "local");
    OPS[pop](pod, "pod");
    return planSync(base(), local, pod, mode);
  };
  const at = (plan: Action[], p: string) => plan.find((x) => x.path === p);
  // both edit the same file: a conflict, nothing written
  assertEquals(at(run("modify", "modify"), "x")?.op, "conflict");
  // a deletion never wins against a modification
  const dm = at(run("delete", "modify"), "x");
  assertEquals(dm?.op === "copy" && dm.to === "local" && dm.restore, true);
  const md = at(run("modify", "delete"), "x");
  assertEquals(md?.op === "copy" && md.to === "pod" && md.restore, true);
  // the local delete of d/ leaves the pod's edited d/f, and d comes back here
  const dd = run("delete", "modify");
  assertEquals(at(dd, "d")?.op === "copy" && (at(dd, "d") as { to: Side }).to, "local");
  // a directory replaced by a file while the other side edited inside: conflict, nothing below moves
  const df = run("dir->file", "modify");
  assertEquals(at(df, "d")?.op, "conflict");
  assertEquals(at(df, "d/f"), undefined);
  // one side only: it goes across
  const one = at(run("modify", "none"), "x");
  assertEquals(one?.op === "copy" && one.to, "pod");
  // the same change on both sides is agreement
  assertEquals(at(run("chmod", "chmod"), "x")?.op, "agree");
  // a touch (mtime only) is not a change: nothing at all
  assertEquals(run("none", "none"), []);
  // one-way-local overwrites the pod's edit, but keeps it
  const ow = at(run("none", "modify", "one-way-local"), "x");
  assertEquals(ow?.op === "copy" && ow.to === "pod" && ow.keep, true);
  const op = at(run("modify", "none", "one-way-pod"), "x");
  assertEquals(op?.op === "copy" && op.to === "local" && op.keep, true);
});

Deno.test("plan: deletes deepest first, copies parents first", () => {
  const a: SnapTree = new Map([["a", dir()], ["a/b", dir()], ["a/b/c", file("c")]]);
  const plan = planSync(a, new Map(), new Map(a), "two-way");
  assertEquals(plan.map((x) => `${x.op} ${x.path}`), ["delete a/b/c", "delete a/b", "delete a"]);
  const plan2 = planSync(new Map(), a, new Map(), "two-way");
  assertEquals(plan2.map((x) => `${x.op} ${x.path}`), ["copy a", "copy a/b", "copy a/b/c"]);
});
