import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { discover, findWorkflow } from "../../../src/workflow/discovery.ts";
import { loadWorkflowFile } from "../../../src/workflow/file.ts";
import { contentHash, ensureTrusted, isTrusted, needsTrust } from "../../../src/workflow/trust.ts";
import { prepareWorkflow } from "../../../src/workflow/prepare.ts";
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
    let p = await prepareWorkflow(lw);
    assert(await needsTrust(p));
    const e = await assertRejects(() => ensureTrusted(p, { interactive: false }));
    assertStringIncludes(e.message, "is not trusted; it asks for permissions: run: echo");
    assertStringIncludes((e as { hint?: string }).hint ?? "", "--trust");
    await ensureTrusted(p, { interactive: false, trust: true });
    assert(await isTrusted(p));
    await ensureTrusted(p, { interactive: false }); // now silent
    const trustYaml = await Deno.readTextFile(join(d.home, "trust.yaml"));
    assertStringIncludes(trustYaml, await contentHash(p));

    // editing the script the workflow runs invalidates the trust
    await Deno.writeTextFile(join(d.repo, "s.ts"), "export default () => ({ evil: true })\n");
    lw = await loadWorkflowFile(file, "repo");
    p = await prepareWorkflow(lw);
    await assertRejects(() => ensureTrusted(p, { interactive: false }), "(changed since you trusted it)");

    // on a TTY the person is asked; saying no refuses
    const asked: string[] = [];
    await assertRejects(
      () =>
        ensureTrusted(p, {
          interactive: true,
          confirm: (m) => (asked.push(m), Promise.resolve(false)),
          note: () => {},
        }),
      "not trusted; nothing was run",
    );
    await ensureTrusted(p, { interactive: true, confirm: () => Promise.resolve(true), note: () => {} });
    assertEquals(asked.length, 1);
    assert(await isTrusted(p));

    // built-in / home workflows and workflows without permissions need no trust
    // (its local step only: a home workflow's scripts live in $KODAMA_HOME, this one's in the repo)
    const local = { ...lw.workflow, steps: lw.workflow.steps.slice(0, 1) };
    assertEquals(await needsTrust(await prepareWorkflow({ ...lw, source: "home", workflow: local })), false);
    const none = { ...lw, workflow: { ...lw.workflow, permissions: { run: [] } } };
    assertEquals(await needsTrust(await prepareWorkflow(none)), false);
  } finally {
    Deno.env.delete("KODAMA_HOME");
    d.unlock();
    await Deno.remove(d.root, { recursive: true });
  }
});

Deno.test("prepare: a check is a value: the tree of what it called, and a later check sees an edit the first keeps out", async () => {
  const d = await sandboxDirs();
  try {
    const wf = join(d.repo, ".kodama", "workflows");
    await Deno.writeTextFile(join(d.repo, "s.ts"), "export default () => ({})\n");
    await Deno.writeTextFile(
      join(wf, "child.yaml"),
      WF("child", "permissions: { run: [echo] }\n") + "  - script: { module: ../../s.ts }\n",
    );
    await Deno.writeTextFile(
      join(wf, "top.yaml"),
      "description: top\nsteps:\n  - workflow: { name: child }\n  - workflow: { name: child.yaml }\n",
    );
    const lw = await loadWorkflowFile(join(wf, "top.yaml"), "repo");
    const first = await prepareWorkflow(lw, { cwd: d.repo });
    // the child's check travels inside its caller's: one value however often it is called
    const child = first.children.get("child")!;
    assertEquals(child.lw.name, "child");
    assert(child === first.children.get("child.yaml"), "one check of a file called twice");
    assertEquals(child.graphs.size, 1);
    // the top workflow asks for nothing itself; what it calls does, so the run needs trust
    assert(await needsTrust(first));
    const hash = await contentHash(first);

    // an edit after the check: a new check sees it; the first keeps the graph it checked
    await Deno.writeTextFile(join(d.repo, "s.ts"), "export default () => ({ other: true })\n");
    const second = await prepareWorkflow(lw, { cwd: d.repo });
    assert(second !== first, "each check is its own value (no cache keyed by the loaded file)");
    const graphHash = (p: typeof first) => [...p.children.get("child")!.graphs.values()][0].hash;
    assert(graphHash(second) !== graphHash(first), "the second check read the edited script");
    assert(await contentHash(second) !== hash, "trust given to the first check does not cover the edit");
  } finally {
    Deno.env.delete("KODAMA_HOME");
    d.unlock();
    await Deno.remove(d.root, { recursive: true });
  }
});
