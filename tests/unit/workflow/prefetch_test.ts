/** The early first list of `kodama run` (src/workflow/prefetch.ts): when it is sent, and who takes it. */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { parseWorkflowText } from "../../../src/workflow/load.ts";
import type { LoadedWorkflow } from "../../../src/workflow/file.ts";
import type { Source } from "../../../src/workflow/model.ts";
import { firstList, LISTING_KINDS, Prefetch } from "../../../src/workflow/prefetch.ts";
import { KINDS } from "../../../src/workflow/steps/registry.ts";
import type { Kube } from "../../../src/kube/client.ts";
import type { TargetFlags } from "../../../src/pods/target.ts";

function wf(yaml: string, source: Source = "builtin"): LoadedWorkflow {
  const file = "/tmp/kodama-prefetch-test/w.yaml";
  const p = parseWorkflowText(yaml, file);
  if (!p.workflow) throw new Error(p.problems.map((x) => `${x.line}:${x.col} ${x.message}`).join("\n"));
  return { name: "w", file, source, text: yaml, workflow: p.workflow, baseDir: "/tmp" };
}

const KWEKASH = `
params:
  cmd: { default: weka version }
targets:
  drive: { namespace: weka-operator-system, match: drive, container: weka, select: one }
steps:
  - id: weka
    name: \${{ params.cmd }}
    exec: { target: drive, command: [sh, -c, "\${{ params.cmd }}"] }
`;

Deno.test("prefetch: kwekash's first list is its drive target, with -n applied", () => {
  const first = firstList(wf(KWEKASH), undefined, true);
  assertEquals(first?.name, "drive");
  assertEquals(first?.flags.namespace, "weka-operator-system");
  assertEquals(first?.flags.match, ["drive"]);
  assertEquals(first?.flags.includeNotReady, false);
  assertEquals(firstList(wf(KWEKASH), "prod", true)?.flags.namespace, "prod");
  assertEquals(firstList(wf(KWEKASH, "home"), undefined, true)?.name, "drive");
});

Deno.test("prefetch: nothing is sent early for an untrusted source or when something comes first", () => {
  // a repo or file workflow sends no request before its trust question
  for (const source of ["repo", "file"] as const) {
    assertEquals(firstList(wf(KWEKASH, source), undefined, true), undefined);
  }
  // params that would be asked for (or refused) come first
  assertEquals(firstList(wf(KWEKASH), undefined, false), undefined);
  const cases: Record<string, string> = {
    permissions: `permissions: { run: [sh] }\n${KWEKASH}`,
    "an if: on the first step": KWEKASH.replace("  - id: weka\n", "  - id: weka\n    if: params.cmd != ''\n"),
    "an expression in the target": KWEKASH.replace("match: drive", "match: '${{ params.cmd }}'"),
    "a first step that waits":
      `targets:\n  d: { namespace: n }\nsteps:\n  - wait: { target: d, for: ready }\n`,
    "a parallel group first (its steps list at once)":
      `targets:\n  d: { namespace: n }\nsteps:\n  - parallel: { steps: [{ exec: { target: d, command: ["true"] } }] }\n`,
    "a called workflow (its trust may be asked)":
      `targets:\n  d: { namespace: n }\nsteps:\n  - exec: { target: d, command: ["true"] }\n  - workflow: { name: other }\n`,
    "a script step (checked before the run)":
      `targets:\n  d: { namespace: n }\nsteps:\n  - exec: { target: d, command: ["true"] }\n  - script: { module: ./s.ts }\n`,
  };
  for (const [why, yaml] of Object.entries(cases)) {
    assertEquals(firstList(wf(yaml), undefined, true), undefined, why);
  }
});

Deno.test("prefetch: LISTING_KINDS are exactly the kinds that list their target: before they run", () => {
  const listing = Object.values(KINDS).filter((k) =>
    k.resolveTargets !== false && JSON.stringify(k.targets?.({ target: "t" }) ?? []) === '["t"]'
  ).map((k) => k.name).sort();
  assertEquals([...LISTING_KINDS].sort(), listing);
});

Deno.test("prefetch: taken once, by the same workflow, target, flags and client only", async () => {
  const lw = wf(KWEKASH);
  const kube = {} as Kube;
  const first = firstList(lw, undefined, true)!;
  let lists = 0;
  const pods = [{ metadata: { name: "weka-drive-0" } }] as V1Pod[];
  const list = (k: Kube, f: TargetFlags) => {
    assert(k === kube);
    assertEquals(f, first.flags);
    lists++;
    return Promise.resolve(pods);
  };
  const p = new Prefetch(lw, first.name, first.flags, Promise.resolve(kube), list);
  assertEquals(lists, 0); // sent once the client is there
  assertEquals(await p.take(wf(KWEKASH), first.name, first.flags, kube), undefined, "another workflow");
  assertEquals(await p.take(lw, "other", first.flags, kube), undefined, "another target");
  assertEquals(await p.take(lw, first.name, { ...first.flags, namespace: "prod" }, kube), undefined, "-n");
  assertEquals(await p.take(lw, first.name, first.flags, {} as Kube), undefined, "another client");
  assertEquals(await p.take(lw, first.name, first.flags, kube), pods);
  assertEquals(await p.take(lw, first.name, first.flags, kube), undefined, "taken twice");
  assertEquals(lists, 1);
});

Deno.test("prefetch: the list's error is the taker's, and unhandled nowhere", async () => {
  const lw = wf(KWEKASH);
  const kube = {} as Kube;
  const first = firstList(lw, undefined, true)!;
  const p = new Prefetch(
    lw,
    first.name,
    first.flags,
    Promise.resolve(kube),
    () => Promise.reject(new Error("forbidden")),
  );
  await new Promise((r) => setTimeout(r, 0)); // an unhandled rejection would fail the test here
  await assertRejects(() => p.take(lw, first.name, first.flags, kube), "forbidden");
  // a client that could not be made: no taker's client matches it, the run connects (and fails) itself
  const q = new Prefetch(lw, first.name, first.flags, Promise.reject(new Error("no kubeconfig")), () => {
    throw new Error("never listed");
  });
  assertEquals(await q.take(lw, first.name, first.flags, kube), undefined);
});
