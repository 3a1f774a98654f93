import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { discover, findWorkflow } from "../../../src/workflow/discovery.ts";
import { loadWorkflowFile } from "../../../src/workflow/file.ts";
import { contentHash, ensureTrusted, isTrusted, needsTrust } from "../../../src/workflow/trust.ts";
import { lockEnv } from "../../_env_lock.ts";

const WF = (desc: string, perms = "") =>
  `description: ${desc}\n${perms}steps:\n  - local: { command: [echo, hi] }\n`;

async function sandboxDirs() {
  const unlock = await lockEnv();
  const root = await Deno.makeTempDir({ prefix: "kodama-disc-" });
  const home = join(root, "home");
  const repo = join(root, "repo");
  const sub = join(repo, "pkg", "sub");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
  await Deno.mkdir(join(sub, ".kodama", "workflows"), { recursive: true });
  await Deno.mkdir(join(home, "workflows"), { recursive: true });
  Deno.env.set("KODAMA_HOME", home);
  return { root, home, repo, sub, unlock };
}

Deno.test("discovery: nearest first (sub dir, repo root, home, built-in); shadowing is reported", async () => {
  const d = await sandboxDirs();
  try {
    await Deno.writeTextFile(join(d.repo, ".kodama", "workflows", "kwekash.yaml"), WF("repo kwekash"));
    await Deno.writeTextFile(join(d.repo, ".kodama", "workflows", "deploy.yml"), WF("repo deploy"));
    await Deno.writeTextFile(join(d.sub, ".kodama", "workflows", "deploy.yaml"), WF("sub deploy"));
    await Deno.writeTextFile(join(d.home, "workflows", "mine.yaml"), WF("home"));
    await Deno.writeTextFile(join(d.home, "workflows", "deploy.yaml"), WF("home deploy"));
    const refs = await discover(d.sub);
    const live = refs.filter((r) => !r.shadowedBy).map((r) => `${r.name}:${r.source}`);
    assertEquals(live, ["deploy:repo", "kwekash:repo", "mine:home", "health:builtin", "shell:builtin"]);
    const deploys = refs.filter((r) => r.name === "deploy");
    assertEquals(deploys.map((r) => r.file), [
      join(d.sub, ".kodama", "workflows", "deploy.yaml"),
      join(d.repo, ".kodama", "workflows", "deploy.yml"),
      join(d.home, "workflows", "deploy.yaml"),
    ]);
    assertEquals(deploys[1].shadowedBy?.file, deploys[0].file);
    const kw = refs.find((r) => r.name === "kwekash" && r.source === "builtin");
    assertEquals(kw?.shadowedBy?.source, "repo");
    assertEquals((await findWorkflow("deploy", d.sub)).file, deploys[0].file);
    await assertRejects(
      () => findWorkflow("deplyo", d.sub),
      'no workflow named "deplyo" (did you mean "deploy"?)',
    );
    // outside the git repo only the current directory counts
    const outside = await discover(d.root);
    assert(!outside.some((r) => r.source === "repo"));
  } finally {
    Deno.env.delete("KODAMA_HOME");
    d.unlock();
    await Deno.remove(d.root, { recursive: true });
  }
});

Deno.test("discovery: built-ins load from beside the sources", async () => {
  const ref = await findWorkflow("kwekash", "/");
  assertEquals(ref.source, "builtin");
  const lw = await loadWorkflowFile(ref.file, ref.source);
  assertEquals(lw.workflow.targets?.drive?.namespace, "weka-operator-system");
  assertEquals(lw.workflow.params?.cmd?.default, "weka version");
});

Deno.test("trust: repo workflows with permissions need --trust once; an edit (workflow or script) asks again", async () => {
  const d = await sandboxDirs();
  try {
    const file = join(d.repo, ".kodama", "workflows", "p.yaml");
    await Deno.writeTextFile(join(d.repo, "s.ts"), "export default () => ({})\n");
    await Deno.writeTextFile(
      file,
      WF("needs run", "permissions: { run: [echo] }\n") + "  - script: { module: ../../s.ts }\n",
    );
    let lw = await loadWorkflowFile(file, "repo");
    assert(await needsTrust(lw));
    const e = await assertRejects(() => ensureTrusted(lw, { interactive: false }));
    assertStringIncludes(e.message, "is not trusted; it asks for permissions: run: echo");
    assertStringIncludes((e as { hint?: string }).hint ?? "", "--trust");
    await ensureTrusted(lw, { interactive: false, trust: true });
    assert(await isTrusted(lw));
    await ensureTrusted(lw, { interactive: false }); // now silent
    const trustYaml = await Deno.readTextFile(join(d.home, "trust.yaml"));
    assertStringIncludes(trustYaml, await contentHash(lw));

    // editing the script the workflow runs invalidates the trust
    await Deno.writeTextFile(join(d.repo, "s.ts"), "export default () => ({ evil: true })\n");
    lw = await loadWorkflowFile(file, "repo");
    await assertRejects(() => ensureTrusted(lw, { interactive: false }), "(changed since you trusted it)");

    // on a TTY the person is asked; saying no refuses
    const asked: string[] = [];
    await assertRejects(
      () =>
        ensureTrusted(lw, {
          interactive: true,
          confirm: (m) => (asked.push(m), Promise.resolve(false)),
          note: () => {},
        }),
      "not trusted; nothing was run",
    );
    await ensureTrusted(lw, { interactive: true, confirm: () => Promise.resolve(true), note: () => {} });
    assertEquals(asked.length, 1);
    assert(await isTrusted(lw));

    // built-in / home workflows and workflows without permissions need no trust
    assertEquals(await needsTrust({ ...lw, source: "home" }), false);
    assertEquals(await needsTrust({ ...lw, workflow: { ...lw.workflow, permissions: { run: [] } } }), false);
  } finally {
    Deno.env.delete("KODAMA_HOME");
    d.unlock();
    await Deno.remove(d.root, { recursive: true });
  }
});
