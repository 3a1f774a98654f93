/**
 * Counts that must not grow back (issue #83): what is counted is defined in ./_counts.ts; each count is a
 * ceiling (or a floor) at the value it was brought to. A failure names what grew; the fix is to wait on the
 * condition, split the module, or take a seam type (src/kube/seam.ts) — not to raise the number here without
 * saying why in the commit.
 *
 * (a) Fixed sleeps in tests/ — at most SLEEP_CEILING, each with a comment right above it (or on its line)
 *     saying why it cannot wait on a condition ("fixed: proves nothing happens for 1 s"). By hand: see
 *     ./_counts.ts.
 * (b) src/kube/client.ts at most 800 lines (`wc -l src/kube/client.ts`).
 * (c) Names annotated with the whole client, `NAME: Kube` or `NAME?: Kube`, in code (not comments) of src/
 *     outside src/kube/ — at most WHOLE_KUBE_CEILING. By hand:
 *     `grep -rnoE "\b\w+\??\s*:\s*Kube\b[^\w.<]" src --include=*.ts | grep -v "^src/kube/"`, dropping the
 *     hits inside comments. The narrow ones (`KubeObjects`, `KubePods`, `KubeTargets`, … or `Pick<Kube, …>`)
 *     are counted beside it and must not fall.
 * (d) Test cases run in-process against the in-memory cluster: `Deno.test(`, `test(`, `envTest(` calls in
 *     tests/unit/ files that import tests/cluster/memcluster.ts — at least IN_PROCESS_FLOOR. By hand:
 *     `grep -rl memcluster.ts tests/unit --include=*_test.ts | xargs grep -cE "^\s*(Deno\.test|test|envTest)\("`.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { countedFile, fixedSleeps, kubeParams, type Sleep } from "./_counts.ts";

const SLEEP_CEILING = 30; // 91 by the count, 46 by ./_counts.ts's before #83; 30 after
const CLIENT_LINES = 800;
const WHOLE_KUBE_CEILING = 120; // 259 before #83, 120 after
const NARROW_KUBE_FLOOR = 207; // 68 before #83, 207 after
const IN_PROCESS_FLOOR = 65; // 61 before #83, 65 after

const ROOT = new URL("../../", import.meta.url);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...filesUnder(p));
    else if (e.isFile) out.push(p);
  }
  return out.sort();
}

const read = (p: string) => Deno.readTextFileSync(new URL(p, ROOT));

Deno.test("counts: the sleep counter sees a fixed sleep, a helper's call and a shell pause, not a poll", () => {
  const planted = `
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function a() {
  await new Promise((r) => setTimeout(r, 500));
  await sleep(200);
  await new Promise((resolve) => setTimeout(resolve, 0));
  while (!done()) await new Promise((r) => setTimeout(r, 50));
  for (
    let i = 0;
    i < 10 && !done();
    i++
  ) {
    if (i) await sleep(25);
  }
  // fixed: proves nothing happens for 1 s
  await new Promise((res) => setTimeout(res, 1000));
  run("sh", "-c", "echo a; sleep 1; echo b");
  run("sh", "-c", "while [ ! -e go ]; do sleep 0.1; done; exec sleep 600");
  await waitUntil(async () => {
    await new Promise((r) => setTimeout(r, 30));
    return true;
  }, 1000, "x");
}`;
  const got = fixedSleeps("x_test.ts", planted).map((s: Sleep) => [s.line, s.kind, s.commented]);
  assertEquals(got, [
    [4, "setTimeout", false],
    [5, "helper", false],
    [16, "setTimeout", true],
    [17, "shell", false],
    [20, "setTimeout", false], // inside a function literal: the caller's loop is not seen, so it counts
  ]);
  assert(countedFile("tests/cli/x_test.ts") && countedFile("tests/cluster/memcluster_test.ts"));
  assert(!countedFile("tests/cluster/runtime/procs.ts"), "the test server's own timings are not tests");
});

Deno.test(`counts: at most ${SLEEP_CEILING} fixed sleeps in tests/, each saying why it stays`, () => {
  const all = filesUnder("tests").filter(countedFile).flatMap((f) => fixedSleeps(f, read(f)));
  const where = (s: Sleep) => `${s.file}:${s.line}  ${s.text}`;
  const silent = all.filter((s) => !s.commented);
  assertEquals(
    silent.map(where),
    [],
    "a fixed sleep without a comment saying why it cannot wait on a condition",
  );
  assert(
    all.length <= SLEEP_CEILING,
    `${all.length} fixed sleeps (at most ${SLEEP_CEILING}): wait on the condition instead\n${
      all.map(where).join("\n")
    }`,
  );
});

Deno.test(`counts: src/kube/client.ts has at most ${CLIENT_LINES} lines`, () => {
  const lines = read("src/kube/client.ts").split("\n").length - 1;
  assert(lines <= CLIENT_LINES, `src/kube/client.ts: ${lines} lines; split it by responsibility`);
});

Deno.test("counts: the kube parameter counter tells the whole client from a seam type, and skips comments", () => {
  const text = `
export function a(kube: Kube, b?: Kube, k: KubeObjects, p: Pick<Kube, "listPods">): void {}
// a comment saying kube: Kube does not count
const c = (x: KubeTargets & KubeIdentity, y: Kube.Foo) => x;
`;
  assertEquals(kubeParams(text), { whole: 2, narrow: 3 });
});

Deno.test(`counts: at most ${WHOLE_KUBE_CEILING} parameters take the whole Kube outside src/kube/`, () => {
  let whole = 0;
  let narrow = 0;
  for (const f of filesUnder("src").filter((f) => f.endsWith(".ts") && !f.startsWith("src/kube/"))) {
    const k = kubeParams(read(f));
    whole += k.whole;
    narrow += k.narrow;
  }
  assert(
    whole <= WHOLE_KUBE_CEILING,
    `${whole} names typed with the whole Kube (at most ${WHOLE_KUBE_CEILING}): take a seam type of src/kube/seam.ts`,
  );
  assert(
    narrow >= NARROW_KUBE_FLOOR,
    `${narrow} names typed with a seam type (at least ${NARROW_KUBE_FLOOR})`,
  );
});

Deno.test(`counts: at least ${IN_PROCESS_FLOOR} test cases run in-process on the in-memory cluster`, () => {
  const files = filesUnder("tests/unit").filter((f) =>
    f.endsWith("_test.ts") && /from "[./]*cluster\/memcluster\.ts"/.test(read(f))
  );
  const cases = files.reduce(
    (n, f) => n + (read(f).match(/^\s*(Deno\.test|test|envTest)\(/gm)?.length ?? 0),
    0,
  );
  assert(
    cases >= IN_PROCESS_FLOOR,
    `${cases} in-process cases in ${files.length} files (at least ${IN_PROCESS_FLOOR})`,
  );
});
