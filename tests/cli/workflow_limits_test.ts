/**
 * Loading is bounded, as a user meets it (issue 10): `kodama workflow validate` reports every file
 * it was given — an alias bomb, a 5 MB file, a call cycle — each at its file:line:col, and goes on
 * to the next; `kodama run` refuses the same before anything runs, and an expression that would
 * build a value over 1 MiB fails its step at the expression's position.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

async function repo() {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-limits-" });
  await Deno.mkdir(join(tmp, ".git"));
  await Deno.mkdir(join(tmp, ".kodama", "workflows"), { recursive: true });
  const write = (name: string, text: string) =>
    Deno.writeTextFile(join(tmp, ".kodama", "workflows", name), text);
  // the home lives beside the repository: a directory that holds the home is never a repository root
  const home = await Deno.makeTempDir({ prefix: "kodama-limits-home-" });
  const run = (args: string[]) =>
    runKodama(args, { cwd: tmp, env: { KODAMA_HOME: join(home, ".kodama"), HOME: home } });
  return { tmp, write, run };
}

const bomb = () => {
  const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(",")}]`);
  return lines.join("\n") + "\nsteps:\n  - local: { command: [echo, *a9] }\n";
};

Deno.test("validate: every file given is checked and reported, even after one that is an attack", async () => {
  const r = await repo();
  try {
    await r.write("bomb.yaml", bomb());
    // 100,000 steps, 5.4 MB: refused by its size, before it is parsed
    await r.write(
      "big.yaml",
      "steps:\n" + Array.from({ length: 100_000 }, (_, i) =>
        `  - id: s${i}\n    local: { command: [echo, hi${i}] }`)
        .join("\n") +
        "\n",
    );
    await r.write("many.yaml", "steps:\n" + "  - local: { command: [echo] }\n".repeat(1001));
    await r.write("ca.yaml", "steps:\n  - workflow: { name: cb }\n");
    await r.write(
      "cb.yaml",
      "steps:\n  - local: { command: [echo] }\n  - parallel:\n      steps:\n        - workflow: { name: ca }\n",
    );
    await r.write("self.yaml", "steps:\n  - id: again\n    workflow: { name: self }\n");
    await r.write("ok.yaml", "steps:\n  - local: { command: [echo, fine] }\n");
    const names = ["bomb", "big", "many", "ca", "self", "ok"].map((n) => `.kodama/workflows/${n}.yaml`);
    const v = await r.run(["workflow", "validate", ...names]);
    assertEquals(v.code, 2, v.stderr);
    assertStringIncludes(
      v.stdout,
      ".kodama/workflows/bomb.yaml:5:10: YAML aliases expand to more than 10000 nodes at *a3 (an alias bomb?)\n",
    );
    assertStringIncludes(
      v.stdout,
      ".kodama/workflows/big.yaml:1:1: the workflow file is 5.2 MiB; a workflow file may be at most 1 MiB",
    );
    assertStringIncludes(v.stdout, ".kodama/workflows/many.yaml:1002:5: more than 1000 steps");
    // the cycle through a parallel group, at the `name:` of the call that closes it
    assertMatch(
      v.stdout,
      /cb\.yaml:5:29: workflow cb calls ca, which is already running above it: ca → cb → ca \(a cycle\)/,
    );
    assertStringIncludes(
      v.stdout,
      ".kodama/workflows/self.yaml:3:23: workflow self calls self, which is already running above it: self → self (a cycle)",
    );
    assert(!v.stdout.includes("ok.yaml"), v.stdout);
    assertStringIncludes(v.stderr, "in 5 of 6 file(s)");
    assert(!hasStackTrace(v.stderr), v.stderr);

    // `kodama run` refuses them too, before any step
    for (
      const [name, want] of [["bomb", /bomb\.yaml:5:10: YAML aliases/], ["big", /at most 1 MiB/], [
        "ca",
        /a cycle/,
      ]]
    ) {
      const run = await r.run(["run", name as string]);
      assertEquals(run.code, 2, run.stderr);
      assertMatch(run.stderr, want as RegExp);
      assert(!run.stderr.includes("▶"), run.stderr);
      assert(!hasStackTrace(run.stderr), run.stderr);
    }
  } finally {
    await Deno.remove(r.tmp, { recursive: true });
  }
});

Deno.test("validate and run: calls nest at most 8 deep, refused where the chain gets too long", async () => {
  const r = await repo();
  try {
    for (let i = 0; i < 10; i++) await r.write(`d${i}.yaml`, `steps:\n  - workflow: { name: d${i + 1} }\n`);
    await r.write("d10.yaml", "steps:\n  - local: { command: [echo] }\n");
    await r.write("d2ok.yaml", "steps:\n  - workflow: { name: d3 }\n"); // d3 … d10: 7 calls, fine
    const v = await r.run([
      "workflow",
      "validate",
      ".kodama/workflows/d0.yaml",
      ".kodama/workflows/d2ok.yaml",
    ]);
    assertEquals(v.code, 2, v.stderr);
    assertStringIncludes(
      v.stdout,
      ".kodama/workflows/d0.yaml:2:23: workflow calls nest more than 8 deep: d0 → d1 → d2 → d3 → d4 → d5 → d6 → d7 → d8 → d9",
    );
    assert(!v.stdout.includes("d2ok.yaml"), v.stdout);
    const run = await r.run(["run", "d0"]);
    assertEquals(run.code, 2, run.stderr);
    assertStringIncludes(run.stderr, "d0.yaml:2:23: workflow calls nest more than 8 deep");
    assert(!run.stderr.includes("▶"), run.stderr);
  } finally {
    await Deno.remove(r.tmp, { recursive: true });
  }
});

Deno.test("run: an expression that would build a value over 1 MiB fails its step at the expression", async () => {
  const r = await repo();
  try {
    const env = ["env:", "  A0: xxxxxxxxxxxxxxxx"];
    for (let i = 1; i < 40; i++) env.push(`  A${i}: \${{ format('{0}{0}', env.A${i - 1}) }}`);
    await r.write(
      "double.yaml",
      env.join("\n") + "\nsteps:\n  - id: s\n    local: { command: [echo, hi] }\n",
    );
    const run = await r.run(["run", "double"]);
    assertEquals(run.code, 2, run.stderr);
    assertMatch(
      run.stderr,
      /double\.yaml:19:12: env\.A17: the value of format\(\) would be over 1 MiB; an expression's value may be at most 1 MiB/,
    );
    assert(!run.stderr.includes("Invalid string length"), run.stderr);
    // many values that are each fine, together over the step's budget
    const uses = Array(20).fill('"${{ env.B }}"').join(", ");
    await r.write(
      "wide.yaml",
      `env:\n  B: \${{ format('{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', 'abcdefghijklmnop')))) }}\nsteps:\n  - local: { command: [echo, ${uses}] }\n`,
    );
    const wide = await r.run(["run", "wide"]);
    assertEquals(wide.code, 2, wide.stderr);
    assertMatch(
      wide.stderr,
      /wide\.yaml:4:\d+: steps\[0\]\.local\.command\[\d+\]: the step's resolved values would be over 8 MiB/,
    );
  } finally {
    await Deno.remove(r.tmp, { recursive: true });
  }
});
