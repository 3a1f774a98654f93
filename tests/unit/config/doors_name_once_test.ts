/**
 * Issue 79, defect 6: a door's refusal names each path once. A repository given by its absolute path (as
 * `session_start`'s `repo` takes it) was named twice (`repository "/x/out" "/x/out" leads outside …`); so
 * was an absolute path through a link, a `file://` URL, a path with a trailing slash. Each spelling is now
 * named once, and where it leads once when that differs.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { Door } from "../../../src/config/doors.ts";
import { localSource } from "../../../src/session/git/gitrun.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { git } from "../../_git.ts";

const count = (s: string, sub: string) => s.split(sub).length - 1;

Deno.test("doors: a refusal names the path once, and where it leads once", async () => {
  const t = await Deno.realPath(await Deno.makeTempDir({ prefix: "doors-once-test-" }));
  try {
    const proj = join(t, "proj"), out = join(t, "out");
    for (const d of [proj, out]) {
      await Deno.mkdir(d);
      git(["init", "-q"], d);
    }
    await Deno.symlink(out, join(proj, "link"));
    const door = await Door.open({
      who: "an MCP client",
      started: proj,
      allow: [],
      flag: "kodama mcp --allow-path",
    });
    const refusal = async (repo: string) => {
      const e = await assertRejects(() => localSource(repo, proj, door));
      assert(e instanceof KodamaError, String(e));
      assertEquals(e.code, ExitCode.FORBIDDEN, e.message);
      return e.message.replace(/ leads outside the project .*$/, "");
    };
    // the path as given equals where it leads: once
    let m = await refusal(out);
    assertEquals(count(m, out), 1, m);
    m = await refusal(`${out}/`);
    assertEquals(count(m, out), 1, m);
    m = await refusal(`file://${out}`);
    assertEquals(count(m, out), 1, m);
    // through a link: the path given once, where it leads once
    m = await refusal(join(proj, "link"));
    assertEquals(m, `repository "${join(proj, "link")}" (${out})`);
    m = await refusal("../out");
    assertEquals(m, `repository "../out" (${out})`);
    // the other doors' words, unchanged: the name given and the real path
    const e = await assertRejects(() => door.path("link", "cwd"));
    assertEquals((e as Error).message.replace(/ leads outside.*$/, ""), `cwd "link" (${out})`);
    const f = await assertRejects(() => door.path(out, "cwd"));
    assertEquals((f as Error).message.replace(/ leads outside.*$/, ""), `cwd "${out}"`);
  } finally {
    await Deno.remove(t, { recursive: true });
  }
});
