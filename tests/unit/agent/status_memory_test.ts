/**
 * `agent status` in-process (src/agent/runs/agentrun.ts `agentStatus`): a session's pod and claims as `start`
 * makes them (buildSession), on the in-memory cluster, whose exec runs the real pod programs
 * (pod/status.sh, pod/runs.sh, pod/truth.sh) against directories that stand for the session's volumes
 * (tests/cluster/memexec.ts). A run's state is what its files say, as the runner leaves them: the states
 * every reader shows (succeeded, failed, running, interrupted by a new pod, lost, stopped), the truth read
 * from the run's log once and stored beside it, the outcome recorded on the workspace claim, and the errors
 * for a session that is missing or not running. The black-box `agent status` runs in session_agent_test and
 * agent_real_*_test against the test server.
 */
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { agentStatus } from "../../../src/agent/runs/agentrun.ts";
import { namesOf } from "../../../src/session/spec/spec.ts";
import { ANNOTATION_AGENT_OUTCOME } from "../../../src/session/state/status.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { envTest } from "../../_env_lock.ts";
import { fixture, home, run, session, sinks } from "../../_session_memory.ts";

envTest("agent status in-process: no runs yet says how to start one, on stderr, exit 0", async () => {
  using mem = new MemCluster();
  await session(mem);
  const s = sinks();
  assertEquals(await agentStatus(mem, mem.namespace, "s", s.o("table")), 0);
  assertEquals(s.out, []);
  assertEquals(s.err.join(""), `no agent runs in session s yet: kodama agent run s --prompt "…"\n`);
}, home());

envTest(
  "agent status in-process: each run's state from its files, the truth read from its log once",
  async () => {
    using mem = new MemCluster();
    const { pod, runs } = await session(mem);
    const uid = pod.metadata!.uid!;
    const t0 = new Date(Date.now() - 600_000).toISOString(),
      t1 = new Date(Date.now() - 540_000).toISOString();
    // 1: ended 0 with two commits' worth of log; 2: ended 1; 3: of an earlier pod (interrupted);
    // 4: its process gone without an exit code (lost); 5: stopped; 6: running (a live process of this pod)
    run(runs, "1", { pid: "1", pod: uid, started: t0, ended: t1, exit: "0", git: "1 1" });
    Deno.writeTextFileSync(`${runs}/1/log`, fixture("claude-commit"));
    run(runs, "2", { pid: "1", pod: uid, started: t0, ended: t1, exit: "1" });
    run(runs, "3", { pid: "1", pod: "an-earlier-pod", started: t0 });
    const dead = new Deno.Command("true").spawn();
    const deadPid = dead.pid;
    await dead.status;
    run(runs, "4", { pid: String(deadPid), pod: uid, started: t0 });
    run(runs, "5", { pid: String(deadPid), pod: uid, started: t0, stopped: t1 });
    const live = new Deno.Command("sleep", { args: ["300"] }).spawn();
    try {
      run(runs, "6", { pid: String(live.pid), pod: uid, started: t0 });
      const s = sinks();
      assertEquals(await agentStatus(mem, mem.namespace, "s", s.o("json")), 0);
      const doc = JSON.parse(s.out.join(""));
      assertEquals(doc.kind, "AgentRunList");
      assertEquals(doc.metadata.session, "s");
      const states = doc.items.map((r: { id: string; state: string }) => `${r.id}:${r.state}`);
      assertEquals(states, [
        "1:succeeded",
        "2:failed",
        "3:interrupted",
        "4:failed",
        "5:stopped",
        "6:running",
      ]);
      const one = doc.items[0];
      assertEquals([one.exitCode, one.durationSeconds, one.truth.turns, one.truth.commits], [0, 60, 3, 1]);
      assertEquals(one.truth.fromLog, true);
      // stored beside the run: the next reader does not read the log again
      const stored = JSON.parse(Deno.readTextFileSync(`${runs}/1/truth.json`));
      assertEquals([stored.turns, stored.toolCalls, stored.fromLog], [3, 2, true]);

      const table = sinks();
      assertEquals(await agentStatus(mem, mem.namespace, "s", table.o("table")), 0);
      const rows = table.out.join("").trimEnd().split("\n");
      assertMatch(
        rows[0],
        /^RUN\s+STATE\s+EXIT\s+STARTED\s+DURATION\s+TURNS\s+TOOLS\s+DENIED\s+COMMITS\s+TOKENS/,
      );
      assertMatch(rows[1], /^1\s+succeeded\s+0\s+10m ago\s+1m0?s?\s+3\s+2\s+0\s+1\s+414 \$0\.0022/);
      assertMatch(rows[2], /^2\s+failed\s+1\s/);
      assertMatch(rows[3], /^3\s+interrupted\s+-\s/);
      assertMatch(rows[6], /^6\s+running\s+-\s/);
      assertEquals(table.err, []);
    } finally {
      live.kill();
      await live.status;
    }
  },
  home(),
);

envTest(
  "agent status in-process: the last run's outcome is recorded on the workspace claim (for list)",
  async () => {
    using mem = new MemCluster();
    const { pod, runs } = await session(mem);
    const t0 = new Date(Date.now() - 60_000).toISOString();
    run(runs, "1", { pid: "1", pod: pod.metadata!.uid!, started: t0, ended: t0, exit: "2" });
    assertEquals(await agentStatus(mem, mem.namespace, "s", sinks().o("table")), 0);
    const claim = await mem.getObject<V1PersistentVolumeClaim>(
      "persistentvolumeclaims",
      mem.namespace,
      namesOf({ name: "s" }).workspacePVC,
    );
    assertEquals(claim.metadata?.annotations?.[ANNOTATION_AGENT_OUTCOME], "1 failed");
  },
  home(),
);

envTest(
  "agent status in-process: a missing session is exit 3 with the list hint; one not running says so",
  async () => {
    using mem = new MemCluster();
    const e = await assertRejects(() =>
      agentStatus(mem, mem.namespace, "nope", sinks().o("table"))
    ) as KodamaError;
    assert(e instanceof KodamaError);
    assertEquals(e.message, `session "nope" not found in namespace default`);
    assertEquals(e.code, 3);
    assertStringIncludes(e.hint ?? "", "kodama list");

    const { pod } = await session(mem, "p");
    mem.setPodStatus(pod.metadata!.name!, { phase: "Pending" });
    const p = await assertRejects(() =>
      agentStatus(mem, mem.namespace, "p", sinks().o("table"))
    ) as KodamaError;
    assert(p instanceof KodamaError);
    assertStringIncludes(p.message, "session p is not ready yet");
    assert(p.code !== 0);
  },
  home(),
);
