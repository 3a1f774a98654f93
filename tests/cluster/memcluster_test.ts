/**
 * The in-memory cluster keeps the API's semantics (resourceVersion, watch replay, 410 Gone, conflicts,
 * generateName, finalizers) and throws what `Kube` throws for the same answer — checked side by side with
 * the HTTPS test server, so a feature test against it means what the same test against a server would.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { Kube } from "../../src/kube/client.ts";
import type { KubeObjects } from "../../src/kube/seam.ts";
import { ExitCode, KodamaError } from "../../src/base/errors.ts";
import { MemCluster } from "./memcluster.ts";
import { clusterTest } from "./fixture.ts";

type Cm = V1ConfigMap;

/** The KodamaError `fn` rejects with (anything else fails). */
async function kodamaRejects(fn: () => Promise<unknown>): Promise<KodamaError> {
  const e = await assertRejects(fn);
  assert(e instanceof KodamaError, `not a KodamaError: ${e}`);
  return e;
}
const cm = (name: string, data: Record<string, string> = {}): Cm => ({ metadata: { name }, data });

Deno.test("memcluster: resourceVersions grow, generateName names, a stale resourceVersion is a conflict", async () => {
  using mem = new MemCluster();
  const a = await mem.createObject<Cm>("configmaps", "default", cm("a", { k: "1" }));
  const b = await mem.patchObject<Cm>("configmaps", "default", "a", { data: { k: "2" } });
  assert(Number(b.metadata!.resourceVersion) > Number(a.metadata!.resourceVersion));
  const g = await mem.createObject<Cm>("configmaps", "default", { metadata: { generateName: "run-" } });
  assertMatch(g.metadata!.name!, /^run-[a-z0-9]{5}$/);
  // someone else's update won: a patch conditional on the old version fails, as kubectl's would
  const stale = await kodamaRejects(() =>
    mem.patchObject("configmaps", "default", "a", {
      metadata: { resourceVersion: a.metadata!.resourceVersion },
    })
  );
  assertEquals(stale.code, ExitCode.FAILED);
  assertMatch(stale.message, /the object has been modified/);
  const del = await kodamaRejects(() =>
    mem.deleteObject("configmaps", "default", "a", { resourceVersion: a.metadata!.resourceVersion })
  );
  assertMatch(del.message, /Precondition failed/);
  assertEquals(await mem.deleteObject("configmaps", "default", "a"), true);
  assertEquals(await mem.deleteObject("configmaps", "default", "a"), false);
  assertEquals(await mem.findObject("configmaps", "default", "a"), undefined);
});

Deno.test("memcluster: finalizers keep a deleted object, marked, until they are removed", async () => {
  using mem = new MemCluster();
  await mem.createObject<Cm>("configmaps", "default", {
    metadata: { name: "f", finalizers: ["kodama.dev/x"] },
  });
  await mem.deleteObject("configmaps", "default", "f");
  const marked = await mem.getObject<Cm>("configmaps", "default", "f");
  assert(marked.metadata?.deletionTimestamp, "marked for deletion");
  await mem.patchObject("configmaps", "default", "f", { metadata: { finalizers: null } });
  assertEquals(await mem.findObject("configmaps", "default", "f"), undefined);
});

Deno.test("memcluster: a watch from a list's resourceVersion replays only what came after; too old is 410", async () => {
  using mem = new MemCluster({ history: 5 });
  await mem.createObject("configmaps", "default", cm("before"));
  const { resourceVersion } = await mem.listObjects<Cm>("configmaps", "default");
  await mem.createObject("configmaps", "default", cm("after"));
  const seen: string[] = [];
  const ac = new AbortController();
  const got = Promise.withResolvers<void>();
  const watch = mem.watchObjects<Cm>("configmaps", "default", {}, (type, o) => {
    seen.push(`${type} ${o.metadata?.name}`);
    if (seen.length === 2) got.resolve();
  }, { signal: ac.signal, from: resourceVersion });
  await mem.whenWatching("configmaps");
  await mem.patchObject("configmaps", "default", "before", { data: { x: "1" } });
  await got.promise;
  ac.abort();
  await watch;
  assertEquals(seen, ["ADDED after", "MODIFIED before"]);
  assertEquals(mem.watching("configmaps"), 0, "the watch is closed when its signal aborts");

  // the history keeps 5 events: from the first list's version, the watch has expired and starts over
  for (let i = 0; i < 6; i++) {
    await mem.patchObject("configmaps", "default", "after", { data: { i: `${i}` } });
  }
  let expired = 0;
  const replay: string[] = [];
  const ac2 = new AbortController();
  const all = Promise.withResolvers<void>();
  const w2 = mem.watchObjects<Cm>("configmaps", "default", {}, (type, o) => {
    replay.push(`${type} ${o.metadata?.name}`);
    if (replay.length === 2) all.resolve();
  }, { signal: ac2.signal, from: resourceVersion, onExpired: () => expired++ });
  await all.promise;
  ac2.abort();
  await w2;
  assertEquals(expired, 1);
  assertEquals(replay.sort(), ["ADDED after", "ADDED before"]);
});

Deno.test("memcluster: a selector follows objects in and out (ADDED / DELETED on a label change)", async () => {
  using mem = new MemCluster();
  mem.addPod("p", { labels: { app: "api" } });
  const seen: string[] = [];
  const ac = new AbortController();
  const three = Promise.withResolvers<void>();
  const w = mem.watchPods("default", { labelSelector: "app=api" }, (type, p) => {
    seen.push(`${type} ${p.metadata?.name}`);
    if (seen.length === 3) three.resolve();
  }, ac.signal);
  await mem.whenWatching("pods");
  await mem.patchObject("pods", "default", "p", { metadata: { labels: { app: "web" } } });
  await mem.patchObject("pods", "default", "p", { metadata: { labels: { app: "api" } } });
  await three.promise;
  ac.abort();
  await w;
  assertEquals(seen, ["ADDED p", "DELETED p", "ADDED p"]);
  const bad = await kodamaRejects(() => mem.listPods("default", { labelSelector: "app in api" }));
  assertEquals(bad.code, ExitCode.USAGE);
});

/** The errors a feature sees for the same mistakes, as [exit code, message]. */
async function mistakes(k: KubeObjects): Promise<[number, string][]> {
  const out: [number, string][] = [];
  const note = async (f: () => Promise<unknown>) => {
    try {
      await f();
      out.push([0, "no error"]);
    } catch (e) {
      const ke = e as KodamaError;
      out.push([ke.code, ke.message]);
    }
  };
  const ns = "default";
  const made = await k.createObject<Cm>("configmaps", ns, cm("seam-parity"));
  await k.patchObject("configmaps", ns, "seam-parity", { data: { a: "1" } });
  await note(() => k.getObject("configmaps", ns, "seam-missing"));
  await note(() => k.createObject("configmaps", ns, cm("seam-parity")));
  await note(() => k.createObject("configmaps", ns, cm("Bad_Name")));
  await note(() =>
    k.patchObject("configmaps", ns, "seam-parity", {
      metadata: { resourceVersion: made.metadata!.resourceVersion },
    })
  );
  await note(() => k.listObjects("configmaps", ns, { labelSelector: "a in b" }));
  await note(() => k.getObject("configmaps", "seam-no-such-namespace", "x"));
  await k.deleteObject("configmaps", ns, "seam-parity");
  return out;
}

clusterTest(
  "memcluster: the same mistakes give the same errors as Kube against the HTTPS server",
  {},
  async (_t, c) => {
    const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
    try {
      using mem = new MemCluster();
      const real = await mistakes(kube);
      assertEquals(await mistakes(mem), real);
      assertEquals(real.map(([code]) => code), [3, 1, 2, 1, 2, 3]);
    } finally {
      kube.close();
    }
  },
);
