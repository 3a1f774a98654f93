/**
 * Snapshots, restore and clone on the portable path (a copy pod and a snapshot PVC, or a local tar file),
 * black-box as the restricted `dev` user: write, snapshot, change, restore — the file is back; the same into a
 * new session with --from-snapshot; a clone has the files and its own branch, and session fetch brings its
 * commits home; restore never replaces work
 * without being asked; snapshot delete touches only what kodama made. Runs on the real cluster too
 * (KODAMA_TEST_KUBECONFIG, KODAMA_TEST_IMAGE=kodama-dev:bookworm).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const PFX = "rmsnap";

withSessionWorld(
  "snapshot: create, restore, --from-snapshot, --to-file, clone, delete",
  { timeoutMs: 900_000 },
  async (t, w) => {
    const S = `${PFX}-a`, B = `${PFX}-b`, C = `${PFX}-c`;
    const sh = async (name: string, cmd: string) => {
      const r = await w.sh(name, cmd);
      assertEquals(r.code, 0, `${cmd}: ${r.stderr}`);
      return r.stdout;
    };
    const file = join(w.home, "snap.tar");
    try {
      await t.step("a session with a file in the workspace and one in home", async () => {
        const r = await w.k(["start", S, "--image", SESSION_IMAGE, "--no-sync"]);
        assertEquals(r.code, 0, r.stderr);
        await sh(S, "echo one > a.txt && mkdir -p sub && echo deep > sub/d.txt && echo h > ~/h.txt");
      });

      await t.step("snapshot create: a Ready snapshot PVC labelled as kodama's", async () => {
        const r = await w.k(["snapshot", "create", S, `${PFX}-s1`]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, `snapshot/${PFX}-s1 created`);
        // the fallback says why, in one line, whatever the reason
        assertMatch(r.stderr, /^not a VolumeSnapshot: .*; a portable snapshot instead$/m);
        const l = await w.k(["snapshot", "list"]);
        assertMatch(l.stdout, new RegExp(`^${PFX}-s1\\s+${S}\\s+Ready\\s`, "m"));
        const pvc = JSON.parse((await w.kc(["get", "pvc", `kodama-snap-${PFX}-s1`, "-o", "json"])).stdout);
        assertEquals(pvc.metadata.labels["app.kubernetes.io/managed-by"], "kodama");
        // its size is the archive's (a few small files: bytes or KiB), never the claim's room (#52.10)
        const bytes = Number(pvc.metadata.annotations["kodama.dev/snapshot-bytes"]);
        assert(bytes > 0 && bytes < 1 << 20, `archive of ${bytes} bytes`);
        const size = l.stdout.split("\n").find((x) => x.startsWith(`${PFX}-s1 `))!.trim().split(/\s+/)[4];
        assertMatch(size, /^\d+(\.\d)?(B|KiB)$/);
        assert(size !== pvc.spec.resources.requests.storage, size);
        assertStringIncludes(r.stdout, `snapshot/${PFX}-s1 created (portable, ${size})`);
        const j = JSON.parse((await w.k(["snapshot", "list", "-o", "json"])).stdout);
        assertEquals(j.items.find((x: { name: string }) => x.name === `${PFX}-s1`).size, size);
        // the copy pod is gone
        const pods = await w.kc(["get", "pods", "-o", "name"]);
        assert(!pods.stdout.includes("kodama-copy-"), pods.stdout);
      });

      await t.step(
        "change, then restore: refused without --force and a terminal; with it the file is back",
        async () => {
          await sh(S, "echo two > a.txt && echo new > b.txt && rm ~/h.txt");
          const no = await w.k(["restore", S, `${PFX}-s1`]);
          assertEquals(no.code, 2, no.stderr);
          assertStringIncludes(no.stderr, "--force");
          assert(!hasStackTrace(no.stderr));
          assertEquals(await sh(S, "cat a.txt"), "two\n");
          const r = await w.k(["restore", S, `${PFX}-s1`, "--force"]);
          assertEquals(r.code, 0, r.stderr);
          // restore resumes the session itself: no "resume with" advice for a session it brings back
          assert(!r.stderr.includes("resume with"), r.stderr);
          assertEquals(
            await sh(S, "cat a.txt sub/d.txt ~/h.txt; ls b.txt 2>/dev/null || echo no-b"),
            "one\ndeep\nh\nno-b\n",
          );
        },
      );

      await t.step("start --from-snapshot: a new session with the snapshot's files", async () => {
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
        assertEquals(await sh(B, "cat a.txt sub/d.txt ~/h.txt"), "one\ndeep\nh\n");
        const missing = await w.k(["start", `${PFX}-x`, "--image", SESSION_IMAGE, "--from-snapshot", "nope"]);
        assertEquals(missing.code, 3, missing.stderr);
        assertStringIncludes(missing.stderr, 'snapshot "nope" not found');
      });

      await t.step("--to-file, change, restore from the file", async () => {
        const r = await w.k(["snapshot", "create", S, "--to-file", file]);
        assertEquals(r.code, 0, r.stderr);
        assert((await Deno.stat(file)).size > 0);
        await sh(S, "echo three > a.txt");
        const again = await w.k(["snapshot", "create", S, "--to-file", file]);
        assertEquals(again.code, 2, "an existing file is not replaced without --force");
        const back = await w.k(["restore", S, file, "--force"]);
        assertEquals(back.code, 0, back.stderr);
        assertEquals(await sh(S, "cat a.txt"), "one\n");
      });

      await t.step("clone: SRC's files on a branch of its own", async () => {
        await sh(
          S,
          "git init -q -b main . && git -c user.email=t@t -c user.name=t add a.txt sub && git -c user.email=t@t -c user.name=t commit -qm init",
        );
        const r = await w.k(["clone", S, C, "--branch", "try-b"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await sh(C, "cat a.txt; git branch --show-current"), "one\ntry-b\n");
        assertEquals(await sh(S, "git branch --show-current"), "main\n");
        const snaps = await w.k(["snapshot", "list", "-o", "name"]);
        assert(!snaps.stdout.includes(`${C}-clone`), "the clone's snapshot was left behind");
      });

      await t.step("the clone's git settings came along: session fetch brings its commits home", async () => {
        assertEquals(await sh(C, "git config kodama.base >/dev/null && echo base-set"), "base-set\n");
        await sh(
          C,
          "echo c > c.txt && git add c.txt && git -c user.email=t@t -c user.name=t commit -qm 'work in C'",
        );
        const head = (await sh(C, "git rev-parse HEAD")).trim();
        const local = join(w.home, "local");
        await Deno.mkdir(local);
        const git = (args: string[]) =>
          new Deno.Command("git", { args, cwd: local, env: { GIT_CONFIG_GLOBAL: "/dev/null" } }).output();
        assert((await git(["init", "-q", "-b", "main"])).success);
        const f = await w.k(["session", "fetch", C], { cwd: local });
        assertEquals(f.code, 0, f.stderr);
        const got = await git(["rev-parse", `kodama/${C}`]);
        assertEquals(new TextDecoder().decode(got.stdout).trim(), head);
        const state = await Deno.readTextFile(join(w.home, "sessions", `${C}.yaml`));
        assertMatch(state, /^branch: try-b$/m);
        assertMatch(state, /^baseBranch: main$/m);
      });

      await t.step("snapshot delete: only kodama's snapshot claims", async () => {
        const d = await w.k(["snapshot", "delete", `${PFX}-s1`]);
        assertEquals(d.code, 0, d.stderr);
        assertEquals((await w.k(["snapshot", "list", "-o", "name"])).stdout, "");
        const ws = await w.k(["snapshot", "delete", "workspace-" + S]);
        assertEquals(ws.code, 3);
        // the session's own volumes are untouched
        assertEquals(await sh(S, "cat a.txt"), "one\n");
      });
    } finally {
      for (const s of [S, B, C, `${PFX}-x`]) await purge(w, s);
      await w.kc(["delete", "pvc", "-l", "kodama.dev/snapshot", "--wait=false"]).catch(() => {});
    }
  },
);
