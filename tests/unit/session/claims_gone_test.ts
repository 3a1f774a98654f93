/**
 * `delete --purge` waits for the session's claims to go (src/session/lifecycle/lifecycle.ts `claimsGone`): a claim a
 * pod still mounts stays Terminating (kubernetes.io/pvc-protection) until that pod is gone. In-process, on
 * the in-memory cluster and a manual clock: the look every 500 ms and the give-up at the limit are exact.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { claimsGone } from "../../../src/session/lifecycle/lifecycle.ts";
import { LABEL_SESSION } from "../../../src/session/spec/names.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { ManualClock, settle } from "../../_clock.ts";

/** A session claim mounted by a running pod, then deleted: Terminating while the pod lives. */
async function claimInUse(mem: MemCluster, claim: string, pod: string) {
  await mem.createObject<V1PersistentVolumeClaim>("persistentvolumeclaims", "default", {
    metadata: { name: claim, labels: { [LABEL_SESSION]: "s" } },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  });
  await mem.createObject("pods", "default", {
    metadata: { name: pod },
    spec: {
      containers: [{ name: "main", image: "busybox" }],
      volumes: [{ name: "home", persistentVolumeClaim: { claimName: claim } }],
    },
  });
  await mem.deleteObject("persistentvolumeclaims", "default", claim);
  const c = await mem.getObject<V1PersistentVolumeClaim>("persistentvolumeclaims", "default", claim);
  assert(c.metadata?.deletionTimestamp, "Terminating while its pod mounts it");
}

/** An error sink whose first line can be awaited. */
function errSink() {
  const lines: string[] = [];
  const first = Promise.withResolvers<void>();
  return {
    lines,
    first: first.promise,
    write: (s: string) => {
      lines.push(s.trimEnd());
      first.resolve();
    },
  };
}

Deno.test("claimsGone: waits while a pod holds the claim, and returns at the first look after it is released", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  await claimInUse(mem, "kodama-s-home", "user");
  const err = errSink();
  let done = false;
  const gone = claimsGone(mem, "default", ["kodama-s-home"], { err, clock }).then(() => done = true);
  await err.first;
  assertEquals(err.lines, ["waiting for kodama-s-home to be released (the pod is stopping)…"]);
  await clock.advance(5_000);
  assertEquals(done, false, "still held by the pod");
  await mem.deleteObject("pods", "default", "user", { gracePeriodSeconds: 0 });
  assertEquals(await mem.findObject("persistentvolumeclaims", "default", "kodama-s-home"), undefined);
  await clock.advance(499);
  assertEquals(done, false, "not before the next look");
  await clock.advance(1);
  await gone;
  assertEquals(err.lines.length, 1, "said once");
});

Deno.test("claimsGone: a claim still held at the limit is named, and the delete goes on", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  await claimInUse(mem, "kodama-s-home", "user");
  const err = errSink();
  let done = false;
  const gone = claimsGone(mem, "default", ["kodama-s-home", "kodama-s-other"], {
    err,
    clock,
    timeoutMs: 10_000,
  })
    .then(() => done = true);
  await err.first;
  await clock.advance(10_000);
  await settle();
  assertEquals(done, false, "at the limit exactly it looks once more");
  await clock.advance(500);
  await gone;
  assertEquals(err.lines.at(-1), "still Terminating: kodama-s-home (they go once nothing uses them)");
});
