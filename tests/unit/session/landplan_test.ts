import { assertEquals } from "@std/assert";
import { badLinks, type GitEntry, landKind, pathFate } from "../../../src/session/landplan.ts";

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
  ]);
});
