import { assertEquals } from "@kodama/test-assert";
import {
  badLinks,
  type GitEntry,
  landKind,
  linksMade,
  namesRefused,
  pathFate,
  refusalLine,
} from "../../../src/session/git/landplan.ts";
import { platformFor } from "../../../src/base/platform.ts";

const e = (oid: string, mode = "100644"): GitEntry => ({ mode, oid });

Deno.test("landKind: up to date, fast-forward, merge or rebase", () => {
  assertEquals(landKind({ tipInHead: true, headInTip: true }), "up-to-date");
  assertEquals(landKind({ tipInHead: true, headInTip: false }), "up-to-date");
  assertEquals(landKind({ tipInHead: false, headInTip: true }), "fast-forward");
  assertEquals(landKind({ tipInHead: false, headInTip: true }, true), "fast-forward");
  assertEquals(landKind({ tipInHead: false, headInTip: false }), "merge");
  assertEquals(landKind({ tipInHead: false, headInTip: false }, true), "rebase");
});

Deno.test("pathFate: the synced content is kept, the old one written, a local change refused", () => {
  const old = e("a"), tip = e("b");
  assertEquals(pathFate(old, tip, tip), "keep"); // the sync brought the pod's version already
  assertEquals(pathFate(old, tip, old), "write"); // untouched here: git writes the new version
  assertEquals(pathFate(old, tip, e("c")), "refuse"); // a local edit the landing would overwrite
  assertEquals(pathFate(old, tip, e("b", "100755")), "refuse"); // same bytes, other mode: a local chmod
  // added / deleted by the commit
  assertEquals(pathFate(undefined, tip, undefined), "write");
  assertEquals(pathFate(undefined, tip, tip), "keep");
  assertEquals(pathFate(undefined, tip, e("mine")), "refuse"); // an untracked file of the same name
  assertEquals(pathFate(old, undefined, undefined), "keep");
  assertEquals(pathFate(old, undefined, old), "write");
  assertEquals(pathFate(old, undefined, e("edited")), "refuse");
  assertEquals(pathFate(old, tip, "other"), "refuse");
  // a merge: the session's version in the tree is a committed one, so the merged one may replace it
  assertEquals(pathFate(old, e("m"), tip, [tip]), "write");
  assertEquals(pathFate(old, e("m"), e("x"), [tip]), "refuse");
});

Deno.test("badLinks: out of the tree, into .git, absolute, chains, loops", () => {
  const bad = badLinks([
    { path: "ok", target: "src/a.ts" },
    { path: "src/up", target: "../README.md" },
    { path: "out", target: "../etc/passwd" },
    { path: "deep/out", target: "../../x" },
    { path: "abs", target: "/etc/passwd" },
    { path: "hooks", target: ".git/hooks" },
    { path: "d/hooks", target: "../.GIT/config" },
    { path: "chain1", target: "s/chain2/../x" },
    { path: "s/chain2", target: "../.." },
    { path: "s/fine", target: "../s" },
    { path: "loop1", target: "loop2" },
    { path: "loop2", target: "loop1" },
    { path: "dir", target: "sub" },
    { path: "via", target: "dir/../ok" },
  ]);
  assertEquals(bad.map((b) => `${b.path}: ${b.why}`), [
    "out: it leads out of the tree",
    "deep/out: it leads out of the tree",
    "abs: its target is an absolute path",
    "hooks: it leads into .git",
    "d/hooks: it leads into .git",
    "chain1: it leads out of the tree",
    "s/chain2: it leads out of the tree",
    "loop1: its chain of links does not end",
    "loop2: its chain of links does not end",
    "via: its target dir/../ok climbs back with .. after a name (a later link could turn it outward)",
  ]);
});

Deno.test("badLinks: a .. after a name is refused whatever that name is on disk (safewrite's rule)", () => {
  // d/up is not in the tree (a link the sync pulled, untracked): the tree alone cannot say where it leads
  const bad = badLinks([
    { path: "x", target: "d/up/../victim.txt" },
    { path: "y", target: "d/up/../../../etc/passwd" },
    { path: "d/z", target: "../a/../b" },
    { path: "d/ok", target: "../x" },
    { path: "e/ok", target: "../d/up" },
  ]);
  assertEquals(bad.map((b) => `${b.path}: ${b.why.replace(/ \(a later.*/, "")}`), [
    "x: its target d/up/../victim.txt climbs back with .. after a name",
    "y: it leads out of the tree",
    "d/z: its target ../a/../b climbs back with .. after a name",
  ]);
});

Deno.test("namesRefused: the pod's paths are held to sync's pulled-path rules", () => {
  const linux = platformFor("linux");
  const bad = namesRefused([
    "ok.txt",
    "src/a/b.ts",
    "..",
    "../known.txt",
    "d/../../x",
    ".git/config",
    "sub/.GIT/hooks/pre-commit",
    "a/./b",
    "d/up/notes.md", // a fine name: its parent on disk is safewrite's parentProblem to judge
  ], linux);
  assertEquals(bad.map((b) => b.path), [
    "..",
    "../known.txt",
    "d/../../x",
    ".git/config",
    "sub/.GIT/hooks/pre-commit",
    "a/./b",
  ]);
  assertEquals(namesRefused(["aux.c", "a:b"], platformFor("windows")).length, 2);
});

Deno.test("linksMade and refusalLine: the links a move writes; one line for the refusals", () => {
  const diff = new Map<string, [GitEntry?, GitEntry?]>([
    ["file", [undefined, e("1")]],
    ["link", [undefined, e("2", "120000")]],
    ["was-link", [e("3", "120000"), e("4")]],
    ["gone-link", [e("5", "120000"), undefined]],
    ["relinked", [e("6", "120000"), e("7", "120000")]],
  ]);
  assertEquals(linksMade(diff), [{ path: "link", oid: "2" }, { path: "relinked", oid: "7" }]);
  const r = (i: number) => ({ path: `p${i}`, why: `why ${i}`, ...(i === 1 ? { link: "../t" } : {}) });
  assertEquals(refusalLine([r(1)]), "p1 -> ../t (why 1)");
  assertEquals(refusalLine([1, 2, 3, 4, 5].map(r)), "p1 -> ../t (why 1); p2 (why 2); p3 (why 3), and 2 more");
});
