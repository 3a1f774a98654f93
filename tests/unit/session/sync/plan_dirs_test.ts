/**
 * The directory rule (Mutagen's two-way-safe): a directory one side deleted — or renamed — while the other
 * side changed or made something in it comes back whole, unchanged siblings included; what the other side
 * deleted inside stays deleted. Each case both ways round.
 */
import { assertEquals } from "@kodama/test-assert";
import {
  type Action,
  planSync,
  type Side,
  type Snap,
  type SnapTree,
} from "../../../../src/session/sync/plan.ts";

const file = (t: string): Snap => ({ kind: "file", mode: 0o644, size: t.length, hash: `h:${t}` });
const dir = (): Snap => ({ kind: "dir", mode: 0o755, size: 0 });
const tree = (o: Record<string, Snap>): SnapTree => new Map(Object.entries(o));

const anc = () =>
  tree({
    d: dir(),
    "d/a": file("a"),
    "d/b": file("b"),
    "d/sub": dir(),
    "d/sub/c": file("c"),
    top: file("top"),
  });
const without = (t: SnapTree, prefix: string) =>
  new Map([...t].filter(([p]) => p !== prefix && !p.startsWith(prefix + "/")));

/** the plan with `gone` missing `d` (deleted) and `kept` changed by `edit`, for gone = local and pod */
function both(edit: (t: SnapTree) => void, goneEdit: (t: SnapTree) => void = (t) => void t) {
  return (["local", "pod"] as Side[]).map((gone) => {
    const g = without(anc(), "d"), k = anc();
    goneEdit(g);
    edit(k);
    const plan = gone === "local" ? planSync(anc(), g, k) : planSync(anc(), k, g);
    return { gone, plan };
  });
}
const show = (plan: Action[]) =>
  plan.map((x) =>
    x.op === "copy"
      ? `copy ${x.path} -> ${x.to}`
      : x.op === "delete"
      ? `delete ${x.path} on ${x.on}`
      : `${x.op} ${x.path}`
  );

Deno.test("dir rule: deleted directory vs an edited file inside: the whole directory comes back", () => {
  for (const { gone, plan } of both((t) => t.set("d/a", file("edited")))) {
    assertEquals(show(plan), [
      `copy d -> ${gone}`,
      `copy d/a -> ${gone}`,
      `copy d/b -> ${gone}`,
      `copy d/sub -> ${gone}`,
      `copy d/sub/c -> ${gone}`,
    ]);
    assertEquals(plan.every((x) => x.op !== "copy" || x.restore), true);
  }
});

Deno.test("dir rule: deleted directory vs a new file inside: the directory comes back with it", () => {
  for (const { gone, plan } of both((t) => t.set("d/new", file("new")))) {
    assertEquals(show(plan).filter((s) => s.startsWith("copy")).length, 6, show(plan).join("; "));
    assertEquals(show(plan).includes(`copy d/new -> ${gone}`), true);
    assertEquals(show(plan).includes(`copy d/b -> ${gone}`), true);
  }
});

Deno.test("dir rule: renamed directory vs an edit in the old place: both names end up on both sides", () => {
  for (
    const { gone, plan } of both(
      (t) => t.set("d/a", file("edited")),
      (t) => {
        for (const [p, e] of anc()) if (p === "d" || p.startsWith("d/")) t.set("e" + p.slice(1), e);
      },
    )
  ) {
    const to = gone === "local" ? "pod" : "local";
    const s = show(plan);
    assertEquals(s.includes(`copy d/b -> ${gone}`) && s.includes(`copy d/a -> ${gone}`), true, s.join("; "));
    assertEquals(s.includes(`copy e/b -> ${to}`) && s.includes(`copy e/sub/c -> ${to}`), true, s.join("; "));
  }
});

Deno.test("dir rule: nested — an edit deep inside keeps the outer directory whole", () => {
  for (const { gone, plan } of both((t) => t.set("d/sub/c", file("deep edit")))) {
    const s = show(plan);
    for (const p of ["d", "d/a", "d/b", "d/sub", "d/sub/c"]) {
      assertEquals(s.includes(`copy ${p} -> ${gone}`), true);
    }
  }
});

Deno.test("dir rule: what the keeping side deleted inside stays deleted", () => {
  for (
    const { gone, plan } of both((t) => {
      t.set("d/a", file("edited"));
      t.delete("d/b");
    })
  ) {
    const s = show(plan);
    assertEquals(s.includes(`copy d/a -> ${gone}`), true);
    assertEquals(s.some((x) => x.includes("d/b") && x.startsWith("copy")), false, s.join("; "));
    assertEquals(s.includes("agree d/b"), true, s.join("; "));
  }
});

Deno.test("dir rule: a deleted directory the other side only deleted inside is deleted whole", () => {
  for (const { gone, plan } of both((t) => void t.delete("d/b"))) {
    const on = gone === "local" ? "pod" : "local";
    const s = show(plan);
    assertEquals(s.includes(`delete d on ${on}`) && s.includes(`delete d/a on ${on}`), true, s.join("; "));
  }
});
