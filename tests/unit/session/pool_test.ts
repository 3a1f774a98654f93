import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { configSchema } from "../../../src/config/schema.ts";
import { buildSession } from "../../../src/session/spec/manifests.ts";
import { namesOf, resolveSpec } from "../../../src/session/spec/spec.ts";
import {
  buildBinderPod,
  buildPoolPVC,
  checkedPoolSize,
  checkedShape,
  pairMatches,
  pairState,
  poolPairs,
  shapeOf,
} from "../../../src/session/volumes/pool.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";

const shape = { workspace: "10Gi", home: "1Gi", storageClass: "" };

function pvc(
  id: string,
  which: "workspace" | "home",
  o: { phase?: string; session?: string; at?: string } = {},
) {
  const c = buildPoolPVC("dev", id, which, shape) as V1PersistentVolumeClaim;
  c.metadata!.creationTimestamp = (o.at ?? "2026-01-01T00:00:00Z") as unknown as Date;
  if (o.session) c.metadata!.labels!["kodama.dev/session"] = o.session;
  c.status = { phase: o.phase ?? "Bound" };
  return c;
}

Deno.test("pool volumes: named by pair, labelled, the class asked for recorded; no session label", () => {
  const c = buildPoolPVC("dev", "abc", "workspace", { ...shape, storageClass: "fast" });
  assertEquals(c.metadata?.name, "kodama-pool-abc-workspace");
  assertEquals(c.metadata?.labels, {
    "app.kubernetes.io/managed-by": "kodama",
    "kodama.dev/pool": "abc",
    "kodama.dev/volume": "workspace",
  });
  assertEquals(c.metadata?.annotations, { "kodama.dev/pool-class": "fast" });
  assertEquals(c.spec?.storageClassName, "fast");
  assertEquals(c.spec?.resources?.requests, { storage: "10Gi" });
  // the cluster's default class: no storageClassName, recorded as ""
  const d = buildPoolPVC("dev", "abc", "home", shape);
  assertEquals(d.spec?.storageClassName, undefined);
  assertEquals(d.metadata?.annotations, { "kodama.dev/pool-class": "" });
  const pod = buildBinderPod("dev", "abc", "busybox:1.36");
  assertEquals(pod.spec?.restartPolicy, "Never");
  assertEquals(pod.spec?.volumes?.map((v) => v.persistentVolumeClaim?.claimName), [
    "kodama-pool-abc-workspace",
    "kodama-pool-abc-home",
  ]);
});

Deno.test("pool pairs: grouped, oldest first, claimed volumes left out, states", () => {
  const pairs = poolPairs([
    pvc("new", "workspace", { at: "2026-01-02T00:00:00Z" }),
    pvc("new", "home", { at: "2026-01-02T00:00:00Z", phase: "Pending" }),
    pvc("old", "home"),
    pvc("old", "workspace"),
    pvc("half", "home"),
    pvc("taken", "workspace", { session: "s1" }),
  ]);
  assertEquals(pairs.map((p) => [p.id, pairState(p)]), [
    ["half", "Incomplete"],
    ["old", "Bound"],
    ["new", "Pending"],
  ]);
  const old = pairs[1];
  assert(pairMatches(old, shape));
  assert(pairMatches(old, { ...shape, workspace: "10240Mi" }), "the same quantity, spelled otherwise");
  assert(!pairMatches(old, { ...shape, workspace: "20Gi" }));
  assert(!pairMatches(old, { ...shape, storageClass: "fast" }));
  assert(!pairMatches(pairs[0], shape), "a half pair never matches");
});

Deno.test("pool: the shape a session asks for; flags checked (exit 2)", () => {
  const cfg = configSchema.parse({});
  const s = resolveSpec({ name: "x", namespace: "dev", storage: "20Gi", storageClass: "fast" }, cfg, {
    envVars: [],
    editorFiles: [],
  });
  assertEquals(shapeOf(s), { workspace: "20Gi", home: "1Gi", storageClass: "fast" });
  assertEquals(checkedShape({ workspace: "20G", home: "1Gi" }).storageClass, "");
  for (const bad of ["-1", "two", "1.5", "", "101"]) {
    const e = assertThrows(() => checkedPoolSize(bad)) as KodamaError;
    assertEquals(e.code, ExitCode.USAGE, bad);
  }
  assertEquals(checkedPoolSize("0"), 0);
  for (
    const bad of [{ workspace: "lots", home: "1Gi" }, { workspace: "1Gi", home: "1Gi", storageClass: "A_B" }]
  ) {
    const e = assertThrows(() => checkedShape(bad)) as KodamaError;
    assertEquals(e.code, ExitCode.USAGE);
  }
});

Deno.test("a session's volumes are the recorded ones: the pod mounts them, every name derives from there", () => {
  const cfg = configSchema.parse({});
  const base = resolveSpec({ name: "demo", namespace: "dev" }, cfg, { envVars: [], editorFiles: [] });
  const s = { ...base, volumes: { workspace: "kodama-pool-abc-workspace", home: "kodama-pool-abc-home" } };
  assertEquals(namesOf(s).workspacePVC, "kodama-pool-abc-workspace");
  assertEquals(namesOf(s).homePVC, "kodama-pool-abc-home");
  assertEquals(namesOf(s).workload, "kodama-demo");
  const o = buildSession(s, { env: {}, editor: {} });
  const claims = o.pod.spec?.volumes?.map((v) => v.persistentVolumeClaim?.claimName).filter(Boolean);
  assertEquals(claims, ["kodama-pool-abc-workspace", "kodama-pool-abc-home"]);
  assertEquals(namesOf(base).workspacePVC, "kodama-workspace-demo");
});
