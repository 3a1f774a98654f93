/**
 * Snapshots and clones through the storage driver, black-box as the restricted `dev` user, on a test server
 * that serves the VolumeSnapshot API and CSI classes (tests/cluster/snapshots.ts): write, snapshot (two
 * VolumeSnapshots, readyToUse), change, restore: the file is back; --from-snapshot makes claims with the
 * VolumeSnapshot as dataSource; clone on a cloning CSI class uses dataSource (PVC) and leaves no marker; a
 * CSI class that hands out EMPTY volumes is caught and the clone goes through a pod; a clone keeps SRC's git
 * remote and `session fetch` brings its commits home; delete removes only kodama's VolumeSnapshots.
 * The portable path, on every cluster, is session_snapshot_test.ts.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { kubectl, onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, SESSION_IMAGE, sessionWorld, withSessionWorld } from "./_session.ts";

const PFX = "vsnap";

withSessionWorld(
  "snapshot and clone through the storage driver: VolumeSnapshots, dataSource, the empty-clone check",
  {
    snapshots: true,
    ignore: onRealCluster,
    timeoutMs: 600_000,
    // a user who may read VolumeSnapshots but not create them (everything else in namespace dev)
    users: [{
      name: "vsreader",
      namespace: "dev",
      rules: [
        { apiGroups: [""], resources: ["*"], verbs: ["*"] },
        // the copy pods are Jobs' (issue 80), as sessions' pods are
        { apiGroups: ["batch"], resources: ["jobs"], verbs: ["*"] },
        {
          apiGroups: ["snapshot.storage.k8s.io"],
          resources: ["volumesnapshots"],
          verbs: ["get", "list", "watch"],
        },
      ],
    }],
  },
  async (t, w) => {
    const S = `${PFX}-a`, B = `${PFX}-b`, C = `${PFX}-c`, N = `${PFX}-n`, N2 = `${PFX}-n2`;
    const sh = async (name: string, cmd: string) => {
      const r = await w.sh(name, cmd);
      assertEquals(r.code, 0, `${cmd}: ${r.stderr}`);
      return r.stdout;
    };
    const json = async (args: string[]) => {
      const r = await w.kc([...args, "-o", "json"]);
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    try {
      await t.step("a session on the CSI class, from a local repository, with files", async () => {
        const r = await w.k(
          [
            "start",
            S,
            "--repo",
            ".",
            "--image",
            SESSION_IMAGE,
            "--no-sync",
            "--storage-class",
            "csi-hostpath",
          ],
          { cwd: repo.work },
        );
        assertEquals(r.code, 0, r.stderr);
        await sh(S, "echo one > a.txt && echo h > ~/h.txt");
      });

      await t.step("snapshot create: two VolumeSnapshots, ready, listed as VolumeSnapshot", async () => {
        const r = await w.k(["snapshot", "create", S, `${PFX}-s1`]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, `snapshot/${PFX}-s1 created (VolumeSnapshot, `);
        const vs = await json(["get", "volumesnapshots", "-l", `kodama.dev/snapshot=${PFX}-s1`]);
        assertEquals(vs.items.map((v: { metadata: { name: string } }) => v.metadata.name).sort(), [
          `kodama-snap-${PFX}-s1`,
          `kodama-snap-${PFX}-s1-home`,
        ]);
        for (const v of vs.items) assertEquals(v.status.readyToUse, true);
        const l = await w.k(["snapshot", "list"]);
        assertMatch(l.stdout, /^NAME\s+SESSION\s+STATUS\s+KIND\s+SIZE\s+AGE$/m);
        assertMatch(l.stdout, new RegExp(`^${PFX}-s1\\s+${S}\\s+Ready\\s+VolumeSnapshot\\s+\\S+`, "m"));
        // no portable claim was made
        const claims = await w.kc(["get", "pvc", "-o", "name"]);
        assert(!claims.stdout.includes(`kodama-snap-${PFX}-s1`), claims.stdout);
        const again = await w.k(["snapshot", "create", S, `${PFX}-s1`]);
        assertEquals(again.code, 2, again.stderr);
        assertStringIncludes(again.stderr, "already exists");
      });

      await t.step("change, restore: refused without --force, then the files are back", async () => {
        await sh(S, "echo two > a.txt && echo new > b.txt && rm ~/h.txt");
        const no = await w.k(["restore", S, `${PFX}-s1`]);
        assertEquals(no.code, 2, no.stderr);
        assertEquals(await sh(S, "cat a.txt"), "two\n");
        const r = await w.k(["restore", S, `${PFX}-s1`, "--force"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "(VolumeSnapshot)");
        assertEquals(await sh(S, "cat a.txt ~/h.txt; ls b.txt 2>/dev/null || echo no-b"), "one\nh\nno-b\n");
        // the session kept its claims; the restored ones are gone
        const claims = await w.kc(["get", "pvc", "-o", "name"]);
        assert(!claims.stdout.includes("kodama-restore-"), claims.stdout);
      });

      await t.step("start --from-snapshot: claims with the VolumeSnapshot as dataSource", async () => {
        const r = await w.k([
          "start",
          B,
          "--image",
          SESSION_IMAGE,
          "--no-sync",
          "--from-snapshot",
          `${PFX}-s1`,
        ]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await sh(B, "cat a.txt ~/h.txt"), "one\nh\n");
        const pvc = await json(["get", "pvc", `kodama-workspace-${B}`]);
        const ds = pvc.spec.dataSource;
        assertEquals(ds.kind, "VolumeSnapshot");
        assertEquals(ds.name, `kodama-snap-${PFX}-s1`);
        assertEquals(ds.apiGroup, "snapshot.storage.k8s.io");
        assertEquals(pvc.spec.storageClassName, "csi-hostpath");
      });

      await t.step("clone on the cloning CSI class: dataSource PVC, no marker left, own branch", async () => {
        await sh(S, "git -c user.email=t@t -c user.name=t commit -qam 'a in S' --allow-empty");
        const r = await w.k(["clone", S, C, "--branch", "try-c"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "with the storage driver (hostpath.csi.k8s.io)");
        assertEquals(await sh(C, "cat a.txt; git branch --show-current"), "one\ntry-c\n");
        const claims = await json(["get", "pvc", "-l", `kodama.dev/session=${C}`]);
        const kinds = claims.items.map((c: { spec: { dataSource?: { kind: string } } }) =>
          c.spec.dataSource?.kind
        );
        assertEquals(kinds, ["PersistentVolumeClaim", "PersistentVolumeClaim"]);
        for (const s of [S, C]) {
          assertEquals(
            await sh(s, "ls -a .git ~ | grep -c kodama-clone-marker || true"),
            "0\n",
            `a marker was left in ${s}`,
          );
        }
      });

      await t.step("the clone keeps SRC's remote; session fetch brings its commits home", async () => {
        assertEquals(await sh(C, "git remote"), await sh(S, "git remote"));
        await sh(
          C,
          "echo c > c.txt && git add c.txt && git -c user.email=t@t -c user.name=t commit -qm 'work in C'",
        );
        const head = (await sh(C, "git rev-parse HEAD")).trim();
        const f = await w.k(["session", "fetch", C], { cwd: repo.work });
        assertEquals(f.code, 0, f.stderr);
        assertEquals(await gitIn(["rev-parse", `kodama/${C}`], repo.work), head);
        assertEquals(await gitIn(["log", "-1", "--format=%s", `kodama/${C}`], repo.work), "work in C");
        const state = await Deno.readTextFile(join(w.home, "sessions", `${C}.yaml`));
        assertMatch(state, /^branch: try-c$/m);
        assertMatch(state, /^baseBranch: kodama\/vsnap-a-\d{14}$/m);
      });

      await t.step("a CSI class that binds EMPTY volumes: caught, the clone goes through a pod", async () => {
        const r = await w.k([
          "start",
          N,
          "--image",
          SESSION_IMAGE,
          "--no-sync",
          "--storage-class",
          "csi-nocopy",
        ]);
        assertEquals(r.code, 0, r.stderr);
        await sh(N, "echo kept > k.txt");
        const c = await w.k(["clone", N, N2]);
        assertEquals(c.code, 0, c.stderr);
        assertStringIncludes(c.stderr, "the storage driver did not copy the volumes");
        assertStringIncludes(c.stderr, "copying through a pod instead");
        assertEquals(await sh(N2, "cat k.txt"), "kept\n");
        assertEquals(await sh(N, "ls -a | grep -c kodama-clone-marker || true"), "0\n");
      });

      await t.step("--portable: a snapshot PVC even where VolumeSnapshots exist", async () => {
        const r = await w.k(["snapshot", "create", S, `${PFX}-p`, "--portable"]);
        assertEquals(r.code, 0, r.stderr);
        const l = await w.k(["snapshot", "list"]);
        assertMatch(l.stdout, new RegExp(`^${PFX}-p\\s+${S}\\s+Ready\\s+portable\\s`, "m"));
      });

      await t.step(
        "a user who may not create VolumeSnapshots gets a portable snapshot, said in one line",
        async () => {
          const other = await sessionWorld(w.c, "vsreader");
          try {
            const r = await other.k(["snapshot", "create", S, `${PFX}-r`]);
            assertEquals(r.code, 0, r.stderr);
            assertStringIncludes(
              r.stderr,
              "not a VolumeSnapshot: VolumeSnapshots may not be created with these credentials",
            );
            const l = await w.k(["snapshot", "list"]);
            assertMatch(l.stdout, new RegExp(`^${PFX}-r\\s+${S}\\s+Ready\\s+portable\\s`, "m"));
            assertEquals((await w.k(["snapshot", "delete", `${PFX}-r`])).code, 0);
          } finally {
            await other.cleanup();
          }
        },
      );

      await t.step(
        "snapshot delete: both VolumeSnapshots; a VolumeSnapshot kodama did not make stays",
        async () => {
          const foreign = await kubectl(w.c, ["-n", "dev", "create", "-f", "-"], {
            context: "dev",
            stdin: `apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: kodama-snap-${PFX}-f, labels: {kodama.dev/snapshot: ${PFX}-f}}
spec: {source: {persistentVolumeClaimName: kodama-workspace-${S}}}
`,
          });
          assertEquals(foreign.code, 0, foreign.stderr);
          const mine = await w.k(["snapshot", "delete", `${PFX}-f`]);
          assertEquals(mine.code, 3, "a VolumeSnapshot without kodama's labels is not kodama's to delete");
          const d = await w.k(["snapshot", "delete", `${PFX}-s1`, `${PFX}-p`]);
          assertEquals(d.code, 0, d.stderr);
          const vs = await json(["get", "volumesnapshots", "-o", "name"].slice(0, 2));
          assertEquals(vs.items.map((v: { metadata: { name: string } }) => v.metadata.name), [
            `kodama-snap-${PFX}-f`,
          ]);
          const nope = await w.k(["snapshot", "delete", `${PFX}-s1`]);
          assertEquals(nope.code, 3);
        },
      );
    } finally {
      for (const s of [S, B, C, N, N2]) await purge(w, s);
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
