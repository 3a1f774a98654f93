/**
 * `kodama agent attach NAME`, black-box: a session with no agent run is exit 3; a custom agent command
 * (no known interactive form) is one line, exit 2, pointing at `kodama attach`. The take-over itself, with the real Claude
 * Code in the pod's tmux: agent_attach_real_test.ts.
 */
import { assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

withSessionWorld(
  "agent attach: exit 3 without a run, exit 2 for a custom agent command",
  { ignore: onRealCluster, timeoutMs: 4 * 60_000 },
  async (t, w) => {
    try {
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `agent:\n  command: [sh, -c, "cat >/dev/null"]\n`,
      );
      const s = await w.k(["start", "a1", "--no-sync", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);

      await t.step("no agent run: exit 3, how to start one", async () => {
        const r = await w.k(["agent", "attach", "a1"]);
        assertEquals(r.code, 3, r.stderr);
        assertMatch(r.stderr, /session a1 has no agent run to attach to/);
        assertMatch(r.stderr, /kodama agent run a1 --prompt/);
      });

      await t.step("a custom agent command: one line, exit 2, kodama attach suggested", async () => {
        const run = await w.k(["agent", "run", "a1", "--prompt", "hello"]);
        assertEquals(run.code, 0, run.stderr);
        const r = await w.k(["agent", "attach", "a1"]);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /session a1 runs a custom agent command: agent attach opens a preset's CLI/);
        assertMatch(r.stderr, /kodama attach a1/);
        assertEquals(r.stderr.includes("    at "), false, "no stack trace");
      });

      await t.step("no such session: exit 3", async () => {
        const r = await w.k(["agent", "attach", "nope"]);
        assertEquals(r.code, 3, r.stderr);
      });
    } finally {
      await purge(w, "a1");
    }
  },
);
