/**
 * #81: only the person starting a session names its repositories. A template (a file of the repository, the
 * `templates:` of a .kodama.yaml, a devcontainer.json) that tries to add one is refused at its line, with a
 * one-line reason; it never reaches `start`.
 */
import { assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { templatesOfFile } from "../../../src/session/spec/template.ts";
import type { KodamaError } from "../../../src/base/errors.ts";

async function inRepo(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kodama-tplrepos-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a template that names repositories is refused, every spelling, at its line", async () => {
  await inRepo(async (dir) => {
    const cases: [string, string][] = [
      ["t.yaml", "image: alpine\nrepos:\n  - ../other\n"],
      ["u.yaml", "repo: /etc\n"],
      ["v.yaml", "Repositories: [../x]\n"],
      [".kodama.yaml", "templates:\n  w:\n    image: alpine\n    repos: [../x, ../y=y:ro]\n"],
    ];
    for (const [file, text] of cases) {
      await Deno.writeTextFile(`${dir}/${file}`, text);
      const e = await assertRejects(() => templatesOfFile(file, dir)) as KodamaError;
      assertEquals(e.code, 2, file);
      assertMatch(
        e.message,
        /: template "\w+" \((repos?|Repositories)\): a template cannot add repositories$/,
      );
      assertMatch(e.message, new RegExp(`/${file.replace(".", "\\.")}:\\d+:\\d+: `));
      assertMatch(e.hint ?? "", /kodama start NAME --repo PATH/);
    }
  });
});

Deno.test("a devcontainer.json's repositories are not read: its template has none", async () => {
  await inRepo(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/devcontainer.json`,
      JSON.stringify({ image: "alpine", repos: ["../x"] }),
    );
    const [t] = await templatesOfFile("devcontainer.json", dir);
    assertEquals("repos" in t || "repo" in t, false);
  });
});
