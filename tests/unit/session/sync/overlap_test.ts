/**
 * One directory, one two-way session (src/session/sync/overlap.ts): the pure rule. Two sessions that both
 * write into overlapping trees (same, parent, child) conflict; one-way-local never writes locally; a sync
 * that is not running, a sibling tree or the session itself never does.
 */
import { assertEquals } from "@kodama/test-assert";
import { overlapOf, type SyncedTree } from "../../../../src/session/sync/overlap.ts";

const tree = (name: string, root: string, more: Partial<SyncedTree> = {}): SyncedTree => ({
  name,
  namespace: "dev",
  root,
  mode: "two-way",
  live: true,
  ...more,
});
const self = { name: "b", namespace: "dev" };

Deno.test("overlap: the same directory, a parent or a child of a live two-way sync", () => {
  const a = tree("a", "/work/app");
  assertEquals(overlapOf("/work/app", "two-way", self, [a])?.name, "a");
  assertEquals(overlapOf("/work/app/src", "two-way", self, [a])?.name, "a");
  assertEquals(overlapOf("/work", "two-way", self, [a])?.name, "a");
  // the local tree follows the pod: it writes locally too
  assertEquals(overlapOf("/work/app", "one-way-pod", self, [a])?.name, "a");
  assertEquals(
    overlapOf("/work/app", "two-way", self, [tree("a", "/work/app", { mode: "one-way-pod" })])?.name,
    "a",
  );
});

Deno.test("overlap: siblings, prefixes, one-way-local, stopped syncs and itself do not conflict", () => {
  const a = tree("a", "/work/app");
  assertEquals(overlapOf("/work/app2", "two-way", self, [a]), undefined);
  assertEquals(overlapOf("/work/other", "two-way", self, [a]), undefined);
  assertEquals(overlapOf("/work/app", "one-way-local", self, [a]), undefined);
  assertEquals(
    overlapOf("/work/app", "two-way", self, [tree("a", "/work/app", { mode: "one-way-local" })]),
    undefined,
  );
  assertEquals(overlapOf("/work/app", "two-way", self, [tree("a", "/work/app", { live: false })]), undefined);
  assertEquals(overlapOf("/work/app", "two-way", self, [tree("b", "/work/app")]), undefined);
  // the same name in another namespace is another session
  assertEquals(
    overlapOf("/work/app", "two-way", self, [tree("b", "/work/app", { namespace: "prod" })])?.namespace,
    "prod",
  );
});

Deno.test("overlap: a case-folding file system (macOS, Windows) compares without case", () => {
  const a = tree("a", "/Users/me/App");
  assertEquals(overlapOf("/users/me/app/src", "two-way", self, [a], true)?.name, "a");
  assertEquals(overlapOf("/users/me/app/src", "two-way", self, [a], false), undefined);
  assertEquals(overlapOf("C:\\Work\\app", "two-way", self, [tree("a", "c:\\work")], true)?.name, "a");
});
