/**
 * `session pr`'s REST calls (src/agent/forge/api.ts) against the forge stand-in (tests/forge/_forge.ts), for
 * each of GitHub (Enterprise Server's /api/v3), GitLab (/api/v4, a project in a subgroup by its encoded path)
 * and Gitea (/api/v1): the repository and its default branch, a refused token (exit 4, the variable named,
 * the token never in the message), a missing repository (exit 3), no open request yet, create (a draft by
 * each forge's means), found again by its head branch, updated in place (same number), a second create of the
 * same head refused as the forge refuses it, and a head the repository lacks refused (exit 1, the forge's
 * words). The stand-in's git smart HTTP takes a real push first, so the branches exist as on a forge.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { startForge } from "./_forge.ts";
import { forgeApi } from "../../src/agent/forge/api.ts";
import { forgeOf, type ForgeType } from "../../src/agent/forge/forgeurl.ts";
import { ExitCode, type KodamaError } from "../../src/base/errors.ts";

async function git(args: string[], cwd?: string) {
  const r = await new Deno.Command("git", {
    args,
    cwd,
    env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trim();
}

Deno.test("forge API: GitHub, GitLab and Gitea — check, find, create, update, refuse", async (t) => {
  const f = await startForge();
  const work = await Deno.makeTempDir({ prefix: "kodama-forge-api-" });
  try {
    const repos: Record<ForgeType, string> = {
      github: "acme/widget",
      gitlab: "grp/sub/proj",
      gitea: "me/tool",
    };
    for (const [type, path] of Object.entries(repos) as [ForgeType, string][]) {
      await t.step(type, async () => {
        await f.addRepo(path);
        const hosts = { [f.host]: { type } };
        const forge = forgeOf(f.gitUrl(path), hosts);
        const pre = { github: "/api/v3", gitlab: "/api/v4", gitea: "/api/v1" }[type];
        assertEquals(forge.apiUrl, `${f.origin}${pre}`);
        // the head branch on the forge: a real push over smart HTTP, with the git password
        const clone = `${work}/${type}`;
        const authed = f.gitUrl(path).replace("http://", `http://tester:${f.gitPassword}@`);
        await git(["clone", "-q", authed, clone]);
        await git([
          "-c",
          "user.name=a",
          "-c",
          "user.email=a@b",
          "commit",
          "-q",
          "--allow-empty",
          "-m",
          "work",
        ], clone);
        await git(["push", "-q", "origin", "HEAD:refs/heads/kodama/s1"], clone);
        assert(f.requests.some((r) => r.path.endsWith("/git-receive-pack") && r.auth === "ok"));

        const api = forgeApi(forge, f.token, "THE_VAR");
        assertEquals(await api.repository(), { defaultBranch: "main" });

        const bad = forgeApi(forge, "wrong-token", "THE_VAR");
        const e = await assertRejects(() => bad.repository()) as KodamaError;
        assertEquals(e.code, ExitCode.FORBIDDEN);
        assertMatch(e.message, /^session pr: 127\.0\.0\.1:\d+ refused the token in THE_VAR \(HTTP 401/);
        assert(!e.message.includes("wrong-token") && !(e.hint ?? "").includes("wrong-token"));

        const gone = forgeApi(
          forgeOf(f.gitUrl(type === "gitlab" ? "grp/none" : "no/such"), hosts),
          f.token,
          "V",
        );
        assertEquals((await assertRejects(() => gone.repository()) as KodamaError).code, ExitCode.NOT_FOUND);

        assertEquals(await api.openFor("kodama/s1"), undefined);
        const made = await api.create({
          head: "kodama/s1",
          base: "main",
          title: "Do it",
          body: "first",
          draft: true,
        });
        assertEquals(made.number, 1);
        assertEquals(made.draft, true);
        assertMatch(made.url, new RegExp(`^${f.origin}/${path}/`));
        const stored = f.pulls.find((p) => p.kind === type && p.repo === path)!;
        assertEquals([stored.head, stored.base, stored.body], ["kodama/s1", "main", "first"]);
        // a draft by the forge's own means: GitHub's field, GitLab's and Gitea's title prefix
        assertEquals(
          stored.title,
          type === "github" ? "Do it" : type === "gitlab" ? "Draft: Do it" : "WIP: Do it",
        );

        const found = await api.openFor("kodama/s1");
        assertEquals(found?.number, 1);
        // its description too (a session with several repositories re-links it: prrepos.ts)
        assertEquals(found?.body, "first");
        assertEquals(await api.openFor("kodama/other"), undefined);

        const changed = await api.update(1, {
          body: "second",
          title: "Done",
          ...(type === "github" ? {} : { draft: false }),
        });
        assertEquals(changed.number, 1);
        assertEquals([stored.body, stored.title, stored.updates], ["second", "Done", 1]);
        // only the draft state asked for: the title kept, its prefix back
        if (type !== "github") {
          await api.update(1, { body: "third", draft: true });
          assertEquals(stored.title, type === "gitlab" ? "Draft: Done" : "WIP: Done");
        }

        const dup = await assertRejects(() =>
          api.create({ head: "kodama/s1", base: "main", title: "again", body: "", draft: false })
        ) as KodamaError;
        assertEquals(dup.code, ExitCode.FAILED);
        assertMatch(dup.message, /already exists/);
        const nohead = await assertRejects(() =>
          api.create({ head: "kodama/none", base: "main", title: "x", body: "", draft: false })
        ) as KodamaError;
        assertEquals(nohead.code, ExitCode.FAILED);
        assertMatch(nohead.message, /HTTP (422|400)/);
        assertEquals(f.pulls.filter((p) => p.kind === type).length, 1);
      });
    }
    // every API call carried the token in a header, none in its path or query
    assert(!f.requests.some((r) => r.path.includes(f.token)));
  } finally {
    await f.close();
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.remove(f.root, { recursive: true }).catch(() => {});
  }
});
