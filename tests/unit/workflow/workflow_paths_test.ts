/**
 * `workflows.paths` (docs/config.md): extra directories searched after the repo's .kodama/workflows and
 * before ~/.kodama/workflows. From the user's config they are trusted like home workflows; from a
 * repo's .kodama.yaml only directories inside the repository count (after symlinks), and their
 * workflows are repo workflows: untrusted, needing trust for permissions.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { discover, findWorkflow } from "../../../src/workflow/discovery.ts";
import { loadWorkflowFile } from "../../../src/workflow/file.ts";
import { needsTrust } from "../../../src/workflow/trust.ts";
import { prepareWorkflow } from "../../../src/workflow/prepare.ts";
import { lockEnv } from "../../_env_lock.ts";

Deno.test("workflows.paths: user dirs are home workflows, repo dirs stay inside the repo and are untrusted", async () => {
  const unlock = await lockEnv(["KODAMA_HOME", "HOME"]);
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-wfpaths-" }));
  try {
    const home = join(tmp, "home");
    const kh = join(home, ".kodama");
    const repo = join(tmp, "repo");
    Deno.env.set("HOME", home);
    Deno.env.set("KODAMA_HOME", kh);
    await Deno.mkdir(join(home, "team"), { recursive: true });
    await Deno.mkdir(kh, { recursive: true });
    await Deno.mkdir(join(repo, ".git"), { recursive: true });
    await Deno.mkdir(join(repo, "ci", "wf"), { recursive: true });
    await Deno.mkdir(join(tmp, "outside"), { recursive: true });
    await Deno.symlink(join(tmp, "outside"), join(repo, "linked"));
    await Deno.writeTextFile(join(kh, "config.yaml"), `workflows:\n  paths: ["~/team"]\n`);
    await Deno.writeTextFile(join(home, "team", "teamwf.yaml"), `steps:\n  - local: { command: [x] }\n`);
    const wf = `permissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, -c, "true"] }\n`;
    await Deno.writeTextFile(join(repo, "ci", "wf", "ciwf.yaml"), wf);
    await Deno.writeTextFile(join(tmp, "outside", "sneaky.yaml"), wf);

    // only the user's config: its directory is searched, as a home source
    let refs = await discover(repo);
    const team = refs.find((r) => r.name === "teamwf");
    assertEquals(team?.source, "home");
    assertEquals(team?.file, join(home, "team", "teamwf.yaml"));

    // a repo's config naming a directory through a symlink out of it, or with .., is not used at all
    for (const bad of ["linked", "../outside", join(tmp, "outside"), "ci/../linked"]) {
      await Deno.writeTextFile(join(repo, ".kodama.yaml"), `workflows:\n  paths: [ci/wf, "${bad}"]\n`);
      refs = await discover(repo);
      assert(!refs.some((r) => r.name === "sneaky"), `${bad}: ${JSON.stringify(refs.map((r) => r.file))}`);
    }
    // one inside the repository is searched, as a repo source
    await Deno.writeTextFile(join(repo, ".kodama.yaml"), `workflows:\n  paths: [ci/wf]\n`);
    refs = await discover(repo);
    const ci = refs.find((r) => r.name === "ciwf");
    assertEquals(ci?.source, "repo");
    const ref = await findWorkflow("ciwf", repo);
    const lw = await loadWorkflowFile(ref.file, ref.source);
    assertEquals(lw.baseDir, join(repo, "ci", "wf"));
    assert(
      await needsTrust(await prepareWorkflow(lw, { cwd: repo })),
      "a repo-configured workflow with permissions needs trust",
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
    unlock();
  }
});
