/**
 * The session lifecycle's decisions in-process: `stopSession` and what `resume` does with what it finds
 * (`clearForResume`), against the in-memory cluster (tests/cluster/memcluster.ts) with a session as `start`
 * makes it (tests/_session_memory.ts). The commands themselves, end to end through the real program against
 * the HTTPS test server and a real cluster: tests/cli/session_test.ts and the session_* files beside it.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { clearForResume, stopSession } from "../../../src/session/lifecycle/lifecycle.ts";
import { loadState, saveState, stateFromSpec } from "../../../src/session/state/state.ts";
import { ANNOTATION_SPEC, LABEL_SESSION } from "../../../src/session/spec/names.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { session } from "../../_session_memory.ts";

const claims = async (mem: MemCluster) =>
  (await mem.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", mem.namespace)).items
    .map((c) => c.metadata?.name).sort();
const pods = async (mem: MemCluster) =>
  (await mem.listObjects<V1Pod>("pods", mem.namespace, { labelSelector: LABEL_SESSION })).items
    .map((p) => p.metadata?.name);

function sinks() {
  const out = memorySink(), err = memorySink();
  return { out, err };
}

async function failure(p: Promise<unknown>): Promise<KodamaError> {
  const e = await assertRejects(() => p);
  assert(e instanceof KodamaError, `not a KodamaError: ${e}`);
  return e;
}

Deno.test("stop (in memory): the pod goes and is waited out, the volumes stay, the local state says Stopped", async () => {
  using mem = new MemCluster();
  const home = Deno.makeTempDirSync({ prefix: "kodama-lifecycle-home-" });
  try {
    const { spec } = await session(mem, "s");
    await saveState(stateFromSpec(spec, { context: mem.contextName, server: mem.server }, "Running"), home);
    const before = await claims(mem);
    assert(before.length > 0);
    const io = sinks();
    const code = await stopSession(mem, mem.namespace, "s", { wait: true, ...io, home });
    assertEquals(code, ExitCode.OK);
    assertEquals(await pods(mem), []);
    assertEquals(await claims(mem), before);
    assertEquals(io.out.text(), "session/s stopped\n");
    assertEquals(before, ["kodama-claude-home-s", "kodama-workspace-s"]);
    assertEquals(
      io.err.text(),
      "kept: kodama-claude-home-s (1Gi), kodama-workspace-s (10Gi); resume with: kodama resume s\n",
    );
    assertEquals((await loadState("s", home))?.status, "Stopped");
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});

Deno.test("stop (in memory): a stopped session is said so, exit 0; a missing one is exit 3", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  // stopped: its Job and its pod gone
  await mem.deleteObject("jobs", mem.namespace, "kodama-s");
  await mem.deleteObject("pods", mem.namespace, pod.metadata!.name!);
  const before = await claims(mem);
  const io = sinks();
  assertEquals(await stopSession(mem, mem.namespace, "s", { wait: true, ...io }), ExitCode.OK);
  assertEquals(io.err.text(), "session s is already stopped\n");
  assertEquals(io.out.text(), "");
  assertEquals(await claims(mem), before);
  const e = await failure(stopSession(mem, mem.namespace, "nope", { wait: true, ...sinks() }));
  assertEquals(e.code, ExitCode.NOT_FOUND);
  assert(e.message.includes("nope"), e.message);
});

Deno.test("resume (in memory): a running or starting session is left alone, and said so", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  const io = sinks();
  assertEquals(await clearForResume(mem, mem.namespace, "s", io.err), undefined);
  assertEquals(io.err.text(), "session s is already running\n");
  assertEquals(await pods(mem), [pod.metadata!.name]);
  // Pending (scheduled, its image pulling): starting, not to be replaced either
  mem.setPodStatus(pod.metadata!.name!, { phase: "Pending" });
  const again = sinks();
  assertEquals(await clearForResume(mem, mem.namespace, "s", again.err), undefined);
  assertEquals(again.err.text(), "session s is already starting\n");
  assertEquals(await pods(mem), [pod.metadata!.name]);
});

Deno.test("resume (in memory): a pod that failed or ended by itself is deleted and waited out; the recorded settings come back", async () => {
  for (const phase of ["Failed", "Succeeded"]) {
    using mem = new MemCluster();
    const { pod, spec } = await session(mem, "s");
    // the Job's controller completes it (an idle stop) or fails it (no retry left): resume makes it anew
    if (phase === "Failed") {
      await mem.patchObject("jobs", mem.namespace, "kodama-s", { spec: { backoffLimit: 0 } });
    }
    mem.setPodStatus(pod.metadata!.name!, { phase });
    await new Promise((r) => setTimeout(r, 0));
    const io = sinks();
    const got = await clearForResume(mem, mem.namespace, "s", io.err);
    assertEquals(await pods(mem), [], phase);
    assertEquals(got?.name, "s");
    assertEquals(got?.image, spec.image);
    assertEquals(got?.namespace, mem.namespace);
    assertEquals(io.err.text(), "", phase);
  }
});

Deno.test("resume (in memory): a stopped session's settings come from its volumes; none recorded is exit 1", async () => {
  using mem = new MemCluster();
  const { pod, spec } = await session(mem, "s");
  await mem.deleteObject("jobs", mem.namespace, "kodama-s");
  await mem.deleteObject("pods", mem.namespace, pod.metadata!.name!);
  const got = await clearForResume(mem, mem.namespace, "s", sinks().err);
  assertEquals(got, { ...spec, namespace: mem.namespace });
  // volumes a person made by hand, with kodama's labels but not its record
  for (const c of await claims(mem)) {
    await mem.patchObject("persistentvolumeclaims", mem.namespace, c!, {
      metadata: { annotations: { [ANNOTATION_SPEC]: null } },
    });
  }
  const e = await failure(clearForResume(mem, mem.namespace, "s", sinks().err));
  assertEquals(e.code, ExitCode.FAILED);
  assertEquals(e.message, "cannot resume session s: its volumes carry no recorded settings");
});
