/**
 * The two-way cycle (src/session/sync/cycle.ts) between two in-memory endpoints (tests/_sync_memory.ts):
 * what each side ends up holding, what the ancestor records, and that nothing is lost when a path changes
 * between the snapshot and the apply. The real endpoints are covered by tests/cli/sync_*_test.ts.
 */
import { assertEquals } from "@kodama/test-assert";
import { type Ancestor, hashBytes } from "../../../../src/session/sync/ancestor.ts";
import { cycle, type CycleResult } from "../../../../src/session/sync/cycle.ts";
import type { SyncMode } from "../../../../src/session/sync/plan.ts";
import { MemoryEndpoint } from "../../../_sync_memory.ts";

interface World {
  local: MemoryEndpoint;
  pod: MemoryEndpoint;
  anc: Ancestor;
  kept: string[];
}

function sync(w: World, mode: SyncMode = "two-way"): Promise<CycleResult> {
  return cycle(w.local, w.pod, {
    mode,
    ancestor: w.anc,
    keep: (rel) => {
      w.kept.push(rel);
      return Promise.resolve(`kept/${rel}`);
    },
    storeAncestor: (a) => void (w.anc = a),
    halt: () => Promise.resolve(),
  });
}

/** Both sides holding `files`, agreed on (one cycle has recorded them as the ancestor). */
async function world(files: Record<string, string>): Promise<World> {
  const w: World = {
    local: new MemoryEndpoint("local"),
    pod: new MemoryEndpoint("pod"),
    anc: new Map(),
    kept: [],
  };
  for (const [p, t] of Object.entries(files)) {
    w.local.write(p, t);
    w.pod.write(p, t);
  }
  const r = await sync(w);
  assertEquals([r.toPod, r.toLocal, r.conflicts.length], [0, 0, 0]);
  return w;
}

const same = (w: World) => assertEquals(w.local.show(), w.pod.show());

Deno.test("cycle: a change on each side goes across, and the next cycle has nothing to do", async () => {
  const w = await world({ "a.txt": "a", "src/b.ts": "b" });
  w.local.write("a.txt", "a local edit");
  w.pod.write("src/b.ts", "b pod edit");
  w.pod.write("src/new.ts", "made in the pod");
  const r = await sync(w);
  assertEquals([r.toPod, r.toLocal, r.skipped], [1, 2, 0]);
  assertEquals(w.pod.read("a.txt"), "a local edit");
  assertEquals(w.local.read("src/b.ts"), "b pod edit");
  assertEquals(w.local.read("src/new.ts"), "made in the pod");
  same(w);
  assertEquals(w.anc.get("src/new.ts")?.kind, "file");
  const again = await sync(w);
  assertEquals([again.toPod, again.toLocal, again.paths], [0, 0, []]);
});

Deno.test("cycle: the same file changed differently on both sides is a conflict: both versions stay", async () => {
  const w = await world({ "f.txt": "base" });
  const before = w.anc.get("f.txt");
  w.local.write("f.txt", "mine");
  w.pod.write("f.txt", "theirs");
  for (let i = 0; i < 2; i++) {
    const r = await sync(w);
    assertEquals(r.conflicts.map((k) => k.path), ["f.txt"]);
    assertEquals([r.toPod, r.toLocal], [0, 0]);
    assertEquals([w.local.read("f.txt"), w.pod.read("f.txt")], ["mine", "theirs"]);
    assertEquals(w.anc.get("f.txt"), before); // the ancestor still says what both last agreed on
  }
  // the same edit on both sides is no conflict
  w.local.write("f.txt", "theirs");
  const r = await sync(w);
  assertEquals([r.conflicts.length, r.toPod, r.toLocal], [0, 0, 0]);
  assertEquals(w.anc.get("f.txt")?.hash, (await w.pod.snapshot(new Map())).snaps.get("f.txt")?.hash);
});

Deno.test("cycle: delete on one side vs edit on the other: the edit wins and comes back, both ways round", async () => {
  for (const gone of ["local", "pod"] as const) {
    const w = await world({ "f.txt": "base", "g.txt": "g" });
    const [deleter, editor] = gone === "local" ? [w.local, w.pod] : [w.pod, w.local];
    deleter.remove("f.txt");
    editor.write("f.txt", "edited");
    await sync(w);
    assertEquals([w.local.read("f.txt"), w.pod.read("f.txt")], ["edited", "edited"], gone);
    same(w);
  }
});

Deno.test("cycle: a rename goes across as a new name and a deleted one", async () => {
  const w = await world({ "old/a.txt": "a", "old/b.txt": "b", "keep.txt": "k" });
  w.local.rename("old", "new");
  const r = await sync(w);
  assertEquals(r.toLocal, 0);
  assertEquals(w.pod.read("new/a.txt"), "a");
  assertEquals(w.pod.read("old"), undefined);
  same(w);
  assertEquals([...w.anc.keys()].filter((p) => p.startsWith("old")), []);
});

Deno.test("cycle: a pod file changed between the snapshot and the apply is not overwritten; next cycle sees the conflict", async () => {
  const w = await world({ "f.txt": "base" });
  w.local.write("f.txt", "local edit");
  w.pod.meanwhile = () => w.pod.write("f.txt", "pod edit, just after the snapshot");
  const r = await sync(w);
  assertEquals(w.pod.refused, ["f.txt"]);
  assertEquals([r.toPod, r.skipped], [0, 1]);
  assertEquals(w.pod.read("f.txt"), "pod edit, just after the snapshot");
  assertEquals(w.local.read("f.txt"), "local edit");
  const next = await sync(w);
  assertEquals(next.conflicts.map((k) => k.path), ["f.txt"]);
  assertEquals([w.local.read("f.txt"), w.pod.read("f.txt")], [
    "local edit",
    "pod edit, just after the snapshot",
  ]);
});

Deno.test("cycle: a pod file written again between its snapshot and the fetch: the ancestor records what was pulled, and a later delete holds", async () => {
  const w = await world({ "a.txt": "a" });
  // `echo y > f` in the pod: the snapshot sees the file empty, the fetch reads it written
  w.pod.write("gone.txt", "");
  w.pod.beforeFetch = () => w.pod.write("gone.txt", "y\n");
  await sync(w);
  assertEquals(w.local.read("gone.txt"), "y\n");
  const rec = w.anc.get("gone.txt");
  assertEquals([rec?.size, rec?.hash], [2, await hashBytes(new TextEncoder().encode("y\n"))]);
  // the pod deletes it before any other cycle: it goes here too, it never comes back to the pod
  w.pod.remove("gone.txt");
  await sync(w);
  assertEquals([w.local.read("gone.txt"), w.pod.read("gone.txt")], [undefined, undefined]);
});

Deno.test("cycle: a local file changed between the snapshot and the apply is not overwritten; next cycle sends it", async () => {
  const w = await world({ "f.txt": "base", "g.txt": "g" });
  w.pod.write("g.txt", "pod edit");
  w.local.meanwhile = () => w.local.write("g.txt", "local edit, just after the snapshot");
  const r = await sync(w);
  assertEquals([r.toLocal, r.skipped], [0, 1]);
  assertEquals(w.local.read("g.txt"), "local edit, just after the snapshot");
  const next = await sync(w);
  assertEquals(next.conflicts.map((k) => k.path), ["g.txt"]);
  // and a change that raced only on one side is simply sent the next cycle
  const w2 = await world({ "h.txt": "base" });
  w2.pod.write("h.txt", "pod edit");
  w2.local.meanwhile = () => w2.local.write("new.txt", "made meanwhile");
  const r2 = await sync(w2);
  assertEquals(r2.toLocal, 1);
  const next2 = await sync(w2);
  assertEquals(next2.toPod, 1);
  same(w2);
});

Deno.test("cycle: a pod file whose content is unknown is never taken for a deletion", async () => {
  const w = await world({ "f.txt": "base", "g.txt": "g" });
  w.pod.unreadable.add("f.txt");
  const r = await sync(w);
  assertEquals([r.toPod, r.toLocal, r.skipped], [0, 0, 1]);
  assertEquals(w.local.read("f.txt"), "base");
  assertEquals(w.anc.has("f.txt"), true);
  w.pod.unreadable.clear();
  const again = await sync(w);
  assertEquals([again.toPod, again.toLocal, again.skipped], [0, 0, 0]);
});

Deno.test("cycle: a one-way mode replaces the other side's edit and keeps a copy of it", async () => {
  const w = await world({ "f.txt": "base" });
  w.local.write("f.txt", "mine");
  w.pod.write("f.txt", "theirs");
  const r = await sync(w, "one-way-local");
  assertEquals(w.pod.read("f.txt"), "mine");
  assertEquals(w.kept, ["f.txt"]);
  assertEquals(r.kept, ["kept/f.txt"]);
  assertEquals(r.conflicts, []);
});

// ---- the directory rule (Mutagen's two-way-safe; plan_dirs_test.ts has the plans), run whole

/** both sides with `d/` (a, b, sub/c) and `top`; `gone` deletes d while the other side runs `edit` */
async function dirCase(gone: "local" | "pod", edit: (e: MemoryEndpoint) => void) {
  const w = await world({ "d/a": "a", "d/b": "b", "d/sub/c": "c", top: "top" });
  const [deleter, keeper] = gone === "local" ? [w.local, w.pod] : [w.pod, w.local];
  deleter.remove("d");
  edit(keeper);
  for (let i = 0; i < 3; i++) await sync(w); // a restored directory's files may take the next cycle
  same(w);
  return w;
}

Deno.test("cycle, dir rule: a deleted directory vs an edit inside comes back whole on both sides", async () => {
  for (const gone of ["local", "pod"] as const) {
    const w = await dirCase(gone, (e) => e.write("d/sub/c", "deep edit"));
    assertEquals([w.local.read("d/a"), w.local.read("d/b"), w.local.read("d/sub/c")], [
      "a",
      "b",
      "deep edit",
    ]);
  }
});

Deno.test("cycle, dir rule: what the keeping side deleted inside stays deleted", async () => {
  for (const gone of ["local", "pod"] as const) {
    const w = await dirCase(gone, (e) => e.write("d/a", "edited").remove("d/b"));
    assertEquals([w.pod.read("d/a"), w.pod.read("d/b")], ["edited", undefined]);
  }
});

Deno.test("cycle, dir rule: a deleted directory the other side only deleted inside is deleted whole", async () => {
  for (const gone of ["local", "pod"] as const) {
    const w = await dirCase(gone, (e) => e.remove("d/b"));
    assertEquals(Object.keys(w.local.show()), ["top"]);
  }
});

Deno.test("cycle, dir rule: a renamed directory vs an edit in the old place: both names end up on both sides", async () => {
  for (const gone of ["local", "pod"] as const) {
    const w = await world({ "d/a": "a", "d/b": "b", top: "top" });
    const [mover, keeper] = gone === "local" ? [w.local, w.pod] : [w.pod, w.local];
    mover.rename("d", "e");
    keeper.write("d/a", "edited");
    for (let i = 0; i < 3; i++) await sync(w);
    same(w);
    assertEquals([w.local.read("d/a"), w.local.read("d/b"), w.local.read("e/a")], ["edited", "b", "a"]);
  }
});
