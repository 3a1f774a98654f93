/** `kodama pick` without a terminal (black-box): --select-1, --exit-0, and the exit-2 "choice needed" error. */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startCluster } from "../cluster/harness.ts";
import { hasStackTrace, runKodama } from "./_run.ts";

const NS = "weka-operator-system";

Deno.test({
  name: "kodama pick without a terminal",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const c = await startCluster({ seed: "demo" });
    const kc = ["--kubeconfig", c.kubeconfig];
    try {
      await t.step("--select-1 with a query matching one pod prints it without opening", async () => {
        const r = await runKodama([...kc, "pick", "-n", NS, "--query", "drive-2", "--select-1"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, `${NS}/weka-drive-2\n`);
        assertEquals(r.stderr, "");
      });

      await t.step("-A matches namespace/name with fzf syntax", async () => {
        const r = await runKodama([...kc, "pick", "-A", "--query", "^prod/ web", "--select-1"]);
        assertEquals(r.code, 0, r.stderr);
        assert(/^prod\/web-[a-z0-9-]+\n$/.test(r.stdout), r.stdout);
      });

      await t.step(
        "several matches and no terminal: exit 2 listing candidates and the deciding flags",
        async () => {
          const r = await runKodama([...kc, "pick", "-n", NS, "--query", "drive", "--select-1"]);
          assertEquals(r.code, 2);
          assertEquals(r.stdout, "");
          assertStringIncludes(
            r.stderr,
            `3 pods match "drive" and a choice is needed: weka-drive-0, weka-drive-1, weka-drive-2`,
          );
          assertStringIncludes(r.stderr, "no terminal to pick on");
          assertStringIncludes(r.stderr, "--select-1");
          assert(!hasStackTrace(r.stderr), r.stderr);
        },
      );

      await t.step("KODAMA_NO_PICKER=1 says the picker is disabled", async () => {
        const r = await runKodama([...kc, "pick", "-n", "prod"], { env: { KODAMA_NO_PICKER: "1" } });
        assertEquals(r.code, 2);
        assertStringIncludes(r.stderr, "3 pods match and a choice is needed");
        assertStringIncludes(r.stderr, "KODAMA_NO_PICKER");
      });

      await t.step("--exit-0: nothing matches the query -> exit 3 at once", async () => {
        const r = await runKodama([...kc, "pick", "-n", NS, "--query", "nomatch", "--exit-0"]);
        assertEquals(r.code, 3);
        assertStringIncludes(r.stderr, `no pod matches "nomatch"`);
      });

      await t.step("nothing matched by the targeting flags -> exit 3 naming the target", async () => {
        const r = await runKodama([...kc, "pick", "-n", NS, "-m", "nothing-like-this"]);
        assertEquals(r.code, 3);
        assertStringIncludes(r.stderr, "no pods matched");
        assertStringIncludes(r.stderr, `name contains "nothing-like-this"`);
      });

      await t.step("a single candidate needs no choice: printed even without a terminal", async () => {
        const r = await runKodama([...kc, "pick", "-n", NS, "--pod", "weka-compute-0"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, `${NS}/weka-compute-0\n`);
      });
    } finally {
      await c.stop();
    }
  },
});
