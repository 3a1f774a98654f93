/**
 * `agent logs` and `agent stop` in-process (src/agent/runs/agentrun.ts `agentLogs`, `agentStop`) on the in-memory
 * cluster, whose exec runs the real pod programs (pod/logs.sh, pod/stop.sh) against directories that stand for
 * the session's volumes: a run's log as it was written, a followed run's outcome as the exit code and the line
 * on stderr, the errors for a run that is not there, a live run's process group ended and the run marked
 * stopped, and a run that had already ended left alone. The black-box commands run in session_agent_test and
 * agent_real_*_test against the test server.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { agentLogs, agentStop } from "../../../src/agent/runs/agentrun.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { envTest } from "../../_env_lock.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { fixture, home, run, session } from "../../_session_memory.ts";

/** The command's stdout and stderr, as text. */
function io() {
  const out = memorySink(), err = memorySink();
  return { out, err, o: { out, err } };
}

const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

envTest(
  "agent logs in-process: the run's log as written; followed, its outcome is the exit code",
  async () => {
    using mem = new MemCluster();
    const { pod, runs } = await session(mem);
    const uid = pod.metadata!.uid!;
    run(runs, "1", { pid: "1", pod: uid, started: ago(120), ended: ago(60), exit: "0" });
    Deno.writeTextFileSync(`${runs}/1/log`, fixture("claude-commit"));
    run(runs, "2", { pid: "1", pod: uid, started: ago(50), ended: ago(40), exit: "1" });
    Deno.writeTextFileSync(`${runs}/2/log`, "half a line");

    const one = io();
    assertEquals(await agentLogs(mem, mem.namespace, "s", { run: "1", ...one.o }), 0);
    assertEquals(one.out.text(), fixture("claude-commit"));
    assertEquals(one.err.text(), "");

    // latest is run 2; followed to its end (it has ended): the log, then its outcome, exit 1 (failed)
    const latest = io();
    assertEquals(await agentLogs(mem, mem.namespace, "s", { follow: true, ...latest.o }), 1);
    assertEquals(latest.out.text(), "half a line"); // byte for byte: no newline added
    assertStringIncludes(latest.err.text(), "agent run 2 failed");

    const ok = io();
    assertEquals(await agentLogs(mem, mem.namespace, "s", { run: "1", follow: true, ...ok.o }), 0);
    assertEquals(ok.err.text(), "agent run 1 succeeded\n");
  },
  home(),
);

envTest(
  "agent logs and stop in-process: a run that is not there is exit 3 with the status hint",
  async () => {
    using mem = new MemCluster();
    await session(mem);
    for (
      const call of [
        () => agentLogs(mem, mem.namespace, "s", { ...io().o }),
        () => agentStop(mem, mem.namespace, "s", { ...io().o }),
      ]
    ) {
      const e = await assertRejects(call) as KodamaError;
      assert(e instanceof KodamaError);
      assertEquals([e.message, e.code], ["no agent runs in session s yet", 3]);
      assertEquals(e.hint, "list them with: kodama agent status s");
    }
    const e = await assertRejects(() => agentLogs(mem, mem.namespace, "s", { run: "7", ...io().o }));
    assertEquals((e as KodamaError).message, "no agent run 7 in session s");
    // a run id is a number: nothing reaches the pod with anything else
    const bad = await assertRejects(() => agentStop(mem, mem.namespace, "s", { run: "1;ls", ...io().o }));
    assert(bad instanceof KodamaError);
    assertEquals((bad as KodamaError).code, 2);
  },
  home(),
);

envTest(
  "agent stop in-process: a live run's process ends and it is marked stopped; an ended one is left alone",
  async () => {
    using mem = new MemCluster();
    const { pod, runs } = await session(mem);
    const uid = pod.metadata!.uid!;
    run(runs, "1", { pid: "1", pod: uid, started: ago(120), ended: ago(60), exit: "0" });
    // the runner's process: a group leader, as the runner's setsid makes it
    const live = new Deno.Command("setsid", { args: ["sleep", "300"] }).spawn();
    try {
      run(runs, "2", { pid: String(live.pid), pod: uid, started: ago(30) });
      const s = io();
      assertEquals(await agentStop(mem, mem.namespace, "s", s.o), 0);
      assertEquals(s.out.text(), "agent run 2 stopped\n");
      const status = await live.status;
      assertEquals(status.signal, "SIGTERM");
      assert(Deno.statSync(`${runs}/2/stopped`).isFile);

      const again = io();
      assertEquals(await agentStop(mem, mem.namespace, "s", { run: "1", ...again.o }), 0);
      assertEquals(again.out.text(), "");
      assertEquals(again.err.text(), "agent run 1 had already ended\n");
    } finally {
      try {
        live.kill("SIGKILL");
      } catch { /* ended */ }
      await live.status;
    }
  },
  home(),
);
