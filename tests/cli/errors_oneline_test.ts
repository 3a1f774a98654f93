/**
 * Errors a new user meets first (#27): an unknown subcommand is one line with a did-you-mean, as kubectl
 * says it; the `deno task demo` hint is given only inside kodama's source tree.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { fileURLToPath } from "node:url";
import { runKodama } from "./_run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("an unknown subcommand: one line, kubectl's words, a did-you-mean; exit 2", async () => {
  for (
    const [args, line] of [
      [
        ["session", "status", "foo"],
        'error: unknown command "status" for "kodama session"; did you mean get?',
      ],
      [["sync", "statsu", "x"], 'error: unknown command "statsu" for "kodama sync"; did you mean status?'],
      [["config", "show"], 'error: unknown command "show" for "kodama config"; did you mean view?'],
      [["get", "foo"], 'error: unknown command "get" for "kodama"; did you mean session get?'],
      [["podz"], 'error: unknown command "podz" for "kodama"; did you mean pods?'],
      [["xyzzy"], 'error: unknown command "xyzzy" for "kodama"; run \'kodama --help\' for the commands'],
      [
        ["agent", "nope"],
        'error: unknown command "nope" for "kodama agent"; run \'kodama agent --help\' for its commands',
      ],
    ] as const
  ) {
    const r = await runKodama([...args], { env: { KUBECONFIG: "/nonexistent" } });
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stderr, `${line}\n`);
    assertEquals(r.stdout, "");
  }
});

Deno.test("no kubeconfig: the demo hint only in kodama's source tree", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const outside = await runKodama(["pods"], { env: { KUBECONFIG: `${tmp}/none` }, cwd: tmp });
    assertEquals(outside.code, 2);
    assertStringIncludes(outside.stderr, "set KUBECONFIG or pass --kubeconfig");
    assert(!outside.stderr.includes("deno task demo"), outside.stderr);
    const inside = await runKodama(["pods"], {
      env: { KUBECONFIG: `${tmp}/none` },
      cwd: ROOT,
    });
    assertEquals(inside.code, 2);
    assertStringIncludes(inside.stderr, "try `deno task demo` for a local test server");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
