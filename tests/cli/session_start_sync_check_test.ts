/**
 * `start NAME --sync PATH` checks PATH before anything is created: a missing directory is exit 3, a file
 * exit 2, with one line and nothing in the cluster or the local state afterwards — with --no-wait too
 * (which once ignored a bad path and started the session without its sync).
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const N = "ssync-bad";

withSessionWorld(
  "start --sync: a missing directory or a file is refused before any object is created",
  { timeoutMs: 300_000 },
  async (t, w) => {
    const file = join(w.cwd, "notes.txt");
    await Deno.writeTextFile(file, "x\n");
    const cases: [string, number, RegExp][] = [
      ["/nonexistent/dir", 3, /--sync \/nonexistent\/dir: no such directory/],
      ["notes.txt", 2, /--sync notes\.txt: not a directory/],
    ];
    try {
      for (const wait of [[], ["--no-wait"]]) {
        for (const [path, code, re] of cases) {
          await t.step(`--sync ${path} ${wait.join(" ")}`, async () => {
            const r = await w.k(["start", N, "--image", SESSION_IMAGE, "--sync", path, ...wait]);
            assertEquals(r.code, code, r.stderr);
            assertMatch(r.stderr, re);
            assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
            assert(!hasStackTrace(r.stderr), r.stderr);
            assert(!r.stderr.includes("cleaned up"), `objects were made, then removed: ${r.stderr}`);
            assertEquals(r.stdout, "");
            const got = await w.kc([
              "get",
              "pods,pvc,secrets,configmaps",
              "-l",
              `kodama.dev/session=${N}`,
              "-o",
              "name",
            ]);
            assertEquals(got.code, 0, got.stderr);
            assertEquals(got.stdout.trim(), "", "objects exist after the refusal");
            const state = await Deno.stat(join(w.home, "sessions", `${N}.yaml`)).then(
              () => true,
              () => false,
            );
            assert(!state, "a local state file was written");
          });
        }
      }
    } finally {
      await purge(w, N);
    }
  },
);
