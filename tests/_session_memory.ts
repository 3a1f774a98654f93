/**
 * A session's pod and claims on the in-memory cluster, as `start` makes them (buildSession), for the session
 * and agent commands tested in-process (tests/unit/session/lifecycle_memory_test.ts, tests/unit/agent/'s
 * status_memory_test and logs_stop_memory_test): the cluster's exec runs the real pod programs against
 * directories that stand for the session's volumes (tests/cluster/memexec.ts).
 */
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import { configSchema } from "../src/config/schema.ts";
import { buildSession } from "../src/session/spec/manifests.ts";
import { AGENT_HOME, CONTAINER, resolveSpec, type SessionSpec } from "../src/session/spec/spec.ts";
import type { MemCluster } from "./cluster/memcluster.ts";

/** A session `start` would make, its pod Running and ready (the kubelet's report); `runs` is its runs dir. */
export async function session(
  mem: MemCluster,
  name = "s",
  /** a replica of a group (`start --replicas`) */
  group?: { name: string; replica: number },
): Promise<{ pod: V1Pod; runs: string; spec: SessionSpec }> {
  const spec = resolveSpec(
    { name, namespace: mem.namespace, ...(group ? { group } : {}) },
    configSchema.parse({}),
    {
      envVars: [],
      editorFiles: [],
      now: new Date(),
    },
  );
  const o = buildSession(spec, { env: {}, editor: {} });
  for (const c of o.pvcs) await mem.createObject("persistentvolumeclaims", mem.namespace, c);
  // the session's Job; the cluster's Job controller makes its pod (a generated name, owned by the Job)
  await mem.createObject<V1Job>("jobs", mem.namespace, o.job);
  let pod: V1Pod | undefined;
  for (let i = 0; i < 100 && !pod; i++) {
    await new Promise((r) => setTimeout(r, 0));
    pod =
      (await mem.listObjects<V1Pod>("pods", mem.namespace, { labelSelector: `kodama.dev/session=${name}` }))
        .items[0];
  }
  if (!pod) throw new Error(`the Job controller made no pod for ${name}`);
  running(mem, pod.metadata!.name!, spec.image);
  return { pod, spec, runs: mem.podPath(pod.metadata!.name!, CONTAINER, `${AGENT_HOME}/.kodama/runs`) };
}

/** A run's directory as the runner leaves it (pid, started, exit, …). */
export function run(runs: string, id: string, files: Record<string, string>): void {
  Deno.mkdirSync(`${runs}/${id}`, { recursive: true });
  for (const [f, text] of Object.entries(files)) Deno.writeTextFileSync(`${runs}/${id}/${f}`, text + "\n");
}

/** Collecting sinks, and the options a command takes with them (`output` for status's -o). */
export function sinks() {
  const out: string[] = [], err: string[] = [];
  return {
    out,
    err,
    o: (output: string) => ({
      output,
      out: { write: (s: string) => void out.push(s) },
      err: { write: (s: string) => void err.push(s) },
    }),
  };
}

/** A fresh KODAMA_HOME for envTest. */
export const home = () => ({ KODAMA_HOME: Deno.makeTempDirSync({ prefix: "kodama-status-home-" }) });

/** A fixture log of a real agent CLI's stream (tests/fixtures/agents). */
export const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./fixtures/agents/${name}.jsonl`, import.meta.url));

/**
 * `kubectl delete pod --wait` of a session's pod, as the cluster answers it: the pod gone from the API, the
 * kubelet's Killing event about it left, and the Job controller's replacement made and scheduled, still
 * starting (Pending). Returns the new pod's name.
 */
export async function deletedAndStarting(mem: MemCluster, pod: V1Pod, session: string): Promise<string> {
  const old = pod.metadata!.name!;
  await mem.deleteObject("pods", mem.namespace, old);
  await killingEvent(mem, pod);
  let next: string | undefined;
  for (let i = 0; i < 200 && !next; i++) {
    await new Promise((r) => setTimeout(r, 0));
    next = (await mem.listObjects<V1Pod>("pods", mem.namespace, {
      labelSelector: `kodama.dev/session=${session}`,
    }))
      .items.map((p) => p.metadata!.name!).find((n) => n !== old);
  }
  if (!next) throw new Error(`the Job controller made no new pod for ${session}`);
  mem.setPodStatus(next, { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }] });
  return next;
}

/** The kubelet's Killing event about a pod it stopped (the in-memory cluster has no kubelet to say it). */
export async function killingEvent(mem: MemCluster, pod: V1Pod): Promise<void> {
  const name = pod.metadata!.name!;
  const at = new Date().toISOString() as unknown as Date;
  await mem.createObject<CoreV1Event>("events", mem.namespace, {
    metadata: { name: `${name}.killing` },
    involvedObject: { kind: "Pod", name, namespace: mem.namespace, uid: pod.metadata!.uid },
    reason: "Killing",
    message: "Stopping container session",
    type: "Normal",
    firstTimestamp: at,
    lastTimestamp: at,
  });
}

/** The kubelet's report of a session pod Running and ready (its one container started now). */
export function running(mem: MemCluster, pod: string, image = "kodama-dev:bookworm"): void {
  const t = new Date().toISOString();
  mem.setPodStatus(pod, {
    phase: "Running",
    conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({
      type,
      status: "True",
      lastTransitionTime: t,
    })),
    containerStatuses: [{
      name: CONTAINER,
      image,
      imageID: "",
      ready: true,
      restartCount: 0,
      state: { running: { startedAt: t } },
    }],
  });
}
