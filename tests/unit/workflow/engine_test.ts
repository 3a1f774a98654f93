import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { freeStringPaths, parseWorkflowText } from "../../../src/workflow/load.ts";
import type { LoadedWorkflow } from "../../../src/workflow/file.ts";
import { type RunOptions, runWorkflow } from "../../../src/workflow/engine.ts";
import { createDisplay } from "../../../src/workflow/display.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { envTest } from "../../_env_lock.ts";
import { fileUrlToPath, hostPlatform } from "../../../src/base/platform.ts";

function wf(yaml: string, file = "/tmp/kodama-engine-test/t.yaml"): LoadedWorkflow {
  const p = parseWorkflowText(yaml, file);
  if (!p.workflow) throw new Error(p.problems.map((x) => `${x.line}:${x.col} ${x.message}`).join("\n"));
  return { name: "t", file, source: "builtin", text: yaml, workflow: p.workflow, baseDir: "/tmp" };
}

async function run(yaml: string, o: Partial<RunOptions> = {}, file?: string) {
  const out = memorySink();
  const err = memorySink();
  const display = createDisplay({ out, err, live: false, color: false });
  const r = await runWorkflow(wf(yaml, file), {
    connect: () => Promise.reject(new Error("no cluster in this test")),
    display,
    ...o,
  });
  display.close();
  return { ...r, out: out.text(), err: err.text() };
}

const SH = `permissions: { run: [sh] }\n`;

envTest("engine: outputs flow to later steps; each command element is one argument", async () => {
  const r = await run(
    SH + `
params:
  who: { default: "two words; \$(rm -rf /)" }
steps:
  - id: a
    local: { command: [sh, -c, 'printf "%s|" "$@"', x, "\${{ params.who }}"] }
  - id: b
    local: { command: [sh, -c, 'echo "got: $1"', x, "\${{ steps.a.outputs.stdout }}"] }
`,
  );
  assertEquals(r.exitCode, 0);
  assertEquals(r.steps.a.outputs.stdout, "two words; $(rm -rf /)|");
  assertEquals(r.out, "two words; $(rm -rf /)|got: two words; $(rm -rf /)|\n");
  assertStringIncludes(r.err, "✓ a");
});

envTest(
  "engine: the first failing step sets the exit code; later steps are skipped unless always()/failure()",
  async () => {
    const r = await run(
      SH + `
steps:
  - id: ok
    local: { command: [sh, -c, "exit 0"] }
  - id: bad
    local: { command: [sh, -c, "exit 7"] }
  - id: worse
    if: always()
    local: { command: [sh, -c, "exit 9"] }
  - id: skipped
    local: { command: [sh, -c, "echo never"] }
  - id: cleanup
    if: failure() && steps.bad.outcome == 'failure'
    local: { command: [sh, -c, "echo cleaning"] }
`,
    );
    assertEquals(r.exitCode, 7);
    assertEquals(r.failure, 'step "bad": exit code 7');
    assertEquals(r.steps.worse.outcome, "failure");
    assertEquals(r.steps.skipped.outcome, "skipped");
    assertEquals(r.steps.cleanup.outcome, "success");
    assertEquals(r.out, "cleaning\n");
    assertStringIncludes(r.err, "✗ bad");
    assertStringIncludes(r.err, "- skipped skipped");
  },
);

envTest("engine: continue-on-error keeps the run green; if reads the outcome", async () => {
  const r = await run(
    SH + `
steps:
  - id: flaky
    continue-on-error: true
    local: { command: [sh, -c, "exit 3"] }
  - id: after
    if: steps.flaky.outcome == 'failure' && steps.flaky.conclusion == 'success'
    local: { command: [sh, -c, "echo recovered"] }
`,
  );
  assertEquals(r.exitCode, 0);
  assertEquals(r.out, "recovered\n");
  assertStringIncludes(r.err, "! flaky");
});

envTest("engine: timeout fails the step with exit 5", async () => {
  const t0 = Date.now();
  const r = await run(
    SH + `
steps:
  - id: slow
    timeout: 300ms
    local: { command: [sh, -c, "sleep 5"] }
`,
  );
  assertEquals(r.exitCode, 5);
  assertEquals(r.steps.slow.error, "timed out after 300ms");
  assert(Date.now() - t0 < 3000);
});

envTest("engine: parallel group honours its limit and every step's outputs are kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // each step waits (up to 5 s) for a partner to be running, then says how many others it saw: with a
    // fixed sleep, a loaded machine started them too slowly to ever overlap
    const steps = Array.from({ length: 6 }, (_, i) => `
        - id: p${i}
          local: { command: [sh, -c, 'touch ${dir}/$$; i=0; while [ $(ls ${dir} | wc -l) -lt 2 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; n=$(ls ${dir} | wc -l); echo $((n-1)); rm ${dir}/$$'] }`)
      .join("");
    const r = await run(
      SH + `
steps:
  - parallel:
      limit: 2
      steps:${steps}
  - id: after
    if: steps.p5.outputs.exitCode == 0
    local: { command: [sh, -c, "echo done"] }
`,
    );
    assertEquals(r.exitCode, 0);
    const concurrent = Array.from(
      { length: 6 },
      (_, i) => Number(String(r.steps[`p${i}`].outputs.stdout).trim()),
    );
    assert(concurrent.every((n) => n <= 1), `at most 2 at once, saw others running: ${concurrent}`);
    assert(concurrent.some((n) => n === 1), `expected some overlap: ${concurrent}`);
    assertStringIncludes(r.out, "done\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

envTest("engine: env (workflow + step) reaches local commands; expressions in env resolve", async () => {
  const r = await run(
    SH + `
params: { greeting: { default: hello } }
env: { A: "\${{ params.greeting }}", B: plain }
steps:
  - id: e
    env: { B: "\${{ env.A }}-override" }
    local: { command: [sh, -c, 'echo "$A $B"'] }
`,
  );
  assertEquals(r.out, "hello hello-override\n");
});

envTest("engine: params are typed, unknown ones rejected, missing required ones name --param", async () => {
  const yaml = SH + `
params:
  n: { type: number, default: 2 }
  mode: { type: enum, values: [fast, slow], default: fast }
  must: { required: true }
steps:
  - local: { command: [sh, -c, 'echo "$1 $2 $3"', x, "\${{ params.n + 0 == 3 }}", "\${{ params.mode }}", "\${{ params.must }}"] }
`;
  await assertRejects(
    () => run(yaml.replace("params.n + 0 == 3", "params.n == 3")),
    'missing required param "must"',
  );
  const e = await assertRejects(() =>
    run(yaml.replace("params.n + 0 == 3", "params.n == 3"), { params: { must: "x", n: "abc" } })
  );
  assertStringIncludes(e.message, "--param n=abc: expected a number");
  await assertRejects(
    () => run(yaml.replace("params.n + 0 == 3", "params.n == 3"), { params: { must: "x", mdoe: "slow" } }),
    'unknown param "mdoe" (did you mean "mode"?)',
  );
  const r = await run(yaml.replace("params.n + 0 == 3", "params.n == 3"), {
    params: { must: "m", n: "3", mode: "slow" },
  });
  assertEquals(r.out, "true slow m\n");
});

envTest("engine: a script step's return value becomes its outputs", async () => {
  const file = new URL("../../fixtures/workflows/engine_script.yaml", import.meta.url).pathname;
  const yaml = `
steps:
  - id: s
    script: { module: scripts/probe.ts, with: { probe: env, arg: NOPE } }
    continue-on-error: true
  - id: t
    if: steps.s.outcome == 'failure'
    script: { module: scripts/smoke.ts, with: { echo: "\${{ steps.s.error }}" } }
`;
  const r = await run(yaml, {}, file);
  assertEquals(
    r.steps.s.error,
    'denied: env access to "NOPE" (add it to permissions.env) (at tests/fixtures/workflows/scripts/probe.ts:15:32)',
  );
  // smoke asks the host for target "drive", which this workflow does not declare
  assertEquals(r.steps.t.error, 'unknown target "drive": this workflow declares no targets');
  assertEquals(r.exitCode, 1);
});

envTest("engine: dry run resolves expressions and runs nothing", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  const r = await run(
    SH + `
params: { name: { default: world } }
steps:
  - id: touch
    local: { command: [sh, -c, "touch ${marker}", "\${{ params.name }}"] }
  - id: use
    if: steps.touch.outputs.exitCode == 0
    local: { command: [echo, "\${{ steps.touch.outputs.stdout }}"] }
`,
    { dryRun: true },
  );
  assertEquals(r.exitCode, 0);
  assertStringIncludes(r.out, `1. touch: local: sh -c 'touch ${marker}' world`);
  assertStringIncludes(
    r.out,
    "2. use: local: echo '<steps.touch.outputs.stdout>'  (not in permissions.run: will be denied)",
  );
  assertStringIncludes(r.out, "if: steps.touch.outputs.exitCode == 0   (decided at run time)");
  let exists = true;
  try {
    await Deno.stat(marker);
  } catch {
    exists = false;
  }
  assertEquals(exists, false, "dry run must not execute anything");
});

envTest(
  "engine: 10 script steps in one parallel group all get their inputs and return their outputs",
  async () => {
    const file = fileUrlToPath(new URL("../../fixtures/workflows/ten.yaml", import.meta.url), hostPlatform());
    const steps = Array.from({ length: 10 }, (_, i) => `
        - id: s${i}
          script: { module: scripts/echo.ts, with: { n: ${i}, label: "\${{ params.prefix }}-${i}" } }`).join(
      "",
    );
    const yaml = `params: { prefix: { default: p } }
steps:
  - id: warm   # under deno test the first load of a TS script is type-checked; once, not 10 times at once
    script: { module: scripts/echo.ts }
  - parallel:
      steps:${steps}
  - id: after
    if: steps.s9.outputs.n == 9 && steps.s0.outputs.label == 'p-0'
    script: { module: scripts/echo.ts, with: { ok: true } }
`;
    const r = await run(yaml, {}, file);
    assertEquals(r.exitCode, 0, r.err);
    for (let i = 0; i < 10; i++) {
      assertEquals(r.steps[`s${i}`].outputs.n, i);
      assertEquals(r.steps[`s${i}`].outputs.label, `p-${i}`);
      assertStringIncludes(r.out, `hello from s${i}\n`);
    }
    assertEquals(r.steps.after.outputs.ok, true);
  },
);

envTest(
  "engine: a workflow step calls another workflow with params; its step outputs come back",
  async () => {
    const repo = await Deno.makeTempDir({ prefix: "kodama-engine-call-" });
    Deno.env.set("KODAMA_HOME", `${repo}/home`);
    try {
      await Deno.mkdir(`${repo}/.git`);
      await Deno.mkdir(`${repo}/.kodama/workflows`, { recursive: true });
      await Deno.writeTextFile(
        `${repo}/.kodama/workflows/child.yaml`,
        `params: { who: { default: nobody } }
permissions: { run: [sh] }
steps:
  - id: greet
    local: { command: [sh, -c, 'echo "hi $0"', "\${{ params.who }}"] }
`,
      );
      const r = await run(
        `
steps:
  - id: call
    workflow: { name: child, params: { who: parent } }
  - id: bad
    continue-on-error: true
    workflow: { name: chlid }
`,
        { cwd: repo, trust: true },
      );
      assertEquals(r.exitCode, 0, r.err);
      assertEquals(r.out, "hi parent\n");
      assertEquals(
        (r.steps.call.outputs.steps as Record<string, { stdout: string }>).greet.stdout,
        "hi parent\n",
      );
      assertEquals(r.steps.bad.error, 'no workflow named "chlid" (did you mean "child"?)');
    } finally {
      Deno.env.delete("KODAMA_HOME");
      await Deno.remove(repo, { recursive: true });
    }
  },
);

envTest("freeStringPaths: where a kind's schema takes any string, and nowhere else", () => {
  const p = parseWorkflowText(
    `
params:
  n: { type: number, default: 2 }
  s: { default: x }
targets:
  d: { namespace: ns, pod: p }
steps:
  - id: a
    local: { command: [sh, "\${{ params.s }}"], cwd: "\${{ params.s }}", stdin: "a \${{ params.s }}" }
  - parallel:
      limit: "\${{ params.n }}"
      steps:
        - { id: b, wait: { target: d, for: "\${{ params.s }}" } }
        - { id: c, port-forward: { target: d, ports: ["\${{ params.n }}"] } }
        - { id: e, exec: { target: d, command: [echo], parallel: "\${{ params.n }}", container: "c\${{ params.s }}" } }
`,
    "/tmp/t.yaml",
  );
  assert(p.workflow, p.problems.map((x) => x.message).join("; "));
  const free = freeStringPaths(p.workflow).map((k) => k.split("\u0000").join("."));
  assertEquals(free.sort(), [
    "steps.0.local.command.1",
    "steps.0.local.cwd",
    "steps.0.local.stdin",
    "steps.1.parallel.steps.2.exec.container",
  ]);
});

/** A workflow as the file loader gives it: with the places expressions may give any string. */
function wfFree(yaml: string): LoadedWorkflow {
  const w = wf(yaml);
  return { ...w, freeStrings: new Set(freeStringPaths(w.workflow)) };
}

envTest(
  "engine: values from expressions are checked against the kind's schema, with or without zod",
  async () => {
    const opts = () => {
      const out = memorySink(), err = memorySink();
      const display = createDisplay({ out, err, live: false, color: false });
      return { out, err, o: { connect: () => Promise.reject(new Error("no cluster")), display } };
    };
    const yaml = (stdin: string) =>
      SH + `
params:
  n: { type: number, default: 3 }
  s: { default: "a b" }
steps:
  - parallel:
      limit: "\${{ params.n }}"
      steps:
        - id: a
          local: { command: [sh, -c, 'cat; printf "|%s|" "$1"', x, "\${{ params.s }}"], stdin: "${stdin}" }
`;
    // strings where strings go (no schema needed), and a number where the schema takes numbers (checked)
    const ok = opts();
    const r = await runWorkflow(wfFree(yaml("in \${{ params.s }}")), ok.o);
    assertEquals(r.exitCode, 0, ok.err.text());
    assertEquals(r.steps.a.outputs.stdout, "in a b|a b|");
    // a number where the schema takes only strings: refused with the schema's words, as without the set
    for (const load of [wfFree, wf]) {
      const bad = opts();
      const r2 = await runWorkflow(load(yaml("\${{ params.n }}")), bad.o);
      assertEquals(r2.exitCode, 2, bad.err.text());
      assertStringIncludes(r2.steps.a.error ?? "", "local.stdin: expected string, received number");
    }
  },
);
