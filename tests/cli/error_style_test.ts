/**
 * One error style (issue 52.11): `error: …` and an indented hint; commander's typo suggestions said the way
 * kodama says its own; a missing namespace and a misspelt TYPE/NAME named as such; `exec --tmux` without a
 * terminal says how to attach.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { clusterTest } from "../cluster/fixture.ts";
import { runKodama } from "./_run.ts";
import { HAVE_TMUX } from "../integration/picker_tmux.ts";
import { oneErrorStyle } from "../../main.ts";

Deno.test("commander's 'Did you mean' becomes kodama's inline one", () => {
  assertEquals(
    oneErrorStyle("error: unknown option '--al'\n(Did you mean one of --all, --as?)\n"),
    "error: unknown option '--al'; did you mean --all or --as?\n",
  );
  assertEquals(
    oneErrorStyle("error: unknown option '--namespac'\n(Did you mean --namespace?)\n"),
    "error: unknown option '--namespac'; did you mean --namespace?\n",
  );
});

clusterTest("errors: typos, a missing namespace, a misspelt deploy/NAME, exec --tmux without a terminal", {
  seed: "demo",
}, async (t, c) => {
  const k = (args: string[], env: Record<string, string> = {}) =>
    runKodama(["--kubeconfig", c.kubeconfig, "--context", "admin", ...args], { env });
  await t.step("an unknown flag: one error line with the suggestion, an indented hint", async () => {
    const r = await k(["exec", "-n", "prod", "--al", "--", "true"]);
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /^error: unknown option '--al'; did you mean --all or --as\?\n {2}\S/);
    assert(!r.stderr.includes("(Did you mean"), r.stderr);
  });
  await t.step("exec -n nosuchns names the missing namespace, as pods -n does", async () => {
    const e = await k(["exec", "-n", "nosuchns", "--", "true"]);
    const p = await k(["pods", "-n", "nosuchns"]);
    assertEquals([e.code, p.code], [3, 3]);
    assertStringIncludes(e.stderr, 'error: namespaces "nosuchns" not found');
    assertEquals(e.stderr, p.stderr);
  });
  await t.step("deploy/apii: did you mean deploy/api", async () => {
    const r = await k(["exec", "-n", "prod", "deploy/apii", "--", "true"]);
    assertEquals(r.code, 3);
    assertStringIncludes(
      r.stderr,
      'deployments.apps "apii" not found in namespace prod; did you mean deploy/api?',
    );
  });
  await t.step({
    name: "exec --tmux without a terminal: the session's name, and how to attach",
    ignore: !HAVE_TMUX,
    fn: async () => {
      const socket = `kodama-errstyle-${crypto.randomUUID().slice(0, 8)}`;
      try {
        const r = await k(["exec", "--tmux", "-n", "prod", "-m", "api"], { KODAMA_TMUX_SOCKET: socket });
        assertEquals(r.code, 0, r.stderr);
        const name = r.stdout.trim();
        assertMatch(name, /^kodama-prod-/);
        assertStringIncludes(r.stderr, `tmux -L ${socket} attach -t ${name}`);
      } finally {
        await new Deno.Command("tmux", {
          args: ["-L", socket, "kill-server"],
          stdout: "null",
          stderr: "null",
        })
          .output().catch(() => {});
      }
    },
  });
});
