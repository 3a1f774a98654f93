/**
 * Sync per repository (#81.2), its pure parts: which syncs a command acts on, the `SESSION@REPO` key a
 * `--repo` makes (its name checked as one directory name), and the syncs a session has on this machine.
 */
import { assertEquals } from "@kodama/test-assert";
import { keysFor, syncTarget } from "../../../../src/session/sync/units.ts";
import { repoOf, sessionOf, unitKey, unitsOf } from "../../../../src/session/sync/store.ts";
import type { SessionView } from "../../../../src/session/state/status.ts";
import { KodamaError } from "../../../../src/base/errors.ts";

/** The KodamaError `fn` throws (the test fails when it throws none, or another). */
function thrown(fn: () => unknown, what = ""): KodamaError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KodamaError) return e;
    throw e;
  }
  throw new Error(`no error: ${what}`);
}

const view = (repos?: { name: string; readOnly?: boolean }[]) =>
  ({ name: "s1", spec: repos ? { repos } : {} }) as unknown as Pick<SessionView, "name" | "spec">;

Deno.test("keysFor: a session's own sync; each repository it writes; the one --repo names", () => {
  assertEquals(keysFor(view(), "s1"), ["s1"]);
  const v = view([{ name: "api" }, { name: "web" }, { name: "docs", readOnly: true }]);
  assertEquals(keysFor(v, "s1"), ["s1@api", "s1@web"]);
  assertEquals(keysFor(v, "s1@web"), ["s1@web"]);
});

Deno.test("keysFor: a read-only repository, one it does not have, --repo of a one-repository session: exit 2", () => {
  const v = view([{ name: "api" }, { name: "docs", readOnly: true }]);
  for (
    const [vv, key, re] of [[v, "s1@docs", /read-only/], [v, "s1@nope", /has no repository "nope"/], [
      view(),
      "s1@api",
      /has one repository/,
    ]] as const
  ) {
    const e = thrown(() => keysFor(vv, key), key);
    assertEquals(e.code, 2);
    assertEquals(re.test(e.message), true, e.message);
  }
});

Deno.test("syncTarget: --repo is one directory name (never a path, never another session's key)", () => {
  assertEquals(syncTarget("s1"), "s1");
  assertEquals(syncTarget("s1", "api"), "s1@api");
  for (const bad of ["..", "../api", "a/b", "x@y", ".hidden", "", "a\\b", "C:", "api\n"]) {
    const e = thrown(() => syncTarget("s1", bad), bad);
    assertEquals(e.code, 2, bad);
  }
});

Deno.test("keys: SESSION@REPO and back; unitsOf lists a session's own and its repositories', no other's", () => {
  assertEquals([sessionOf(unitKey("s1", "api")), repoOf(unitKey("s1", "api"))], ["s1", "api"]);
  assertEquals([sessionOf("s1"), repoOf("s1")], ["s1", undefined]);
  const home = Deno.makeTempDirSync();
  try {
    assertEquals(unitsOf("s1", home), []);
    for (const d of ["s1@web", "s1@api", "s1", "s10", "s10@api", "s2@api"]) {
      Deno.mkdirSync(`${home}/sync/${d}`, { recursive: true });
    }
    assertEquals(unitsOf("s1", home), ["s1", "s1@api", "s1@web"]);
    assertEquals(unitsOf("s10", home, true), ["s10", "s10@api"]);
    Deno.removeSync(`${home}/sync/s10@api`);
    assertEquals(unitsOf("s10", home, true), ["s10"], "a listing read again once the directory changed");
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});
