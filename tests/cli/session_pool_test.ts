/**
 * The warm volume pool: `pool ensure` makes Bound pairs ahead of time, a `start` takes one (its pod mounts
 * volumes that existed before the start ran), records their names in the session's settings and state (so
 * stop/resume/delete find them there), and refills the pool in the background; `pool drain` deletes only
 * unclaimed pool volumes; concurrent claims never share a pair; bad input exits 2. On the test server the
 * class has a provisioner delay, so the pool is what makes the start quick; on a real cluster the default
 * class is used.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, onRealCluster } from "../cluster/harness.ts";
import { podOf, purge, SESSION_IMAGE, type SessionWorld, withSessionWorld } from "./_session.ts";
import { Kube } from "../../src/kube/client.ts";
import { claimPoolPair, poolEnsure } from "../../src/session/volumes/pool.ts";
import type { SessionSpec } from "../../src/session/spec/spec.ts";
import { memorySink } from "../../src/base/sink.ts";

const CLASS = "pool-slow";
const classes = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: ${CLASS} }
provisioner: kodama.dev/test-hostpath
parameters: { provisionDelay: "3s" }
`;

/** The class flags: a slow class on the test server, the cluster's default on a real one. */
const classArgs = onRealCluster ? [] : ["--storage-class", CLASS];
const sizes = ["--workspace-size", "1Gi", "--home-size", "1Gi"];

interface PoolJson {
  pairs: {
    pair: string;
    status: string;
    workspace: { name: string } | null;
    home: { name: string } | null;
  }[];
}

async function poolJson(w: SessionWorld): Promise<PoolJson> {
  const r = await w.k(["pool", "list", "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/**
 * Poll (kubectl: cheap on a loaded machine) until the pool holds `n` Bound pairs — the background refill —
 * with a generous deadline; returns the unclaimed pool volumes' names.
 */
async function poolSettles(w: SessionWorld, n: number): Promise<string[]> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const r = await w.kc([
      "get",
      "pvc",
      "-l",
      "kodama.dev/pool,!kodama.dev/session",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name} {.status.phase}{"\\n"}{end}',
    ]);
    const rows = r.stdout.trim().split("\n").filter(Boolean).map((l) => l.split(" "));
    if (rows.length === 2 * n && rows.every(([, phase]) => phase === "Bound")) return rows.map(([v]) => v);
    if (Date.now() > deadline) throw new Error(`the pool did not settle at ${n} pairs: ${r.stdout}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function pvcUid(w: SessionWorld, name: string): Promise<string> {
  const r = await w.kc(["get", "pvc", name, "-o", "jsonpath={.metadata.uid}"]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout;
}

/** `start NAME` with the pool's sizes and class. */
const startArgs = (name: string) => [
  "start",
  name,
  "--image",
  SESSION_IMAGE,
  "--storage",
  "1Gi",
  ...classArgs,
  "--no-sync",
];
const ensure = (
  n: number,
) => ["pool", "ensure", "--size", String(n), ...sizes, ...classArgs, "--image", SESSION_IMAGE];

withSessionWorld(
  "pool: a start takes a Bound pair made before it; stop/resume/delete find it there; drain spares it",
  { timeoutMs: 600_000 },
  async (_t, w) => {
    const name = "pool-a1";
    // this test sizes the pool itself: start says how to refill instead of doing it
    await Deno.writeTextFile(`${w.home}/config.yaml`, "defaults:\n  storage:\n    poolRefill: false\n");
    try {
      if (!onRealCluster) {
        const mk = await kubectl(w.c, ["apply", "-f", "-"], { stdin: classes });
        assertEquals(mk.code, 0, mk.stderr);
      }
      const e = await w.k(ensure(1));
      assertEquals(e.code, 0, e.stderr);
      assertStringIncludes(e.stdout, "pool ready: 1 Bound pair");
      const before = await poolJson(w);
      assertEquals(before.pairs.length, 1);
      const pooled = new Map<string, string>(); // name -> uid, before start ran
      for (const v of [before.pairs[0].workspace!.name, before.pairs[0].home!.name]) {
        pooled.set(v, await pvcUid(w, v));
      }
      // the pair is taken: the pod mounts those very volumes (same uid: they existed before start)
      const s = await w.k(startArgs(name));
      assertEquals(s.code, 0, s.stderr);
      assertMatch(
        s.stderr,
        /took volumes kodama-pool-\S+-workspace, kodama-pool-\S+-home from the warm pool/,
      );
      assertStringIncludes(s.stderr, "the warm pool has a pair less: `kodama -n dev pool ensure --size 1");
      const pod = await w.kc([
        "get",
        "pod",
        await podOf(w, name),
        "-o",
        'jsonpath={range .spec.volumes[*]}{.persistentVolumeClaim.claimName}{"\\n"}{end}',
      ]);
      const claims = pod.stdout.trim().split("\n").filter(Boolean);
      assertEquals(claims.sort(), [...pooled.keys()].sort(), pod.stdout);
      for (const c of claims) {
        assertEquals(await pvcUid(w, c), pooled.get(c), `${c} is the volume pool ensure made`);
      }
      const state = await Deno.readTextFile(`${w.home}/sessions/${name}.yaml`);
      const ws = claims.find((c) => c.endsWith("-workspace"))!;
      const home = claims.find((c) => c.endsWith("-home"))!;
      assertStringIncludes(state, `workspacePVC: ${ws}`);
      assertStringIncludes(state, `claudeHomePVC: ${home}`);
      // the session's files live there across stop and resume (resume reads the names from the settings)
      const wr = await w.k([
        "exec",
        await podOf(w, name),
        "--",
        "sh",
        "-c",
        "echo kept > $KODAMA_WORKSPACE/f",
      ]);
      assertEquals(wr.code, 0, wr.stderr);
      assertEquals((await w.k(["stop", name])).code, 0);
      const rs = await w.k(["resume", name]);
      assertEquals(rs.code, 0, rs.stderr);
      const rd = await w.k(["exec", await podOf(w, name), "--", "sh", "-c", "cat $KODAMA_WORKSPACE/f"]);
      assertEquals(rd.stdout.trim(), "kept", rd.stderr);
      // a new pair, then drain: only the pool's unclaimed volumes go, never the session's
      assertEquals((await w.k(ensure(1))).code, 0);
      // without a terminal, drain asks for --yes as delete asks for --force; nothing goes
      const ask = await w.k(["pool", "drain"]);
      assertEquals(ask.code, 2, ask.stderr);
      assertStringIncludes(ask.stderr, "add --yes");
      assertEquals((await poolJson(w)).pairs.length, 1);
      const d = await w.k(["pool", "drain", "--yes"]);
      assertEquals(d.code, 0, d.stderr);
      assertStringIncludes(d.stdout, "deleted 2 pool volumes");
      assertEquals((await poolJson(w)).pairs.length, 0);
      for (const c of claims) assertEquals(await pvcUid(w, c), pooled.get(c), `drain spared ${c}`);
      // delete --purge finds the pooled volumes from the settings and removes them
      const del = await w.k(["delete", name, "--force", "--purge"]);
      assertEquals(del.code, 0, del.stderr);
      assertStringIncludes(del.stdout + del.stderr, `persistentvolumeclaim/${ws}`);
      const gone = await w.kc(["get", "pvc", ws, "--ignore-not-found", "-o", "name"]);
      assertEquals(gone.stdout.trim(), "");
    } finally {
      await purge(w, name);
      await w.k(["pool", "drain", "--yes"]).catch(() => {});
    }
  },
);

withSessionWorld(
  "pool: start refills the pool in the background with new volumes (a taken one never goes back)",
  { timeoutMs: 600_000 },
  async (_t, w) => {
    const name = "pool-b1";
    try {
      if (!onRealCluster) {
        const mk = await kubectl(w.c, ["apply", "-f", "-"], { stdin: classes });
        assertEquals(mk.code, 0, mk.stderr);
      }
      assertEquals((await w.k(ensure(1))).code, 0);
      const s = await w.k(startArgs(name));
      assertEquals(s.code, 0, s.stderr);
      assertStringIncludes(s.stderr, "refilling the warm pool to 1 pair in the background");
      const taken = /took volumes (\S+), (\S+) from/.exec(s.stderr)!.slice(1);
      const after = await poolSettles(w, 1);
      assert(!after.some((v) => taken.includes(v)), `${after} holds a taken volume`);
    } finally {
      await purge(w, name);
      await w.k(["pool", "drain", "--yes"]).catch(() => {});
    }
  },
);

withSessionWorld("pool: concurrent claims never share a pair; a start without a match makes its own", {
  timeoutMs: 300_000,
  ignore: onRealCluster,
}, async (_t, w) => {
  const kube = await Kube.connect({ kubeconfig: w.c.kubeconfig, context: "dev" });
  const shape = { workspace: "1Gi", home: "1Gi", storageClass: "" };
  const sink = memorySink();
  const code = await poolEnsure(kube, "dev", {
    size: 3,
    shape,
    image: SESSION_IMAGE,
    timeoutMs: 60_000,
    out: sink,
    err: sink,
  });
  assertEquals(code, 0);
  const spec = (name: string) =>
    ({
      v: 1,
      name,
      namespace: "dev",
      image: SESSION_IMAGE,
      storage: { workspace: "1Gi", home: "1Gi" },
    }) as unknown as SessionSpec;
  // eight claimers at once for three pairs: three get one each, five get none, no pair twice
  const got = await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) =>
        claimPoolPair(kube, spec(`pool-c${i}`), { "kodama.dev/session": `pool-c${i}` }, (volumes) => ({
          ...spec(`pool-c${i}`),
          volumes,
        })),
    ),
  );
  const won = got.filter((g) => g !== undefined);
  assertEquals(won.length, 3, JSON.stringify(got.map((g) => g?.id)));
  assertEquals(new Set(won.map((g) => g!.id)).size, 3);
  assert(won.every((g) => g!.home), "each winner has its pair's home volume too");
  // each volume carries its claimer's session label, not another's
  for (const [i, g] of got.entries()) {
    if (!g) continue;
    assertEquals(g.workspace.metadata?.labels?.["kodama.dev/session"], `pool-c${i}`);
    assertEquals(g.home!.metadata?.labels?.["kodama.dev/session"], `pool-c${i}`);
    assertEquals(g.workspace.metadata?.labels?.["kodama.dev/pool"], undefined);
  }
  // a size the pool does not hold: nothing taken
  const other = await claimPoolPair(
    kube,
    { ...spec("pool-x"), storage: { workspace: "2Gi", home: "1Gi" } },
    {},
    (volumes) => ({ ...spec("pool-x"), volumes }),
  );
  assertEquals(other, undefined);
  // the pool is empty now: a start makes its own volumes, named after the session
  const s = await w.k(["start", "pool-own", "--image", SESSION_IMAGE, "--no-sync", "--storage", "1Gi"]);
  try {
    assertEquals(s.code, 0, s.stderr);
    assert(!s.stderr.includes("warm pool"), s.stderr);
    const pvc = await w.kc(["get", "pvc", "kodama-workspace-pool-own", "-o", "name"]);
    assertEquals(pvc.code, 0, pvc.stderr);
  } finally {
    await purge(w, "pool-own");
  }
});

withSessionWorld("pool: bad input exits 2 with one line", {}, async (_t, w) => {
  for (
    const args of [
      ["pool", "ensure", "--size", "-1"],
      ["pool", "ensure", "--size", "two"],
      ["pool", "ensure", "--size", "1000"],
      ["pool", "ensure", "--size", "1", "--workspace-size", "lots"],
      ["pool", "ensure", "--size", "1", "--storage-class", "Bad_Class"],
      ["pool", "ensure"],
    ]
  ) {
    const r = await w.k(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
    assert(!/\bat .*\.ts:\d+/.test(r.stderr), `no stack trace: ${r.stderr}`);
  }
  // nothing was made by any of them
  assertEquals((await poolJson(w)).pairs.length, 0);
});

withSessionWorld(
  "pool: a WaitForFirstConsumer class is bound by one-shot binder Jobs, gone with their pods once Bound",
  { timeoutMs: 300_000, ignore: onRealCluster },
  async (_t, w) => {
    try {
      const wffc = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: pool-wffc }
provisioner: kodama.dev/test-hostpath
volumeBindingMode: WaitForFirstConsumer
`;
      const mk = await kubectl(w.c, ["apply", "-f", "-"], { stdin: wffc });
      assertEquals(mk.code, 0, mk.stderr);
      const e = await w.k([
        "pool",
        "ensure",
        "--size",
        "1",
        ...sizes,
        "--storage-class",
        "pool-wffc",
        "--image",
        SESSION_IMAGE,
      ]);
      assertEquals(e.code, 0, e.stderr);
      assertStringIncludes(e.stderr, "a short-lived pod binds each pair");
      assertStringIncludes(e.stdout, "pool ready: 1 Bound pair");
      // the binder was a Job's pod (issue 80: a lost node's binder is made again); both are gone
      const left = await w.kc(["get", "jobs,pods", "-l", "kodama.dev/pool", "-o", "name"]);
      assertEquals(left.code, 0, left.stderr);
      assertEquals(left.stdout.trim(), "");
      const events = await w.kc([
        "get",
        "events",
        "-o",
        'jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.name} {.reason}{"\\n"}{end}',
      ]);
      assertMatch(events.stdout, /^Job\/kodama-pool-[a-z0-9]{10}-bind SuccessfulCreate$/m);
    } finally {
      await w.k(["pool", "drain", "--yes"]).catch(() => {});
    }
  },
);
