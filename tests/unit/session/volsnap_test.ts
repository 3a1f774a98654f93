/** The pure parts of snapshots and clones: VolumeSnapshot objects, claims from a dataSource, the class choice, the scripts. */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import {
  buildVolumeSnapshot,
  claimFromClaim,
  claimFromSnapshot,
  pickSnapshotClass,
  provisionerOf,
  type VolumeSnapshotClass,
  volumeSnapshotName,
} from "../../../src/session/volumes/volsnap.ts";
import { copyBackCommand, unpackCommand } from "../../../src/session/volumes/snapshot.ts";
import { markerCommand } from "../../../src/session/volumes/clone.ts";
import SNAPSHOT_SH from "../../../src/session/pod/snapshot.sh" with { type: "text" };

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

Deno.test("the restore reads the whole tar before it touches anything; a copy back checks the mounts first", () => {
  const u = unpackCommand("/kodama-snap/snapshot.tar");
  assertEquals(u.slice(-2), ["tar", "/kodama-snap/snapshot.tar"]);
  const script = u[2];
  assert(script.indexOf(`tar) tar -tf "$arg"`) < script.indexOf("mkdir"), script);
  assertEquals(unpackCommand("-", 5).slice(-2), ["stdin", "5"], "stdin cannot be read twice");
  const c = copyBackCommand();
  assertEquals(c.slice(-2), ["volumes", "/kodama-snap"]);
  assert(script.indexOf("is not mounted") < script.indexOf("mkdir"), script);
  assertMatch(script, /! -name lost\+found/);
});

/** Run a restore command against a temp SRC (and SNAP) with sh, `stdin` fed to it. */
async function runScript(command: string[], root: string, stdin: Uint8Array) {
  const args = command.slice(1).map((a) =>
    a.replaceAll("/kodama-src", `${root}/src`).replaceAll("/kodama-snap", `${root}/snap`)
  );
  const p = new Deno.Command(command[0], { args, stdin: "piped", stdout: "null", stderr: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  await w.write(stdin).catch(() => {});
  await w.close().catch(() => {});
  const r = await p.output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isFile ? `${r}=${await Deno.readTextFile(`${d}/${e.name}`)}` : r);
      if (e.isDirectory) await walk(`${d}/${e.name}`, r);
    }
  };
  await walk(dir, "");
  return out.sort();
}

Deno.test("the restore scripts never lose the volumes: a failed unpack or copy puts everything back", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-unpack-" });
  try {
    const w = (p: string, text: string) =>
      Deno.mkdir(`${root}/${p.replace(/\/[^/]*$/, "")}`, { recursive: true }).then(() =>
        Deno.writeTextFile(`${root}/${p}`, text)
      );
    await w("src/workspace/keep.txt", "keep");
    await w("src/home/.h", "h");
    await Deno.mkdir(`${root}/src/workspace/lost+found`);
    const before = await tree(`${root}/src`);
    const tar = async (dir: string, ...args: string[]) =>
      (await new Deno.Command("tar", { args: ["-cf", "-", "-C", dir, ...args], stdout: "piped" }).output())
        .stdout;
    // (an empty stream is a valid empty tar to GNU tar: the local check refuses it) a text file, a tar whose unpack fails halfway (workspace/sub is a file, then a dir)
    await w("a/workspace/sub", "f");
    await Deno.mkdir(`${root}/a/home`);
    await w("b/workspace/sub/f", "g");
    const run = async (args: string[]) => assert((await new Deno.Command("tar", { args }).output()).success);
    await run(["-cf", `${root}/clash.tar`, "-C", `${root}/a`, "workspace", "home"]);
    await run(["-rf", `${root}/clash.tar`, "-C", `${root}/b`, "workspace/sub/f"]);
    const clash = await Deno.readFile(`${root}/clash.tar`);
    for (const bad of [new TextEncoder().encode("API_KEY=1\n"), clash]) {
      const r = await runScript(unpackCommand("-", bad.length), root, bad);
      assert(r.code !== 0, "a bad archive succeeded");
      assertEquals(await tree(`${root}/src`), before, r.stderr);
    }
    // copy back from restored volumes one of which cannot be read: the same
    await w("snap/workspace/new.txt", "new");
    await w("snap/home/locked/x", "x");
    await Deno.chmod(`${root}/snap/home/locked`, 0o000);
    const isRoot = Deno.uid() === 0;
    if (!isRoot) {
      const r = await runScript(copyBackCommand(), root, new Uint8Array());
      assert(r.code !== 0, r.stderr);
      assertEquals(await tree(`${root}/src`), before, r.stderr);
    }
    await Deno.chmod(`${root}/snap/home/locked`, 0o755);
    // a good archive replaces both volumes (lost+found stays) and leaves nothing set aside
    await w("good/workspace/new.txt", "new");
    await w("good/home/h2", "h2");
    const good = await tar(`${root}/good`, "workspace", "home");
    // the stream cut right after an entry: tar itself ends without an error, the byte count does not
    const cut = good.subarray(0, 512);
    const short = await runScript(unpackCommand("-", good.length), root, cut);
    assert(short.code !== 0, "a cut stream replaced the volumes");
    assertMatch(short.stderr, new RegExp(`cut short: 512 of ${good.length} bytes`));
    assertEquals(await tree(`${root}/src`), before, short.stderr);
    const ok = await runScript(unpackCommand("-", good.length), root, good);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(await tree(`${root}/src`), [
      "home",
      "home/h2=h2",
      "workspace",
      "workspace/lost+found",
      "workspace/new.txt=new",
    ]);
  } finally {
    await Deno.chmod(`${root}/snap/home/locked`, 0o755).catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a restore or unpack cut off with its pod (a lost node) is safe to run again in the Job's next pod", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-retry-" });
  try {
    const w = (p: string, text: string) =>
      Deno.mkdir(`${root}/${p.replace(/\/[^/]*$/, "")}`, { recursive: true }).then(() =>
        Deno.writeTextFile(`${root}/${p}`, text)
      );
    const fresh = async () => {
      await Deno.remove(`${root}/src`, { recursive: true }).catch(() => {});
      await w("src/workspace/keep.txt", "keep");
      await w("src/workspace/other.txt", "other");
      await w("src/home/.h", "h");
      await Deno.mkdir(`${root}/src/workspace/lost+found`);
      return await tree(`${root}/src`);
    };
    const mv = (from: string, to: string) => Deno.rename(`${root}/src/${from}`, `${root}/src/${to}`);
    await w("good/workspace/new.txt", "new");
    await w("good/home/h2", "h2");
    const good = (await new Deno.Command("tar", {
      args: ["-cf", "-", "-C", `${root}/good`, "workspace", "home"],
      stdout: "piped",
    }).output()).stdout;
    const restored = ["home", "home/h2=h2", "workspace", "workspace/lost+found", "workspace/new.txt=new"];
    const bad = new TextEncoder().encode("not a tar\n");

    // 1. cut while filling: both volumes set aside (the mark made), half of the new files written
    for (const [what, next, want] of [["fails", bad, "before"], ["succeeds", good, "restored"]] as const) {
      const before = await fresh();
      for (const v of ["workspace", "home"]) await Deno.mkdir(`${root}/src/${v}/.kodama-restore-old-t1`);
      for (const f of ["workspace/keep.txt", "workspace/other.txt", "home/.h"]) {
        await mv(f, f.replace("/", "/.kodama-restore-old-t1/"));
      }
      await w("src/workspace/.kodama-restore-filling-t1", "");
      await w("src/home/.kodama-restore-filling-t1", "");
      await w("src/workspace/new.txt", "ne");
      const r = await runScript(unpackCommand("-", next.length, "t2"), root, next);
      assertEquals(r.code === 0, what === "succeeds", r.stderr);
      assertEquals(
        await tree(`${root}/src`),
        want === "before" ? before : restored,
        `cut while filling, ${what}`,
      );
    }
    // 2. cut while setting aside: part of the workspace set aside, nothing written, no mark: nothing is lost
    const before = await fresh();
    await Deno.mkdir(`${root}/src/workspace/.kodama-restore-old-t1`);
    await mv("workspace/keep.txt", "workspace/.kodama-restore-old-t1/keep.txt");
    const r = await runScript(unpackCommand("-", bad.length, "t2"), root, bad);
    assert(r.code !== 0);
    assertEquals(await tree(`${root}/src`), before, r.stderr);
    const ok = await runScript(unpackCommand("-", good.length, "t3"), root, good);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(await tree(`${root}/src`), restored);

    // 3. `start --from-snapshot`'s unpack into the new volumes, cut half-way: the next try unpacks it whole
    // (it is not taken for a workspace that was not empty); a workspace that was not empty stays untouched
    await Deno.writeFile(`${root}/good.tar`, good);
    const unpack = () =>
      new Deno.Command("sh", {
        args: ["-c", SNAPSHOT_SH, "kodama-snapshot", `${root}/src`, "into-empty", `${root}/good.tar`],
        stderr: "piped",
      }).output();
    await Deno.remove(`${root}/src`, { recursive: true });
    await Deno.mkdir(`${root}/src/workspace/lost+found`, { recursive: true });
    await Deno.mkdir(`${root}/src/home`);
    await w("src/workspace/.kodama-unpacking", "");
    await w("src/workspace/new.txt", "ne");
    await w("src/home/half", "x");
    const u = await unpack();
    assertEquals(u.code, 0, new TextDecoder().decode(u.stderr));
    assertEquals(await tree(`${root}/src`), restored);
    await w("src/workspace/mine.txt", "mine");
    const kept = await tree(`${root}/src`);
    const again = await unpack();
    assertEquals(again.code, 0);
    assertMatch(new TextDecoder().decode(again.stderr), /the workspace is not empty/);
    assertEquals(await tree(`${root}/src`), kept);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("markerCommand: the token and the roots are arguments, never shell text", () => {
  const roots = { workspace: "/ws", home: "/h" };
  const w = markerCommand("abc123", roots, "write");
  assertEquals(w.slice(3), ["kodama-clone", "write", "abc123", "/ws", "/h"]);
  assertMatch(
    w[2],
    /if \[ -d "\$ws\/\.git" \]; then w="\$ws\/\.git\/kodama-clone-marker"; else w="\$ws\/\.kodama-clone-marker"; fi/,
  );
  const c = w[2].slice(w[2].indexOf("check)"));
  assertMatch(c, /exit 9/);
  assert(c.indexOf("rm -f") > c.lastIndexOf("exit 9"), "removed only once both are checked");
});

Deno.test("the marker scripts run: write then check succeed; a missing marker is exit 9", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const roots = { workspace: `${dir}/ws`, home: `${dir}/h` };
    await Deno.mkdir(`${dir}/ws/.git`, { recursive: true });
    await Deno.mkdir(`${dir}/h`);
    const run = async (c: string[]) =>
      (await new Deno.Command(c[0], { args: c.slice(1), stderr: "null" }).output()).code;
    assertEquals(await run(markerCommand("t1", roots, "write")), 0);
    assertEquals(await Deno.readTextFile(`${dir}/ws/.git/kodama-clone-marker`), "t1");
    assertEquals(await run(markerCommand("t2", roots, "check")), 9, "another token");
    assertEquals(await run(markerCommand("t1", roots, "check")), 0);
    assertEquals(await run(markerCommand("t1", roots, "check")), 9, "removed by the check");
    // a token or a root with a quote or a `$` in it is only data
    const odd = { workspace: `${dir}/w'$(x)`, home: `${dir}/h` };
    await Deno.mkdir(odd.workspace);
    assertEquals(await run(markerCommand("it's $HOME", odd, "write")), 0);
    assertEquals(await Deno.readTextFile(`${odd.workspace}/.kodama-clone-marker`), "it's $HOME");
    assertEquals(await run(markerCommand("it's $HOME", odd, "remove")), 0);
    // no workspace given: the pod's own $KODAMA_WORKSPACE (a session pod's source)
    const own = markerCommand("t3", { home: `${dir}/h` }, "write");
    const r = await new Deno.Command(own[0], { args: own.slice(1), env: { KODAMA_WORKSPACE: odd.workspace } })
      .output();
    assertEquals(r.code, 0);
    assertEquals(await Deno.readTextFile(`${odd.workspace}/.kodama-clone-marker`), "t3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
