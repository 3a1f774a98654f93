/**
 * session.protectRunning (issue 80): the budget `agent run` makes, the run whose end removes it, and the
 * expired ones `kodama gc` removes. The API server's side (a 429 for an eviction the budget refuses) is the
 * test server's (tests/cluster/); here the objects kodama writes, on a store of objects by name.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import type { KubeObjects } from "../../../src/kube/seam.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { memorySink } from "../../../src/base/sink.ts";
import {
  ANNOTATION_PROTECT_RUN,
  ANNOTATION_PROTECT_UNTIL,
  gcBudgets,
  protectRun,
  unprotectSession,
} from "../../../src/session/lifecycle/protect.ts";

type Obj = { metadata: { name: string; namespace?: string; annotations?: Record<string, string | null> } };

/** Budgets by name, with the API server's answers for a create of an existing one and a missing one. */
function store(): KubeObjects & { items: Map<string, Obj> } {
  const items = new Map<string, Obj>();
  const missing = (n: string) => new KodamaError(`poddisruptionbudgets "${n}" not found`, ExitCode.NOT_FOUND);
  return {
    namespace: "dev",
    items,
    getObject: <T>(_r: unknown, _ns: string, n: string) =>
      items.has(n) ? Promise.resolve(items.get(n) as T) : Promise.reject(missing(n)),
    findObject: <T>(_r: unknown, _ns: string, n: string) => Promise.resolve(items.get(n) as T | undefined),
    listObjects: <T>() => Promise.resolve({ items: [...items.values()] as T[] }),
    createObject: <T>(_r: unknown, _ns: string, body: T) => {
      const o = body as Obj;
      if (items.has(o.metadata.name)) {
        return Promise.reject(new KodamaError(`"${o.metadata.name}" already exists`, ExitCode.USAGE));
      }
      items.set(o.metadata.name, structuredClone(o));
      return Promise.resolve(body);
    },
    patchObject: <T>(_r: unknown, _ns: string, n: string, p: unknown) => {
      const o = items.get(n);
      if (!o) return Promise.reject(missing(n));
      const a = { ...o.metadata.annotations, ...(p as Obj).metadata.annotations };
      for (const k of Object.keys(a)) if (a[k] === null) delete a[k];
      o.metadata.annotations = a;
      return Promise.resolve(o as T);
    },
    deleteObject: (_r: unknown, _ns: string, n: string) => Promise.resolve(items.delete(n)),
    watchObjects: () => Promise.resolve(),
  } as unknown as KubeObjects & { items: Map<string, Obj> };
}

const cfg = (on: boolean) =>
  ({ session: { protectRunning: on, protectFor: "6h" } }) as Parameters<
    typeof protectRun
  >[3];

Deno.test("protectRun: off by default; on, a budget until the run's start + protectFor, moved on by the next run", async () => {
  const k = store();
  const err = memorySink();
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  await protectRun(k, "dev", "s", cfg(false), "1", err, t0);
  assertEquals(k.items.size, 0);
  await protectRun(k, "dev", "s", cfg(true), "1", err, t0);
  const b = k.items.get("kodama-protect-s")!;
  assertEquals(b.metadata.annotations?.[ANNOTATION_PROTECT_UNTIL], "2026-01-01T06:00:00.000Z");
  assertEquals(b.metadata.annotations?.[ANNOTATION_PROTECT_RUN], "1");
  await protectRun(k, "dev", "s", cfg(true), "2", err, t0 + 3_600_000);
  const c = k.items.get("kodama-protect-s")!;
  assertEquals(c.metadata.annotations?.[ANNOTATION_PROTECT_RUN], "2");
  assertEquals(c.metadata.annotations?.[ANNOTATION_PROTECT_UNTIL], "2026-01-01T07:00:00.000Z");
  assertEquals(err.text(), "");
});

Deno.test("unprotectSession: the end of an older run keeps a newer run's budget; its own run's end removes it", async () => {
  const k = store();
  await protectRun(k, "dev", "s", cfg(true), "2", memorySink());
  assertEquals(await unprotectSession(k, "dev", "s", { run: "1" }), false);
  assert(k.items.has("kodama-protect-s"));
  assertEquals(await unprotectSession(k, "dev", "s", { run: "2" }), true);
  assert(!k.items.has("kodama-protect-s"));
  // stop and delete: whatever run
  await protectRun(k, "dev", "s", cfg(true), "3", memorySink());
  assertEquals(await unprotectSession(k, "dev", "s"), true);
});

Deno.test("gcBudgets: only the budgets whose protect-until has passed", async () => {
  const k = store();
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  await protectRun(k, "dev", "old", cfg(true), "1", memorySink(), t0);
  await protectRun(k, "dev", "new", cfg(true), "1", memorySink(), t0 + 5 * 3_600_000);
  const gone = await gcBudgets(k, "dev", t0 + 7 * 3_600_000);
  assertEquals(gone, ["dev/kodama-protect-old"]);
  assertEquals([...k.items.keys()], ["kodama-protect-new"]);
});

Deno.test("protectRun: a user who may not make budgets gets a warning, and the run goes on", async () => {
  const k = store();
  k.createObject = () =>
    Promise.reject(new KodamaError("forbidden: poddisruptionbudgets", ExitCode.FORBIDDEN));
  const err = memorySink();
  await protectRun(k, "dev", "s", cfg(true), "1", err);
  assert(err.text().includes("could not make the PodDisruptionBudget kodama-protect-s"), err.text());
});
