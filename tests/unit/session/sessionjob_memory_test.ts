/**
 * Issue 80 in-process, on the in-memory cluster: `stop` tells the pod it is a stop (the stop mark on the
 * home volume, naming the pod) before the Job goes; a legacy bare pod is said plainly and adopted once
 * stopped; a shared session found on a pod its shares do not name has them renewed, and a teammate whose
 * share names a replaced pod is told so in one line (exit 4).
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { clearForResume, stopSession } from "../../../src/session/lifecycle/lifecycle.ts";
import { STOP_MARK } from "../../../src/session/lifecycle/workload.ts";
import { findSession } from "../../../src/session/state/cluster.ts";
import { renewShares, shareObjects, shareRules } from "../../../src/session/access/share.ts";
import { ANNOTATION_SHARED_POD, LABEL_SESSION } from "../../../src/session/spec/names.ts";
import { AGENT_HOME, CONTAINER } from "../../../src/session/spec/spec.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { deletedAndStarting, killingEvent, session } from "../../_session_memory.ts";

const sinks = () => ({ out: memorySink(), err: memorySink() });
const podNames = async (mem: MemCluster) =>
  (await mem.listObjects<V1Pod>("pods", mem.namespace, { labelSelector: LABEL_SESSION })).items
    .map((p) => p.metadata?.name);

Deno.test("stop (in memory): the pod gets the stop mark naming it, then the Job and its pod go", async () => {
  using mem = new MemCluster();
  const home = Deno.makeTempDirSync({ prefix: "kodama-sessjob-home-" });
  try {
    const { pod } = await session(mem, "s");
    const mark = mem.podPath(pod.metadata!.name!, CONTAINER, `${AGENT_HOME}/${STOP_MARK}`);
    assertEquals(await stopSession(mem, mem.namespace, "s", { wait: true, ...sinks(), home }), ExitCode.OK);
    const text = Deno.readTextFileSync(mark);
    assert(text.includes(`pod=${pod.metadata!.uid}\n`), text);
    assert(/\nat=\d{4}-\d\d-\d\dT/.test(text), text);
    assertEquals(await mem.findObject("jobs", mem.namespace, "kodama-s"), undefined);
    assertEquals(await podNames(mem), []);
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});

/** A bare pod `kodama-NAME` as an older kodama made it (no Job owns it). */
async function legacy(mem: MemCluster, name = "s"): Promise<V1Pod> {
  const { pod } = await session(mem, name);
  await mem.deleteObject("jobs", mem.namespace, `kodama-${name}`);
  await mem.deleteObject("pods", mem.namespace, pod.metadata!.name!);
  const { ownerReferences: _, ...meta } = pod.metadata!;
  const bare = await mem.createObject<V1Pod>("pods", mem.namespace, {
    ...pod,
    metadata: { ...meta, name: `kodama-${name}`, uid: undefined, resourceVersion: undefined },
    status: undefined,
  });
  mem.setPodStatus(bare.metadata!.name!, {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
  });
  return bare;
}

Deno.test("legacy (in memory): a running bare pod is said plainly; a stopped one is removed for the Job", async () => {
  using mem = new MemCluster();
  const bare = await legacy(mem);
  const io = sinks();
  assertEquals(await clearForResume(mem, mem.namespace, "s", io.err), undefined);
  assert(io.err.text().includes("runs on a bare pod from an older kodama"), io.err.text());
  assert(io.err.text().includes("kodama stop s && kodama resume s"), io.err.text());
  // found by its labels like any pod
  assertEquals(
    (await findSession(mem, mem.namespace, "s", { observe: false })).view?.pod?.metadata?.name,
    "kodama-s",
  );
  // ended by itself (an idle stop): resume removes it, and makes the Job (the caller creates it)
  mem.setPodStatus(bare.metadata!.name!, { phase: "Succeeded" });
  const got = await clearForResume(mem, mem.namespace, "s", sinks().err);
  assertEquals(got?.name, "s");
  assertEquals(await podNames(mem), []);
});

Deno.test("shares (in memory): a session found on another pod has its Roles and record renewed", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  const old = pod.metadata!.name!;
  const subject = { kind: "User" as const, name: "bob" };
  const { role } = shareObjects(
    "s",
    mem.namespace,
    subject,
    shareRules({ pod: old, job: "kodama-s", pvcs: ["kodama-workspace-s"] }, false),
    false,
  );
  await mem.createObject("roles", mem.namespace, role);
  const pvcs =
    (await mem.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", mem.namespace)).items;
  await renewShares(mem, mem.namespace, "s", old, pvcs);
  const ws = await mem.getObject<V1PersistentVolumeClaim>(
    "persistentvolumeclaims",
    mem.namespace,
    "kodama-workspace-s",
  );
  assertEquals(ws.metadata?.annotations?.[ANNOTATION_SHARED_POD], old);
  // the cluster replaces the pod: a new name
  await mem.deleteObject("pods", mem.namespace, old);
  const fresh = await mem.createObject<V1Pod>("pods", mem.namespace, {
    ...pod,
    metadata: { ...pod.metadata!, name: "kodama-s-newpd", uid: undefined, resourceVersion: undefined },
    status: undefined,
  });
  mem.setPodStatus(fresh.metadata!.name!, {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
  });
  await findSession(mem, mem.namespace, "s", { observe: false });
  const r = await mem.getObject<{ rules: { resources: string[]; resourceNames?: string[] }[] }>(
    "roles",
    mem.namespace,
    role.metadata!.name!,
  );
  const named = r.rules.filter((x) => x.resources.some((y) => y.startsWith("pods"))).flatMap((x) =>
    x.resourceNames ?? []
  );
  assert(named.length > 0 && named.every((n) => n === "kodama-s-newpd"), JSON.stringify(r.rules));
  const after = await mem.getObject<V1PersistentVolumeClaim>(
    "persistentvolumeclaims",
    mem.namespace,
    "kodama-workspace-s",
  );
  assertEquals(after.metadata?.annotations?.[ANNOTATION_SHARED_POD], "kodama-s-newpd");
});

/**
 * The in-memory cluster as a teammate with a share's Role sees it: lists refused, GETs only of the names
 * `allowed` (others 403, as RBAC's resourceNames answer).
 */
function teammate(mem: MemCluster, allowed: Set<string>): MemCluster {
  const deny = (what: string) => new KodamaError(`forbidden: ${what}`, ExitCode.FORBIDDEN);
  return new Proxy(mem, {
    get(t, p, r) {
      if (p === "listObjects") return (res: string) => Promise.reject(deny(`list ${res}`));
      if (p === "getObject" || p === "findObject") {
        return (res: string, ns: string, name: string) =>
          allowed.has(`${res}/${name}`)
            ? (t[p] as (a: string, b: string, c: string) => Promise<unknown>).call(t, res, ns, name)
            : Promise.reject(deny(`get ${res} ${name}`));
      }
      const v = Reflect.get(t, p, r);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

Deno.test("shares (in memory): a teammate whose share names a replaced pod is told so in one line, exit 4", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  const old = pod.metadata!.name!;
  const pvcs =
    (await mem.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", mem.namespace)).items;
  await renewShares(mem, mem.namespace, "s", old, pvcs);
  const allowed = new Set([
    `pods/${old}`,
    "jobs/kodama-s",
    "persistentvolumeclaims/kodama-workspace-s",
    "persistentvolumeclaims/kodama-claude-home-s",
  ]);
  // before the replacement: the teammate finds the pod by the recorded name
  const seen = await findSession(teammate(mem, allowed), mem.namespace, "s", { observe: false });
  assertEquals(seen.view?.pod?.metadata?.name, old);
  // replaced (the old one gone, a new one the share does not name): one line saying so, exit 4
  await mem.deleteObject("pods", mem.namespace, old);
  await mem.createObject<V1Pod>("pods", mem.namespace, {
    ...pod,
    metadata: { ...pod.metadata!, name: "kodama-s-newpd", uid: undefined, resourceVersion: undefined },
    status: undefined,
  });
  const e = await assertRejects(() =>
    findSession(teammate(mem, allowed), mem.namespace, "s", { observe: false })
  );
  assert(e instanceof KodamaError);
  assertEquals(e.code, ExitCode.FORBIDDEN);
  assert(e.message.includes("its pod was replaced"), e.message);
  assert(!e.message.includes("\n"), e.message);
  assert(e.hint?.includes("kodama share s"), e.hint);
});

Deno.test("shares (in memory): shared while stopped, the share names no pod; the first look at it running names it", async () => {
  using mem = new MemCluster();
  const { pod } = await session(mem, "s");
  const subject = { kind: "User" as const, name: "bob" };
  const { role } = shareObjects(
    "s",
    mem.namespace,
    subject,
    shareRules({ job: "kodama-s", pvcs: ["kodama-workspace-s"] }, false),
    false,
  );
  assert(!JSON.stringify(role.rules).includes("pods"), JSON.stringify(role.rules));
  await mem.createObject("roles", mem.namespace, role);
  const pvcs =
    (await mem.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", mem.namespace)).items;
  await renewShares(mem, mem.namespace, "s", undefined, pvcs);
  await findSession(mem, mem.namespace, "s", { observe: false });
  const r = await mem.getObject<{ rules: { resources: string[]; resourceNames?: string[] }[] }>(
    "roles",
    mem.namespace,
    role.metadata!.name!,
  );
  const named = r.rules.filter((x) => x.resources.includes("pods/exec")).flatMap((x) =>
    x.resourceNames ?? []
  );
  assertEquals(named, [pod.metadata!.name!]);
});

Deno.test("find (in memory): a pod starting after `kubectl delete --wait` took the last is Restarting", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const { pod } = await session(mem, "s");
  const next = await deletedAndStarting(mem, pod, "s");
  const { view } = await findSession(mem, mem.namespace, "s", { observe: false });
  assertEquals(view?.pod?.metadata?.name, next);
  assertEquals(view?.restart?.cause, "deleted");
  assert(view?.status === "Starting" || view?.status === "Pending", view?.status);
});

Deno.test("find (in memory): a young Job's evicted pod gone, its replacement not made yet: Restarting, not Stopped", async () => {
  using mem = new MemCluster({ controllers: { backoffBaseMs: 0 } });
  const { pod } = await session(mem, "s");
  // the Job controller has not made the replacement yet (it is about to): the session has no pod at all
  mem.api.controllers.close();
  await mem.api.evict(mem.namespace, pod.metadata!.name!, {
    apiVersion: "policy/v1",
    kind: "Eviction",
    metadata: { name: pod.metadata!.name, namespace: mem.namespace },
  });
  const gone = async () =>
    !(await mem.listObjects<V1Pod>("pods", mem.namespace, { labelSelector: `${LABEL_SESSION}=s` })).items
      .length;
  for (let i = 0; i < 500 && !await gone(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(await gone(), "the evicted pod is still listed");
  await killingEvent(mem, pod); // the kubelet's part (there is none here)
  const { view } = await findSession(mem, mem.namespace, "s", { observe: false });
  assertEquals(view?.pod, undefined);
  assert(view?.restart, `no restart seen: ${view?.status} ${view?.reason ?? ""}`);
  assertEquals(view?.status, "Pending");
});
