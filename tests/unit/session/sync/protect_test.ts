/**
 * Sync's protected places are real places, read at the moment of use (src/session/sync/protect.ts):
 * a `workflows.paths` directory named through a symlink, one added to the config later, `$KODAMA_HOME`
 * reached through a link, and the target of a `.kodama` link in the tree are all refused.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { placesUnder, protectedPlaces } from "../../../../src/session/sync/protect.ts";
import { localRule } from "../../../../src/session/sync/safety.ts";

async function world(): Promise<{ base: string; root: string; home: string }> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-protect-" }));
  const root = `${base}/root`;
  const home = `${base}/home`;
  await Deno.mkdir(`${root}/ci/wf`, { recursive: true });
  await Deno.mkdir(home, { recursive: true });
  return { base, root, home };
}

Deno.test("placesUnder: a directory named through a link, or a root reached through one, is the same place", async () => {
  const { base, root } = await world();
  try {
    await Deno.symlink(`${root}/ci/wf`, `${base}/wflink`);
    await Deno.symlink(root, `${base}/rootlink`);
    assertEquals(await placesUnder(root, [`${base}/wflink`]), ["ci/wf"]);
    assertEquals(await placesUnder(`${base}/rootlink`, [`${root}/ci/wf`]), ["ci/wf"]);
    // written and real spellings both count; a place outside the root is none of the tree's business
    assertEquals(await placesUnder(`${base}/rootlink`, [`${base}/rootlink/ci/wf`, base]), ["ci/wf"]);
    // a place that does not exist yet lands where its longest existing prefix really is
    assertEquals(await placesUnder(root, [`${base}/wflink/later/deeper`]), ["ci/wf/later/deeper"]);
    // a link to a directory the pod has not made yet (dangling) leads where the pod would make it
    await Deno.symlink(`${root}/ci/new`, `${base}/newlink`);
    assertEquals(await placesUnder(root, [`${base}/newlink`]), ["ci/new"]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("protectedPlaces: the config is read again when it changes, a link to KODAMA_HOME and .kodama links count", async () => {
  const { base, root, home } = await world();
  try {
    await Deno.symlink(`${root}/ci/wf`, `${base}/wflink`);
    await Deno.writeTextFile(`${home}/config.yaml`, `workflows:\n  paths: [${base}/wflink]\n`);
    let p = await protectedPlaces(root, [], home);
    assertEquals(p.workflows, ["ci/wf"]);
    assert(localRule("ci/wf/deploy.yaml", p)?.includes("workflows directory"));
    assertEquals(localRule("later/deploy.yaml", p), undefined);
    // a directory added to the config while sync runs counts from the next batch on
    await Deno.writeTextFile(`${home}/config.yaml`, `workflows:\n  paths: [${base}/wflink, ${root}/later]\n`);
    p = await protectedPlaces(root, [], home);
    assertEquals(p.workflows, ["ci/wf", "later"]);
    assert(localRule("later/deploy.yaml", p)?.includes("workflows directory"));

    // $KODAMA_HOME inside the tree, named through a link: nothing in it is the pod's to write
    await Deno.mkdir(`${root}/state`);
    await Deno.symlink(`${root}/state`, `${base}/homelink`);
    await Deno.writeTextFile(`${root}/state/config.yaml`, "{}\n");
    p = await protectedPlaces(root, [], `${base}/homelink`);
    assertEquals(p.state, ["state"]);
    for (const path of ["state/config.yaml", "state/workflows/x.yaml", "state/sessions/s.yaml", "state"]) {
      assert(localRule(path, p)?.includes("kodama's own directory"), path);
    }
    assertEquals(localRule("stateful.txt", p), undefined);

    // a `.kodama` link in the tree: where it leads is kodama's configuration too
    await Deno.mkdir(`${root}/sub`);
    await Deno.symlink("../cfg", `${root}/sub/.kodama`);
    p = await protectedPlaces(root, ["sub/.kodama"], home);
    assert(p.state.includes("cfg"), p.state.join(","));
    assert(localRule("cfg/workflows/x.yaml", p), "a workflow through the .kodama link");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
