/**
 * Issue 80, design decision 3: one-shot pods (the CLI cache's install pod, the pool's binder pods, the
 * copy pods) are Jobs. The pure Job (named and labelled as the pod was, its pod the template, disruptions not
 * counted), the pod it is at, and in memory: work whose pod goes starts over in the Job's next pod, a pod
 * the cluster refuses is said at once, and the Job goes with its pods.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { configSchema } from "../../../src/config/schema.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import {
  jobForServer,
  livePod,
  ONE_SHOT_BACKOFF_LIMIT,
  oneShotJob,
  tellingPod,
} from "../../../src/session/spec/oneshot.ts";
import { podWent, withJobPod } from "../../../src/session/lifecycle/oneshot.ts";
import { binderName, buildBinderJob, buildBinderPod } from "../../../src/session/volumes/pool.ts";
import { buildCopyJob, buildCopyPod } from "../../../src/session/volumes/snapshot.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import COPY_WAIT from "../../../src/session/pod/copywait.sh" with { type: "text" };

const spec = resolveSpec({ name: "demo", namespace: "dev" }, configSchema.parse({}), {
  envVars: [],
  editorFiles: [],
  now: new Date("2026-01-01T00:00:00Z"),
});

Deno.test("one-shot Job: the pod as its template, its name and labels kept, disruptions not counted", () => {
  for (
    const [pod, job] of [
      [buildBinderPod("dev", "p1", "busybox"), buildBinderJob("dev", "p1", "busybox")],
      [
        buildCopyPod(spec, {
          name: "kodama-copy-s1",
          write: false,
          node: "n1",
          labels: { "kodama.dev/copy-of": "demo" },
        }),
        buildCopyJob(spec, {
          name: "kodama-copy-s1",
          write: false,
          node: "n1",
          labels: { "kodama.dev/copy-of": "demo" },
        }),
      ],
    ] as const
  ) {
    assertEquals([job.apiVersion, job.kind], ["batch/v1", "Job"]);
    assertEquals(job.metadata?.name, pod.metadata?.name);
    assertEquals(job.metadata?.namespace, "dev");
    // the labels kodama selects by (the pool's, copy-of, managed-by) on the Job and on its pod
    assertEquals(job.metadata?.labels, pod.metadata?.labels);
    assertEquals(job.spec?.template.metadata?.labels, pod.metadata?.labels);
    assertEquals(job.spec?.template.spec, pod.spec);
    assertEquals(job.spec?.template.spec?.restartPolicy, "Never");
    assertEquals(job.spec?.backoffLimit, ONE_SHOT_BACKOFF_LIMIT);
    assertEquals(ONE_SHOT_BACKOFF_LIMIT, 2);
    assertEquals([job.spec?.parallelism, job.spec?.completions], [1, 1]);
    assertEquals(job.spec?.podReplacementPolicy, "Failed");
    assertEquals(job.spec?.podFailurePolicy?.rules, [
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
    ]);
  }
  assertEquals(buildBinderJob("dev", "p1", "busybox").metadata?.name, binderName("p1"));
  // a pod's own deadline becomes the Job's (it would cut each retry short otherwise)
  const timed = buildBinderPod("dev", "p2", "busybox");
  timed.spec!.activeDeadlineSeconds = 600;
  const j = oneShotJob(timed);
  assertEquals(j.spec?.activeDeadlineSeconds, 600);
  assertEquals(j.spec?.template.spec?.activeDeadlineSeconds, undefined);
  assertEquals(oneShotJob(buildBinderPod("dev", "p3", "busybox")).spec?.activeDeadlineSeconds, undefined);
});

Deno.test("one-shot Job: the pod at work is the live newest one; a pod that went is told", () => {
  const pod = (
    name: string,
    at: string,
    o: { phase?: string; deleting?: boolean; disrupted?: boolean } = {},
  ) =>
    ({
      metadata: {
        name,
        creationTimestamp: at,
        ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:09:00Z" } : {}),
      },
      status: {
        phase: o.phase ?? "Running",
        ...(o.disrupted ? { conditions: [{ type: "DisruptionTarget", status: "True" }] } : {}),
      },
    }) as unknown as V1Pod;
  const old = pod("a", "2026-01-01T00:00:00Z", { phase: "Failed" });
  const going = pod("b", "2026-01-01T00:01:00Z", { deleting: true });
  const now = pod("c", "2026-01-01T00:02:00Z", { phase: "Pending" });
  assertEquals(livePod([old, now, going])?.metadata?.name, "c");
  assertEquals(livePod([old, going]), undefined);
  assertEquals(tellingPod([old, going])?.metadata?.name, "a");
  assertEquals(tellingPod([now, old])?.metadata?.name, "c");
  assertEquals(tellingPod([]), undefined);
  for (
    const p of [
      undefined,
      old,
      going,
      pod("d", "x", { disrupted: true }),
      pod("e", "x", { phase: "Succeeded" }),
    ]
  ) {
    assert(podWent(p), JSON.stringify(p));
  }
  assert(!podWent(pod("f", "x")));
});

/** Mark every pod of the Job that is not running yet Running and ready (a kubelet), until stopped. */
function kubelet(mem: MemCluster, job: string): { stop: () => void } {
  let on = true;
  (async () => {
    while (on) {
      const pods = (await mem.listObjects<V1Pod>("pods", mem.namespace, { labelSelector: `job-name=${job}` }))
        .items;
      for (const p of pods) {
        if (!p.status?.phase || p.status.phase === "Pending") {
          if (!p.metadata?.deletionTimestamp) mem.podReady(p.metadata!.name!);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { stop: () => on = false };
}

Deno.test("withJobPod (in memory): work whose pod goes starts over in the Job's next pod; the Job goes after", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const job = buildBinderJob(mem.namespace, "p1", "busybox");
  await mem.createObject<V1Job>("jobs", mem.namespace, job);
  const k = kubelet(mem, job.metadata!.name!);
  const err = memorySink();
  const seen: string[] = [];
  try {
    const out = await withJobPod(mem, mem.namespace, job.metadata!.name!, {
      timeoutMs: 30_000,
      what: "copy",
      onRetry: (p) => err.write(`went: ${p}\n`),
    }, async (pod) => {
      seen.push(pod);
      if (seen.length === 1) {
        // the pod goes mid-way (a lost node), and the work with it
        await mem.deleteObject("pods", mem.namespace, pod, { gracePeriodSeconds: 0 });
        throw new KodamaError("the copy failed: exit 143", ExitCode.FAILED);
      }
      return "done";
    });
    assertEquals(out, "done");
    assertEquals(seen.length, 2);
    assert(seen[0] !== seen[1], seen.join());
    assertEquals(err.text(), `went: ${seen[0]}\n`);
    // a failure of the work itself (its pod still there) is not retried
    const job2 = buildBinderJob(mem.namespace, "p2", "busybox");
    await mem.createObject<V1Job>("jobs", mem.namespace, job2);
    const k2 = kubelet(mem, job2.metadata!.name!);
    let calls = 0;
    await assertRejects(
      () =>
        withJobPod(mem, mem.namespace, job2.metadata!.name!, { timeoutMs: 30_000, what: "copy" }, () => {
          calls++;
          throw new KodamaError("tar: short read", ExitCode.FAILED);
        }),
      "short read",
    );
    k2.stop();
    assertEquals(calls, 1);
  } finally {
    k.stop();
  }
  // the Jobs and their pods are gone
  for (const name of [binderName("p1"), binderName("p2")]) {
    assertEquals(await mem.findObject("jobs", mem.namespace, name), undefined);
  }
  assertEquals(
    (await mem.listObjects<V1Pod>("pods", mem.namespace, { labelSelector: "kodama.dev/pool" })).items.length,
    0,
  );
});

Deno.test("withJobPod (in memory): a pod the namespace's Pod Security refuses is said at once, exit 4", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  await mem.patchObject("namespaces" as never, "", mem.namespace, {
    metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
  });
  const s = { ...spec, namespace: mem.namespace };
  // the copy pod of a session without runAsUser runs as the image's user with root's capabilities
  const job = buildCopyJob(s, { name: "kodama-copy-x", write: true, labels: {} });
  await mem.createObject<V1Job>("jobs", mem.namespace, job);
  let ran = false;
  const e = await assertRejects(
    () =>
      withJobPod(mem, mem.namespace, "kodama-copy-x", { timeoutMs: 20_000, what: "copy" }, () => {
        ran = true;
        return Promise.resolve();
      }),
  ) as KodamaError;
  assertEquals(e.code, ExitCode.FORBIDDEN, e.message);
  assert(e.message.startsWith(`namespace ${mem.namespace} enforces Pod Security restricted: `), e.message);
  assert(!ran);
  assertEquals(await mem.findObject("jobs", mem.namespace, "kodama-copy-x"), undefined);
});

Deno.test("the copy pod's wait ends Failed when it is ended from outside, so its Job makes another pod", async () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    const p = new Deno.Command("dash", { args: ["-c", COPY_WAIT], stdout: "null", stderr: "null" }).spawn();
    // the trap is set before the first sleep: wait until the shell has a child (the sleep)
    const children = () => Deno.readTextFile(`/proc/${p.pid}/task/${p.pid}/children`).catch(() => "");
    while (!(await children()).trim()) await new Promise((r) => setTimeout(r, 20));
    p.kill(signal);
    const r = await p.status;
    // 0 would make the pod Succeeded and the Job Complete with the copy undone
    assertEquals(r.code, 143, signal);
  }
});

Deno.test("jobForServer: the Job fields an older API server does not keep are left out of what --dry-run prints", () => {
  const job = oneShotJob({ metadata: { name: "x", namespace: "dev" }, spec: { containers: [] } });
  const has = (v: string | undefined) => {
    const s = jobForServer(job, v).spec!;
    return [s.podFailurePolicy !== undefined, s.podReplacementPolicy !== undefined];
  };
  assertEquals(has("v1.24.0-alpha.1.0+e5f3f020084e16"), [false, false]);
  assertEquals(has("v1.25.9"), [false, false]);
  assertEquals(has("v1.26.0"), [true, false]);
  assertEquals(has("v1.28.3-eks-1"), [true, false]);
  assertEquals(has("v1.29.0"), [true, true]);
  assertEquals(has("v1.32.0-kodama-test"), [true, true]);
  assertEquals(has("v2.0.0"), [true, true]);
  // unreadable: everything kept
  assertEquals(has(undefined), [true, true]);
  assertEquals(has("unknown"), [true, true]);
  // the Job itself is not changed
  assertEquals(job.spec!.podReplacementPolicy, "Failed");
});
