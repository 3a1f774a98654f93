/**
 * `waitForSession` in-process: what `start` and `resume` wait for, decided from the watch of the session's
 * pod and claims on the in-memory cluster (tests/cluster/memcluster.ts), a status at a time as the kubelet
 * would report it. The same waits through the real program: tests/cli/session_test.ts (and its neighbours) on
 * the HTTPS test server and a real cluster.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { waitForSession } from "../../../src/session/lifecycle/wait.ts";
import { CONTAINER } from "../../../src/session/spec/spec.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { session } from "../../_session_memory.ts";

/**
 * A wait that only the watch can end (its timeout and event reads are far away). `reported(re)` resolves when
 * the wait has reported waiting for something matching `re`, and fails if the wait ends first.
 */
function waiting(mem: MemCluster, name: string) {
  const seen: string[] = [];
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const ac = new AbortController();
  const result = waitForSession(mem, mem.namespace, name, {
    timeoutMs: 600_000,
    eventsEveryMs: 600_000,
    signal: ac.signal,
    onProgress: (_reached, why) => {
      seen.push(why ?? "-");
      for (const w of waiters.filter((w) => w.re.test(why ?? ""))) w.resolve();
    },
  });
  const reported = (re: RegExp) =>
    Promise.race([
      seen.some((s) => re.test(s))
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ re, resolve })),
      result.then((r) => {
        throw new Error(
          `the wait ended ${r.outcome} (${r.message}) before it reported ${re}: ${seen.join(" | ")}`,
        );
      }),
    ]);
  return { result, reported, ac };
}

/** The session's pod, as the kubelet reports it while its container waits for `reason`. */
function containerWaiting(mem: MemCluster, pod: string, reason: string, message = "") {
  mem.setPodStatus(pod, {
    phase: "Pending",
    conditions: [{ type: "PodScheduled", status: "True" }],
    containerStatuses: [{
      name: CONTAINER,
      image: "img",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: { waiting: { reason, message } },
    }],
  });
}

Deno.test("waitForSession (in memory): waiting for the image, then ready when the kubelet says so", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  const name = pod.metadata!.name!;
  containerWaiting(mem, name, "ContainerCreating");
  const w = waiting(mem, "s");
  await w.reported(/container .*: ContainerCreating/);
  mem.podReady(name, true);
  const r = await w.result;
  assertEquals(r.outcome, "ready");
  assertEquals(r.pod?.metadata?.name, name);
});

Deno.test("waitForSession (in memory): an image that cannot be pulled fails the wait at the back-off, not the first try", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  const name = pod.metadata!.name!;
  const w = waiting(mem, "s");
  containerWaiting(mem, name, "ErrImagePull", 'pull access denied for "nope"');
  await w.reported(/ErrImagePull/); // the first failed pull: the kubelet will try again
  containerWaiting(mem, name, "ImagePullBackOff", 'Back-off pulling image "nope"');
  const r = await w.result;
  assertEquals(r.outcome, "failed");
  assertStringIncludes(r.message ?? "", "ImagePullBackOff");
  assertStringIncludes(r.message ?? "", "nope");
});

Deno.test("waitForSession (in memory): Ctrl-C ends the wait as interrupted; a pod being deleted fails it", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  containerWaiting(mem, pod.metadata!.name!, "ContainerCreating");
  const w = waiting(mem, "s");
  await w.reported(/ContainerCreating/);
  w.ac.abort();
  assertEquals((await w.result).outcome, "interrupted");

  const again = waiting(mem, "s");
  await again.reported(/ContainerCreating/);
  await mem.deleteObject("pods", mem.namespace, pod.metadata!.name!, { gracePeriodSeconds: 30 });
  const r = await again.result;
  assertEquals(r.outcome, "failed", JSON.stringify(r));
  assertStringIncludes(r.message ?? "", "deleted");
});
