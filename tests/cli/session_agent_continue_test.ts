/**
 * Agents continue (issue 34): a run whose pod ended mid-run by `kodama stop` (a pod the cluster takes away
 * resumes the run by itself instead, issue 80) shows `interrupted` once the session is back, is never signalled by `agent stop` (its pid
 * means nothing in the new pod), and `agent run --continue` starts agent.command with agent.continueArgs
 * (Claude Code's own --continue) on the same home volume; `agent status` says which run it continues.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { waitUntil } from "../cluster/harness.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

/** A fake agent: says its arguments, then works until told to stop (a file in the workspace). */
const FAKE = `echo "args: $*"; while [ ! -f .done ]; do sleep 1; done; echo finished`;

withSessionWorld("agent: a run cut off by its pod's end is interrupted; run --continue picks it up", {
  timeoutMs: 300_000,
}, async (_t, w) => {
  try {
    await Deno.writeTextFile(
      join(w.cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(FAKE)}, fake]\n  continueArgs: [--continue, --verbose]\n`,
    );
    const s = await w.k(["start", "pool-ag", "--image", SESSION_IMAGE, "--no-sync"]);
    assertEquals(s.code, 0, s.stderr);
    const r1 = await w.k(["agent", "run", "pool-ag", "--prompt", "do the thing"]);
    assertEquals(r1.code, 0, r1.stderr);
    assertEquals(r1.stdout.trim(), "1");
    await waitUntil(
      async () => (await w.k(["agent", "logs", "pool-ag", "1"])).stdout.includes("args:"),
      60_000,
      "run 1 to start",
    );
    const st1 = await w.k(["agent", "status", "pool-ag", "-o", "json"]);
    assertEquals(JSON.parse(st1.stdout).items[0].state, "running");
    // the pod goes mid-run by a stop (never resumed; a pod the cluster takes resumes the run by itself:
    // agent_resume_test.ts), then the session comes back
    const del = await w.k(["stop", "pool-ag"]);
    assertEquals(del.code, 0, del.stderr);
    const res = await w.k(["resume", "pool-ag"]);
    assertEquals(res.code, 0, res.stderr);
    const st2 = await w.k(["agent", "status", "pool-ag"]);
    assertEquals(st2.code, 0, st2.stderr);
    assertMatch(st2.stdout, /^1\s+interrupted\s+-\s/m);
    // never signalled: its pid is nobody's (or another process's) in this pod
    const stop = await w.k(["agent", "stop", "pool-ag", "1"]);
    assertEquals(stop.code, 0, stop.stderr);
    assertStringIncludes(stop.stderr, "had already ended (interrupted)");
    // --continue: agent.continueArgs added, no prompt needed; status names the run it continues
    const r2 = await w.k(["agent", "run", "pool-ag", "--continue"]);
    assertEquals(r2.code, 0, r2.stderr);
    assertEquals(r2.stdout.trim(), "2");
    await waitUntil(
      async () => (await w.k(["agent", "logs", "pool-ag", "2"])).stdout.includes("args:"),
      60_000,
      "run 2 to start",
    );
    const log2 = (await w.k(["agent", "logs", "pool-ag", "2"])).stdout;
    assertStringIncludes(log2, "args: --continue --verbose");
    const st3 = await w.k(["agent", "status", "pool-ag"]);
    assertMatch(st3.stdout, /^RUN\s+STATE\s+EXIT\s+STARTED\s+DURATION\s+CONTINUES/m);
    assertMatch(st3.stdout, /^1\s+interrupted\s/m);
    assertMatch(st3.stdout, /^2\s+running\s.*\srun 1\s*$/m);
    const j = JSON.parse((await w.k(["agent", "status", "pool-ag", "-o", "json"])).stdout);
    assertEquals(j.items[1].continues, "1");
    // it ends normally
    assertEquals((await w.sh("pool-ag", "touch /workspace/.done")).code, 0);
    await waitUntil(
      async () => /^2\s+succeeded\s/m.test((await w.k(["agent", "status", "pool-ag"])).stdout),
      60_000,
      "run 2 to finish",
    );
    assert(true);
  } finally {
    await purge(w, "pool-ag");
  }
});
