/**
 * `restore NAME FILE --force` never costs the session its files: a file that is no snapshot (a .env text
 * file, an empty file, a tar of something else, a cut tar, a directory, a FIFO) is refused with one line,
 * exit 2, before anything is stopped or emptied; a snapshot file that fails in the pod (its tar cannot be
 * unpacked) leaves the workspace and home as they were and the session is resumed. Black-box as `dev`.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const S = "rsafe-a";

withSessionWorld(
  "restore: a bad file is refused before anything is touched; a failed unpack puts everything back",
  { timeoutMs: 600_000 },
  async (t, w) => {
    const sh = async (cmd: string) => {
      const r = await w.sh(S, cmd);
      assertEquals(r.code, 0, `${cmd}: ${r.stderr}`);
      return r.stdout;
    };
    const pod = async () => {
      const j = JSON.parse(
        (await w.kc(["get", "pods", "-l", `kodama.dev/session=${S}`, "-o", "json"])).stdout,
      );
      const p = j.items.find((x: { metadata: { name: string } }) =>
        !x.metadata.name.startsWith("kodama-restore")
      );
      return { uid: p?.metadata?.uid as string | undefined, phase: p?.status?.phase as string | undefined };
    };
    const tar = async (args: string[]) => {
      const r = await new Deno.Command("tar", { args, stderr: "piped" }).output();
      assert(r.success, new TextDecoder().decode(r.stderr));
    };
    const dir = join(w.home, "files");
    await Deno.mkdir(dir);
    try {
      await t.step("a running session with a file in the workspace and one in home", async () => {
        const r = await w.k(["start", S, "--image", SESSION_IMAGE, "--no-sync"]);
        assertEquals(r.code, 0, r.stderr);
        await sh("echo keep > keep.txt && echo h > ~/h.txt");
      });

      await t.step(
        "files that are no snapshot: exit 2, one line naming the file, nothing touched",
        async () => {
          const before = await pod();
          assertEquals(before.phase, "Running");
          const env = join(dir, "some.env");
          await Deno.writeTextFile(env, "API_KEY=abc\nOTHER=1\n");
          const empty = join(dir, "empty.tar");
          await Deno.writeTextFile(empty, "");
          const big = join(dir, "big.env");
          await Deno.writeTextFile(big, "X=1\n".repeat(400));
          // a tar of something else, and a snapshot tar cut short
          await Deno.mkdir(join(dir, "other/x"), { recursive: true });
          const other = join(dir, "other.tar");
          await tar(["-cf", other, "-C", join(dir, "other"), "x"]);
          await Deno.mkdir(join(dir, "snap/workspace"), { recursive: true });
          await Deno.mkdir(join(dir, "snap/home"), { recursive: true });
          await Deno.writeTextFile(join(dir, "snap/workspace/big.bin"), "y".repeat(20_000));
          const whole = join(dir, "whole.tar");
          await tar(["-cf", whole, "-C", join(dir, "snap"), "workspace", "home"]);
          const cut = join(dir, "cut.tar");
          await Deno.writeFile(cut, (await Deno.readFile(whole)).subarray(0, 4096));
          const fifo = join(dir, "pipe.tar");
          assert((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
          const cases: [string, RegExp][] = [
            [env, /some\.env is not a tar archive/],
            [big, /big\.env is not a tar archive/],
            [empty, /empty\.tar is empty/],
            [other, /other\.tar is not a kodama snapshot: it holds x \(/],
            [cut, /cut\.tar is cut short/],
            [dir, /files is a directory, not a snapshot file/],
            [fifo, /pipe\.tar is a FIFO, not a snapshot file/],
          ];
          for (const [file, re] of cases) {
            const r = await w.k(["restore", S, file, "--force"]);
            assertEquals(r.code, 2, `${file}: ${r.stderr}`);
            assertMatch(r.stderr, re);
            assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
            assert(!hasStackTrace(r.stderr), r.stderr);
            // never stopped: the same pod, still running, and its files are there
            assertEquals(await pod(), before, file);
            assertEquals(await sh("cat keep.txt ~/h.txt"), "keep\nh\n", file);
          }
          const copies = await w.kc(["get", "pods", "-o", "name"]);
          assert(!copies.stdout.includes("kodama-restore-"), copies.stdout);
        },
      );

      await t.step(
        "a snapshot file whose unpack fails in the pod: files as they were, session resumed",
        async () => {
          // workspace/sub is a file, then workspace/sub/f needs it to be a directory: tar fails on it
          await Deno.mkdir(join(dir, "d1/workspace"), { recursive: true });
          await Deno.mkdir(join(dir, "d1/home"), { recursive: true });
          await Deno.writeTextFile(join(dir, "d1/workspace/sub"), "f\n");
          await Deno.mkdir(join(dir, "d2/workspace/sub"), { recursive: true });
          await Deno.writeTextFile(join(dir, "d2/workspace/sub/f"), "g\n");
          const clash = join(dir, "clash.tar");
          await tar(["-cf", clash, "-C", join(dir, "d1"), "workspace", "home"]);
          await tar(["-rf", clash, "-C", join(dir, "d2"), "workspace/sub/f"]);
          const r = await w.k(["restore", S, clash, "--force"]);
          assertEquals(r.code, 1, r.stderr);
          assertStringIncludes(r.stderr, `restore of ${S} failed`);
          assertMatch(r.stderr, /was resumed with its workspace and home as they were/);
          assert(!hasStackTrace(r.stderr), r.stderr);
          assertEquals((await pod()).phase, "Running");
          assertEquals(
            await sh("cat keep.txt ~/h.txt; ls -A . | grep -c kodama-restore-old || true"),
            "keep\nh\n0\n",
          );
        },
      );

      await t.step("a good snapshot file still restores", async () => {
        const file = join(dir, "good.tar");
        const made = await w.k(["snapshot", "create", S, "--to-file", file]);
        assertEquals(made.code, 0, made.stderr);
        await sh("echo changed > keep.txt");
        const r = await w.k(["restore", S, file, "--force"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await sh("cat keep.txt; ls -A . | grep -c kodama-restore-old || true"), "keep\n0\n");
        assertEquals((await pod()).phase, "Running");
      });
    } finally {
      await purge(w, S);
    }
  },
);
