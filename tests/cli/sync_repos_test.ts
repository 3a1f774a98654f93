/**
 * Sync per repository (#81.2), black-box against the test server: a session with several repositories syncs
 * each one it writes on its own, from the directory given to `start --repo` to /workspace/REPO, both ways;
 * a read-only one is never synced; status shows each; a command that means one path needs `--repo`; the
 * overlap rule holds per directory; stop ends every background sync and delete forgets them.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { openUi, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { readLocal } from "./_sync.ts";
import { waitUntil } from "../cluster/harness.ts";
import { localRepo } from "./_repos.ts";

const NAME = "sr1";

withSessionWorld("sync of a session with several repositories: each directory its own", {
  timeoutMs: 8 * 60_000,
}, async (t, w) => {
  const repo = localRepo;
  const api = `${w.cwd}/api`, web = `${w.cwd}/web`, docs = `${w.cwd}/docs`;
  const pod = async (script: string) => {
    const r = await w.sh(NAME, `cd /workspace && ${script}`);
    assertEquals(r.code, 0, `${script}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const log = (repo: string) => Deno.readTextFile(`${w.home}/sync/${NAME}@${repo}/sync.log`).catch(() => "");
  const until = async (what: string, fn: () => Promise<boolean>) => {
    try {
      await waitUntil(fn, 60_000, what);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\napi log:\n${await log("api")}\nweb log:\n${await log("web")}`,
      );
    }
  };
  try {
    await repo(api, { "a.txt": "a\n" });
    await repo(web, { "w.txt": "w\n" });
    await repo(docs, { "d.txt": "d\n" });
    const r = await w.k([
      "start",
      NAME,
      "--repo",
      "./api",
      "--repo",
      "./web",
      "--repo",
      "./docs:ro",
      "--sync",
      ".",
      "--image",
      SESSION_IMAGE,
    ]);
    assertEquals(r.code, 2, "--sync PATH with several repositories is refused");
    assertMatch(r.stderr, /each one from the directory given to --repo/);
    const s = await w.k([
      "start",
      NAME,
      "--repo",
      "./api",
      "--repo",
      "./web",
      "--repo",
      "./docs:ro",
      "--image",
      SESSION_IMAGE,
    ]);
    assertEquals(s.code, 0, s.stderr);

    await t.step("sync start syncs each repository it writes; the read-only one never", async () => {
      const x = await w.k(["sync", "start", NAME]);
      assertEquals(x.code, 0, x.stderr);
      assertEquals(x.stdout.trim().split("\n").sort(), [
        `sync/${NAME}@api started`,
        `sync/${NAME}@web started`,
      ]);
      assertStringIncludes(x.stderr, `${api} -> `);
      assertStringIncludes(x.stderr, ":/workspace/api");
      assertStringIncludes(x.stderr, ":/workspace/web");
      assert(
        !(await Deno.stat(`${w.home}/sync/${NAME}@docs`).then(() => true, () => false)),
        "docs is synced",
      );
      const ro = await w.k(["sync", "start", NAME, "--repo", "docs"]);
      assertEquals(ro.code, 2);
      assertMatch(ro.stderr, /docs .* is read-only/);
      const none = await w.k(["sync", "status", NAME, "--repo", "nope"]);
      assertEquals(none.code, 3, none.stderr);
    });

    await t.step(
      "a local change reaches its own directory in the pod; a pod change comes home to its own",
      async () => {
        await Deno.writeTextFile(`${api}/new.txt`, "from here\n");
        await until(
          "api/new.txt in the pod",
          async () => (await w.sh(NAME, "cat /workspace/api/new.txt")).stdout === "from here\n",
        );
        assertEquals(
          (await w.sh(NAME, "test -e /workspace/new.txt || test -e /workspace/web/new.txt")).code,
          1,
        );
        await pod("printf 'pod\\n' > web/back.txt");
        await until("web/back.txt here", async () => (await readLocal(`${web}/back.txt`)) === "pod\n");
        assertEquals(await readLocal(`${api}/back.txt`), undefined, "a web change went to api");
        await pod("printf 'x\\n' > docs/d2.txt");
        assertEquals(await readLocal(`${docs}/d2.txt`), undefined, "the read-only repository came home");
      },
    );

    await t.step("status shows each (text and JSON); list's SYNC column says Active once", async () => {
      const st = await w.k(["sync", "status", NAME]);
      assertEquals(st.code, 0, st.stderr);
      assertMatch(st.stdout, /Repository:\s+api/);
      assertMatch(st.stdout, /Repository:\s+web/);
      assertStringIncludes(st.stdout, "/workspace/web");
      const js = JSON.parse((await w.k(["sync", "status", NAME, "-o", "json"])).stdout);
      assertEquals(js.map((d: { repo: string }) => d.repo), ["api", "web"]);
      assertEquals(js.map((d: { workdir: string }) => d.workdir), ["/workspace/api", "/workspace/web"]);
      const one = JSON.parse((await w.k(["sync", "status", NAME, "--repo", "web", "-o", "json"])).stdout);
      assertEquals([one.name, one.repo, one.root], [NAME, "web", web]);
      const ls = await w.k(["list", "-o", "wide"]);
      assertMatch(ls.stdout.split("\n").find((l) => l.startsWith(NAME)) ?? "", /\bActive\b/);
    });

    await t.step(
      "one path means one repository: diff and resolve without --repo are refused (exit 2)",
      async () => {
        const d = await w.k(["sync", "diff", NAME, "a.txt"]);
        assertEquals(d.code, 2, d.stderr);
        assertMatch(d.stderr, /name the one for sync diff with --repo/);
        assertStringIncludes(d.stderr, "api, web");
        const same = await w.k(["sync", "diff", NAME, "a.txt", "--repo", "api"]);
        assertEquals(same.code, 0, same.stderr);
        const rs = await w.k(["sync", "resolve", NAME, "a.txt", "--keep", "local"]);
        assertEquals(rs.code, 2, rs.stderr);
      },
    );

    await t.step(
      "the web UI: each repository's sync; a path read through the repository named, checked",
      async () => {
        const ui = await openUi(w.spawn(["ui"]));
        try {
          const get = async (q: string) => {
            const res = await fetch(`${ui.origin}/api/sessions/${NAME}/sync${q}`, {
              headers: { authorization: ui.authorization },
            });
            return { status: res.status, body: await res.text() };
          };
          const all = await get("");
          assertEquals(all.status, 200, all.body);
          const d = JSON.parse(all.body);
          assertEquals(d.repos.map((r: { repo: string; workdir: string }) => [r.repo, r.workdir]), [
            ["api", "/workspace/api"],
            ["web", "/workspace/web"],
          ]);
          const both = await get("?path=back.txt&repo=web");
          assertEquals(both.status, 200, both.body);
          assertEquals(JSON.parse(both.body), { path: "back.txt", local: "pod\n", pod: "pod\n" });
          for (const bad of ["..", "../api", "web/..", "docs"]) {
            const r = await get(`?path=a.txt&repo=${encodeURIComponent(bad)}`);
            assert(r.status >= 400 && r.status < 500, `repo ${bad}: ${r.status} ${r.body}`);
            assert(!r.body.includes("    at "), r.body);
          }
        } finally {
          await ui.close();
        }
      },
    );

    await t.step("the overlap rule per directory: another session cannot sync api two-way", async () => {
      const o = await w.k(["start", "sr2", "--sync", api, "--image", SESSION_IMAGE, "--no-wait"]);
      assertEquals(o.code, 2, o.stderr);
      assertMatch(o.stderr, new RegExp(`session ${NAME} \\(repository api\\) syncs two-way`));
    });

    await t.step("session land pauses each repository's sync, lands both, and the syncs go on", async () => {
      await pod(
        "cd api && printf 'agent\\n' > a.txt && git -c user.name=a -c user.email=a@p commit -qam api",
      );
      await pod(
        "cd web && printf 'agent\\n' > w.txt && git -c user.name=a -c user.email=a@p commit -qam web",
      );
      // the agent's files come home through each sync first (uncommitted here, the same as its commits)
      await until(
        "both edits here",
        async () =>
          (await readLocal(`${api}/a.txt`)) === "agent\n" && (await readLocal(`${web}/w.txt`)) === "agent\n",
      );
      const l = await w.k(["session", "land", NAME]);
      assertEquals(l.code, 0, l.stderr);
      assertMatch(l.stderr, new RegExp(`paused the sync of ${NAME}@api`));
      assertMatch(l.stderr, new RegExp(`paused the sync of ${NAME}@web`));
      assertStringIncludes(l.stderr, "the sync of api, web goes on");
      for (const [dir, f, subject] of [[api, "a.txt", "api"], [web, "w.txt", "web"]]) {
        const log = new Deno.Command("git", {
          args: ["log", "-1", "--format=%s", "--", f],
          cwd: dir,
          stdout: "piped",
        })
          .outputSync();
        assertEquals(new TextDecoder().decode(log.stdout).trim(), subject, `${dir} landed`);
      }
      const js = JSON.parse((await w.k(["sync", "status", NAME, "-o", "json"])).stdout);
      assertEquals(js.map((d: { column: string }) => d.column), ["Active", "Active"]);
    });

    await t.step("stop ends each background sync; resume starts each again", async () => {
      const st = await w.k(["stop", NAME]);
      assertEquals(st.code, 0, st.stderr);
      assertStringIncludes(st.stderr, `stopped the background sync of ${NAME}@api`);
      assertStringIncludes(st.stderr, `stopped the background sync of ${NAME}@web`);
      const rs = await w.k(["resume", NAME]);
      assertEquals(rs.code, 0, rs.stderr);
      assertMatch(rs.stderr, /synced changes since the last sync of api/);
      const js = JSON.parse((await w.k(["sync", "status", NAME, "-o", "json"])).stdout);
      assertEquals(js.map((d: { column: string }) => d.column), ["Active", "Active"]);
    });

    await t.step("delete forgets each repository's sync", async () => {
      const d = await w.k(["delete", NAME, "--force", "--purge"]);
      assertEquals(d.code, 0, d.stderr);
      for (const r of ["api", "web"]) {
        assert(!(await Deno.stat(`${w.home}/sync/${NAME}@${r}`).then(() => true, () => false)), `${r} kept`);
      }
      assertEquals(await readLocal(`${web}/back.txt`), "pod\n", "the work synced home stays");
    });
  } finally {
    await purge(w, NAME);
  }
});
