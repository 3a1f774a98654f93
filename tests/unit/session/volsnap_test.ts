/** The pure parts of snapshots and clones: VolumeSnapshot objects, claims from a dataSource, the class choice, the scripts. */
import { assert, assertEquals, assertMatch } from "@std/assert";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import {
  buildVolumeSnapshot,
  claimFromClaim,
  claimFromSnapshot,
  pickSnapshotClass,
  provisionerOf,
  type VolumeSnapshotClass,
  volumeSnapshotName,
} from "../../../src/session/volsnap.ts";
import { copyBackScript, unpackScript } from "../../../src/session/snapshot.ts";
import { markerScript } from "../../../src/session/clone.ts";

const claim = (name: string, size: string, cls?: string, capacity?: string): V1PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, annotations: { "volume.kubernetes.io/storage-provisioner": "hostpath.csi.k8s.io" } },
  spec: {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: size } },
    ...(cls ? { storageClassName: cls } : {}),
  },
  ...(capacity ? { status: { phase: "Bound", capacity: { storage: capacity } } } : {}),
});

Deno.test("volumeSnapshotName: one per volume, the workspace's is the snapshot claim's name", () => {
  assertEquals(volumeSnapshotName("s1", "workspace"), "kodama-snap-s1");
  assertEquals(volumeSnapshotName("s1", "home"), "kodama-snap-s1-home");
});

Deno.test("provisionerOf: the controller's annotation (beta as well), else unknown", () => {
  assertEquals(provisionerOf(claim("a", "1Gi")), "hostpath.csi.k8s.io");
  assertEquals(
    provisionerOf({ metadata: { annotations: { "volume.beta.kubernetes.io/storage-provisioner": "x" } } }),
    "x",
  );
  assertEquals(provisionerOf({ metadata: {} }), undefined);
});

Deno.test("pickSnapshotClass: the driver's default, else its only class; never another driver's", () => {
  const c = (name: string, driver: string, def = false): VolumeSnapshotClass => ({
    metadata: {
      name,
      annotations: def ? { "snapshot.storage.kubernetes.io/is-default-class": "true" } : {},
    },
    driver,
  });
  assertEquals(pickSnapshotClass([c("a", "d1"), c("b", "d1", true), c("z", "d2", true)], "d1"), "b");
  assertEquals(pickSnapshotClass([c("a", "d1"), c("z", "d2", true)], "d1"), "a");
  assertEquals(pickSnapshotClass([c("a", "d1"), c("b", "d1")], "d1"), undefined, "two and no default");
  assertEquals(pickSnapshotClass([c("z", "d2", true)], "d1"), undefined);
});

Deno.test("buildVolumeSnapshot: kodama's labels, the source claim and class recorded", () => {
  const vs = buildVolumeSnapshot({
    namespace: "dev",
    session: "w",
    snap: "s1",
    volume: "home",
    claim: claim("kodama-claude-home-w", "1Gi", "csi"),
    className: "snapclass",
    now: new Date("2026-01-02T03:04:05.678Z"),
  });
  assertEquals(vs.apiVersion, "snapshot.storage.k8s.io/v1");
  assertEquals(vs.metadata?.name, "kodama-snap-s1-home");
  assertEquals(vs.metadata?.labels, {
    "app.kubernetes.io/managed-by": "kodama",
    "kodama.dev/snapshot": "s1",
    "kodama.dev/snapshot-of": "w",
    "kodama.dev/snapshot-volume": "home",
  });
  assertEquals(vs.metadata?.annotations?.["kodama.dev/source-storage-class"], "csi");
  assertEquals(vs.metadata?.annotations?.["kodama.dev/snapshot-created"], "2026-01-02T03:04:05Z");
  assertEquals(vs.spec, {
    source: { persistentVolumeClaimName: "kodama-claude-home-w" },
    volumeSnapshotClassName: "snapclass",
  });
});

Deno.test("claimFromSnapshot: dataSource, the source's class, never smaller than restoreSize", () => {
  const vs = {
    metadata: { name: "kodama-snap-s1", annotations: { "kodama.dev/source-storage-class": "csi" } },
    status: { restoreSize: "10Gi" },
  };
  const out = claimFromSnapshot(claim("new", "5Gi"), vs);
  assertEquals(out.spec?.dataSource, {
    apiGroup: "snapshot.storage.k8s.io",
    kind: "VolumeSnapshot",
    name: "kodama-snap-s1",
  });
  assertEquals(out.spec?.storageClassName, "csi");
  assertEquals(out.spec?.resources?.requests?.storage, "10Gi");
  assertEquals(claimFromSnapshot(claim("new", "20Gi"), vs).spec?.resources?.requests?.storage, "20Gi");
  // the input is not changed
  assertEquals(claim("new", "5Gi").spec?.dataSource, undefined);
});

Deno.test("claimFromClaim: dataSource PVC, the same class, at least the source's capacity", () => {
  const out = claimFromClaim(claim("dst", "1Gi"), claim("src", "1Gi", "csi", "2Gi"));
  assertEquals(out.spec?.dataSource, { kind: "PersistentVolumeClaim", name: "src" });
  assertEquals(out.spec?.storageClassName, "csi");
  assertEquals(out.spec?.resources?.requests?.storage, "2Gi");
});

Deno.test("unpackScript reads the whole tar before it empties anything; copyBackScript checks the mounts first", () => {
  const u = unpackScript("/kodama-snap/snapshot.tar");
  assert(u.indexOf("tar -tf /kodama-snap/snapshot.tar") < u.indexOf("rm -rf"), u);
  assert(!unpackScript("-").includes("tar -tf"), "stdin cannot be read twice");
  const c = copyBackScript();
  assert(c.indexOf("is not mounted") < c.indexOf("rm -rf"), c);
  assertMatch(c, /! -name lost\+found/);
});

Deno.test("markerScript: written into the git dir when there is one, checked, removed", () => {
  const roots = { workspace: "/ws", home: "/h" };
  const w = markerScript("abc123", roots, "write");
  assertMatch(
    w,
    /if \[ -d "\/ws\/\.git" \]; then w="\/ws\/\.git\/kodama-clone-marker"; else w="\/ws\/\.kodama-clone-marker"; fi/,
  );
  assertMatch(w, /printf %s 'abc123' > "\/h\/\.kodama-clone-marker"/);
  const c = markerScript("abc123", roots, "check");
  assertMatch(c, /exit 9/);
  assert(c.indexOf("rm -f") > c.indexOf("exit 9"), "removed only once both are checked");
  assertMatch(markerScript("abc123", roots, "remove"), /rm -f "\$w" "\/h\/\.kodama-clone-marker"/);
});

Deno.test("the marker scripts run: write then check succeed; a missing marker is exit 9", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const roots = { workspace: `${dir}/ws`, home: `${dir}/h` };
    await Deno.mkdir(`${dir}/ws/.git`, { recursive: true });
    await Deno.mkdir(`${dir}/h`);
    const run = async (s: string) =>
      (await new Deno.Command("sh", { args: ["-c", s], stderr: "null" }).output()).code;
    assertEquals(await run(markerScript("t1", roots, "write")), 0);
    assertEquals(await Deno.readTextFile(`${dir}/ws/.git/kodama-clone-marker`), "t1");
    assertEquals(await run(markerScript("t2", roots, "check")), 9, "another token");
    assertEquals(await run(markerScript("t1", roots, "check")), 0);
    assertEquals(await run(markerScript("t1", roots, "check")), 9, "removed by the check");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
