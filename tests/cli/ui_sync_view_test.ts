/**
 * The web UI's sync "View both" (GET /api/sessions/NAME/sync?path=REL) and `kodama sync diff NAME REL`
 * read a path of the synced directory on both sides. A page names REL, and the directory holds what a
 * repository committed (or an agent wrote through sync): a link `lnk -> ~/.ssh` made `?path=lnk/id_ed25519`
 * return the key. Both sides are read only as sync sees them: no component of REL may be a symlink (here or
 * in the pod), the real path stays inside the root and outside .git, and a refusal is a 403 JSON error
 * (exit 4 for the CLI), one line, no stack trace, nothing of the file. No browser: plain fetch with the
 * page's credential.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const NAME = "ui-sync-view";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY----- not-a-real-key";

withSessionWorld(
  "ui sync view: a path through a link, into .git or through a pod's link is refused (403), a file is shown",
  { ignore: onRealCluster, timeoutMs: 240_000 },
  async (t, w) => {
    const root = `${w.cwd}/project`;
    const ssh = `${w.cwd}/home/.ssh`;
    await Deno.mkdir(`${root}/src`, { recursive: true });
    await Deno.mkdir(ssh, { recursive: true });
    await Deno.writeTextFile(`${ssh}/id_ed25519`, `${KEY}\n`);
    await Deno.writeTextFile(`${root}/a.txt`, "a\n");
    await Deno.writeTextFile(`${root}/src/b.txt`, "b\n");
    let ui: Deno.ChildProcess | undefined;
    try {
      const r = await w.k(["start", NAME, "--image", SESSION_IMAGE, "--sync", "project"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals((await w.k(["sync", "stop", NAME])).code, 0);
      // what a repository could commit: a link to ~/.ssh, a link to the key itself, a link to a parent
      await Deno.symlink(ssh, `${root}/lnk`);
      await Deno.symlink(`${ssh}/id_ed25519`, `${root}/key`);
      await Deno.symlink("..", `${root}/src/up`);
      await Deno.mkdir(`${root}/.git`);
      await Deno.writeTextFile(`${root}/.git/config`, `[core]\n\tsecret = ${KEY}\n`);
      // a link in the pod (sync sends and shows it as a link, never what it points at)
      const pod = await w.sh(NAME, "cd /workspace && ln -s src podlnk");
      assertEquals(pod.code, 0, pod.stderr);

      ui = w.spawn(["ui"]);
      const { text, rest } = await readUntil(ui.stdout, /\n/);
      rest.releaseLock();
      const url = new URL(text.trim());
      const page = await (await fetch(`${url.origin}/?token=${url.searchParams.get("token")}`)).text();
      const session = /<meta name="kodama-session" content="([0-9a-f]+)">/.exec(page)?.[1];
      assert(session, "the page carries its credential");
      const view = async (path: string) => {
        const res = await fetch(
          `${url.origin}/api/sessions/${NAME}/sync?path=${encodeURIComponent(path)}`,
          { headers: { authorization: `Bearer ${session}` } },
        );
        return { status: res.status, body: await res.text() };
      };

      await t.step("a file of the synced directory: both sides", async () => {
        const ok = await view("src/b.txt");
        assertEquals(ok.status, 200, ok.body);
        assertEquals(JSON.parse(ok.body), { path: "src/b.txt", local: "b\n", pod: "b\n" });
      });

      await t.step("through a local link, a link itself, into .git: 403, nothing of the file", async () => {
        for (
          const [path, re] of [
            ["lnk/id_ed25519", /lnk.*symlink|symlink.*lnk/],
            ["key", /symlink/],
            ["src/up/a.txt", /symlink/],
            [".git/config", /\.git/],
            ["src/../.git/config", /\.\./],
          ] as const
        ) {
          const r = await view(path);
          assert(r.status === 403 || r.status === 400, `${path}: ${r.status} ${r.body}`);
          assert(!r.body.includes("PRIVATE KEY"), `${path} leaked: ${r.body}`);
          const j = JSON.parse(r.body);
          assertMatch(j.error, re, path);
          assert(!j.error.includes("\n"), j.error);
        }
      });

      await t.step("through a link in the pod: 403", async () => {
        const r = await view("podlnk/b.txt");
        assertEquals(r.status, 403, r.body);
        assertMatch(JSON.parse(r.body).error, /in the pod.*symlink|symlink.*in the pod/);
      });

      await t.step(
        "a file larger than 4 MiB, here or in the pod: refused (400, exit 2), not read whole",
        async () => {
          await Deno.writeTextFile(`${root}/big.log`, "x".repeat(5 * 1024 * 1024));
          const here = await view("big.log");
          assertEquals(here.status, 400, here.body);
          assertMatch(
            JSON.parse(here.body).error,
            /^big\.log is larger than 4.0 MiB here: too large to show/,
          );
          const made = await w.sh(NAME, "head -c 5000000 /dev/zero > /workspace/pod.bin");
          assertEquals(made.code, 0, made.stderr);
          const pod = await view("pod.bin");
          assertEquals(pod.status, 400, pod.body);
          assertMatch(JSON.parse(pod.body).error, /larger than 4.0 MiB in the pod/);
          const cli = await w.k(["sync", "diff", NAME, "pod.bin"]);
          assertEquals(cli.code, 2, cli.stderr);
          assertEquals(cli.stderr.trim().split("\n").length, 2, cli.stderr);
        },
      );

      await t.step("sync diff through a link: exit 4, one line, no stack trace", async () => {
        const r = await w.k(["sync", "diff", NAME, "lnk/id_ed25519"]);
        assertEquals(r.code, 4, r.stderr);
        assert(!r.stdout.includes("PRIVATE KEY") && !r.stderr.includes("PRIVATE KEY"), r.stdout);
        assertMatch(r.stderr, /symlink/);
        assert(!hasStackTrace(r.stderr), r.stderr);
      });
    } finally {
      if (ui) {
        ui.kill("SIGINT");
        await ui.status;
        await ui.stderr.cancel().catch(() => {});
        await ui.stdout.cancel().catch(() => {});
      }
      await purge(w, NAME);
    }
  },
);
