/**
 * The test server's snapshot API and CSI storage (tests/cluster/snapshots.ts), as the real kubectl sees
 * them: not served unless asked (discovery and `kubectl get volumesnapshots` agree, as on a cluster
 * without the CRDs: this part runs on the real cluster too); served, a VolumeSnapshot gets its content,
 * readyToUse false then true, restoreSize; a claim with that dataSource starts with the content as it was
 * when the snapshot was cut; a missing source claim is the snapshot's status.error; a clone
 * (dataSource: PVC) has the content on the cloning CSI class and is EMPTY on the class that ignores it.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { kubectl, onRealCluster, type TestCluster, waitUntil } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";

const dev = (c: TestCluster, args: string[], stdin?: string) =>
  kubectl(c, ["-n", "dev", ...args], { context: "dev", stdin });

async function getJson(c: TestCluster, args: string[]) {
  const r = await dev(c, [...args, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

clusterTest("cluster: the snapshot API is not served unless asked", { seed: "none" }, async (_t, c) => {
  const res = await dev(c, ["api-resources"]);
  assertEquals(res.code, 0, res.stderr);
  assert(!/volumesnapshot/.test(res.stdout), res.stdout);
  const get = await dev(c, ["get", "volumesnapshots"]);
  assertEquals(get.code, 1);
  assertStringIncludes(get.stderr, `the server doesn't have a resource type "volumesnapshots"`);
  const raw = await kubectl(c, ["get", "--raw", "/apis/snapshot.storage.k8s.io/v1"]);
  assert(raw.code !== 0, raw.stdout);
});

clusterTest(
  "cluster: VolumeSnapshots with the real semantics; dataSource restores and clones on CSI classes",
  { seed: "sessions", snapshots: true, ignore: onRealCluster },
  async (t, c) => {
    const api = c.testServer!.api;
    const dir = (name: string) => join(api.stateDir, "pvcs", "dev", name);
    const pvc = (name: string, cls: string, ds?: string) =>
      `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${cls}
  resources: {requests: {storage: 1Gi}}
${ds ? `  dataSource: ${ds}\n` : ""}`;
    const bound = (name: string) =>
      waitUntil(
        async () => (await getJson(c, ["get", "pvc", name])).status?.phase === "Bound",
        30_000,
        `${name} Bound`,
      );

    await t.step("discovery lists the group; the class and the CSI drivers are readable by dev", async () => {
      const res = await dev(c, ["api-resources", "--api-group", "snapshot.storage.k8s.io"]);
      assertEquals(res.code, 0, res.stderr);
      assertMatch(
        res.stdout,
        /^volumesnapshots\s+vs\s+snapshot\.storage\.k8s\.io\/v1\s+true\s+VolumeSnapshot$/m,
      );
      assertMatch(
        res.stdout,
        /^volumesnapshotclasses\s+vsclass,vsclasses\s+snapshot\.storage\.k8s\.io\/v1\s+false/m,
      );
      const cls = await dev(c, ["get", "volumesnapshotclass"]);
      assertEquals(cls.code, 0, cls.stderr);
      assertMatch(cls.stdout, /csi-hostpath-snapclass\s+hostpath\.csi\.k8s\.io\s+Delete/);
      const drv = await dev(c, ["get", "csidrivers", "-o", "name"]);
      assertEquals(drv.stdout.trim().split("\n").sort(), [
        "csidriver.storage.k8s.io/hostpath.csi.k8s.io",
        "csidriver.storage.k8s.io/nocopy.csi.kodama.dev",
      ]);
    });

    await t.step(
      "snapshot: content bound, readyToUse false then true, restoreSize; a point-in-time cut",
      async () => {
        assertEquals((await dev(c, ["apply", "-f", "-"], pvc("src", "csi-hostpath"))).code, 0);
        await bound("src");
        const claim = await getJson(c, ["get", "pvc", "src"]);
        assertEquals(
          claim.metadata.annotations["volume.kubernetes.io/storage-provisioner"],
          "hostpath.csi.k8s.io",
        );
        await Deno.writeTextFile(join(dir("src"), "f.txt"), "one\n");
        const seen: boolean[] = [];
        const vs = `apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: s1}
spec: {source: {persistentVolumeClaimName: src}}
`;
        const made = await dev(c, ["create", "-f", "-"], vs);
        assertEquals(made.code, 0, made.stderr);
        await waitUntil(
          async () => {
            const o = await getJson(c, ["get", "volumesnapshot", "s1"]);
            if (o.status?.readyToUse !== undefined) seen.push(o.status.readyToUse);
            return o.status?.readyToUse === true;
          },
          30_000,
          "s1 ready",
        );
        const o = await getJson(c, ["get", "vs", "s1"]);
        assertEquals(o.status.restoreSize, "1Gi");
        assertEquals(
          o.spec.volumeSnapshotClassName,
          "csi-hostpath-snapclass",
          "the default class for the driver",
        );
        const content = await kubectl(c, [
          "get",
          "volumesnapshotcontent",
          o.status.boundVolumeSnapshotContentName,
          "-o",
          "json",
        ]);
        assertEquals(content.code, 0, content.stderr);
        const vsc = JSON.parse(content.stdout);
        assertEquals(vsc.spec.volumeSnapshotRef.name, "s1");
        assertEquals(vsc.status.restoreSize, 2 ** 30);
        assertEquals(vsc.spec.driver, "hostpath.csi.k8s.io");
        assert(seen.length === 0 || seen[0] === false || seen.every((x) => x), `readyToUse went ${seen}`);
        const table = await dev(c, ["get", "vs"]);
        assertMatch(table.stdout, /^NAME\s+READYTOUSE\s+SOURCEPVC\s+SOURCESNAPSHOTCONTENT\s+RESTORESIZE/);
        assertMatch(table.stdout, /^s1\s+true\s+src\s+1Gi\s+csi-hostpath-snapclass\s+snapcontent-/m);
        // the volume changes after the cut
        await Deno.writeTextFile(join(dir("src"), "f.txt"), "two\n");
      },
    );

    await t.step("a claim with the snapshot as dataSource has the content as cut", async () => {
      const ds = "{apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: s1}";
      assertEquals((await dev(c, ["apply", "-f", "-"], pvc("restored", "csi-hostpath", ds))).code, 0);
      await bound("restored");
      assertEquals(await Deno.readTextFile(join(dir("restored"), "f.txt")), "one\n");
      // a snapshot that does not exist: Pending, with the provisioner's event
      assertEquals(
        (await dev(c, ["apply", "-f", "-"], pvc("nosnap", "csi-hostpath", ds.replace("s1", "nope")))).code,
        0,
      );
      await waitUntil(
        async () => {
          const ev = await dev(c, ["get", "events", "--field-selector", "involvedObject.name=nosnap"]);
          return /ProvisioningFailed.*volumesnapshots.snapshot.storage.k8s.io "nope" not found/.test(
            ev.stdout,
          );
        },
        30_000,
        "the provisioner's event",
      );
      assertEquals((await getJson(c, ["get", "pvc", "nosnap"])).status.phase, "Pending");
    });

    await t.step("a snapshot of a missing claim: status.error, never ready", async () => {
      const made = await dev(
        c,
        ["create", "-f", "-"],
        `apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: s-missing}
spec: {source: {persistentVolumeClaimName: gone}}
`,
      );
      assertEquals(made.code, 0, made.stderr);
      await waitUntil(
        async () => !!(await getJson(c, ["get", "vs", "s-missing"])).status?.error,
        30_000,
        "the error",
      );
      const o = await getJson(c, ["get", "vs", "s-missing"]);
      assertEquals(o.status.readyToUse, false);
      assertStringIncludes(o.status.error.message, `persistentvolumeclaim \\"gone\\" not found`);
      const bad = await dev(
        c,
        ["create", "-f", "-"],
        `apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: s-bad}
spec: {source: {}}
`,
      );
      assertEquals(bad.code, 1);
      assertStringIncludes(
        bad.stderr,
        "Exactly one of persistentVolumeClaimName and volumeSnapshotContentName",
      );
    });

    await t.step(
      "clone (dataSource: PVC): content on csi-hostpath, EMPTY on csi-nocopy and standard",
      async () => {
        await Deno.writeTextFile(join(dir("src"), "f.txt"), "three\n");
        const ds = "{kind: PersistentVolumeClaim, name: src}";
        assertEquals((await dev(c, ["apply", "-f", "-"], pvc("clone", "csi-hostpath", ds))).code, 0);
        await bound("clone");
        assertEquals(await Deno.readTextFile(join(dir("clone"), "f.txt")), "three\n");
        for (const cls of ["csi-nocopy", "standard"]) {
          assertEquals((await dev(c, ["apply", "-f", "-"], pvc(`clone-${cls}`, cls, ds))).code, 0);
          await bound(`clone-${cls}`);
          const entries = [...Deno.readDirSync(dir(`clone-${cls}`))];
          assertEquals(entries.length, 0, `${cls} ignores dataSource: the volume starts empty`);
        }
      },
    );

    await t.step("deleting the snapshot deletes its content (deletionPolicy Delete)", async () => {
      const o = await getJson(c, ["get", "vs", "s1"]);
      assertEquals((await dev(c, ["delete", "vs", "s1"])).code, 0);
      const gone = await kubectl(c, ["get", "vsc", o.status.boundVolumeSnapshotContentName]);
      assertEquals(gone.code, 1);
      assertStringIncludes(gone.stderr, "NotFound");
    });
  },
);
