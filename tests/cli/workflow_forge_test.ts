/**
 * Issue 26 class 3: a prompt that can be forged. Every field kodama displays from a workflow (its
 * name and file name, description, params and their descriptions, permission values, step names,
 * errors) may hold control characters that would erase or rewrite lines; they are shown escaped in
 * the trust refusal and notes, `workflow list/show/validate`, `--dry-run` and errors.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace, runKodama } from "./_run.ts";

// deno-lint-ignore no-control-regex
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

function clean(label: string, s: string) {
  const m = RAW.exec(s);
  assert(
    !m,
    `${label}: raw control character U+${m?.[0].codePointAt(0)?.toString(16)} in:\n${JSON.stringify(s)}`,
  );
}

Deno.test("forged prompts: control characters in every displayed field are shown escaped", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-forge-" });
  const repo = join(tmp, "repo");
  const wf = join(repo, ".kodama", "workflows");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(wf, { recursive: true });
  const env = { KODAMA_HOME: join(tmp, "home"), KUBECONFIG: join(tmp, "none") };
  const run = async (args: string[]) => {
    const r = await runKodama(args, { env, cwd: repo, timeoutMs: 60_000 });
    assert(!hasStackTrace(r.stderr), r.stderr);
    clean(`${args.join(" ")} stdout`, r.stdout);
    clean(`${args.join(" ")} stderr`, r.stderr);
    return r;
  };
  // YAML double-quoted escapes: \e is ESC, \r CR, \b backspace, \u202E a right-to-left override
  await Deno.writeTextFile(
    join(wf, "evil.yaml"),
    `description: "fine\\e[2K\\rforged description\\u202E"
params:
  p: { default: "v\\e]0;title\\a", description: "param\\e[1A\\e[2Kdesc" }
permissions:
  run: ["sh\\e[1A\\e[2K\\rrun: nothing"]
  env: ["HOME\\b\\b\\b\\bNONE"]
steps:
  - name: "step\\e[2J\\x9b31m \${{ params.p }}"
    local: { command: ["sh\\e[1A\\e[2K\\rrun: nothing", -c, "true"] }
`,
  );
  // a file name with a control character
  await Deno.writeTextFile(
    join(wf, "a\x1b[2Kb.yaml"),
    `description: plain\nsteps:\n  - local: { command: [x] }\n`,
  );
  try {
    await t.step("the refusal without --trust", async () => {
      const r = await run(["run", "evil"]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "sh\\x1b[1A\\x1b[2K\\rrun: nothing");
      assertStringIncludes(r.stderr, "HOME\\x08");
    });
    await t.step("--trust notes", async () => {
      const r = await run(["run", "evil", "--trust"]);
      assertStringIncludes(r.stderr, "trusted evil");
      assertStringIncludes(r.stderr, "\\x1b[1A");
    });
    await t.step("--dry-run", async () => {
      const r = await run(["run", "evil", "--dry-run"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "\\x1b[2J");
    });
    await t.step("workflow list, list -o name, show, validate", async () => {
      const l = await run(["workflow", "list"]);
      assertEquals(l.code, 0, l.stderr);
      assertStringIncludes(l.stdout, "fine\\x1b[2K\\rforged description\\u{202e}");
      assertStringIncludes(l.stdout, "a\\x1b[2Kb");
      const n = await run(["workflow", "list", "-o", "name"]);
      assertStringIncludes(n.stdout, "a\\x1b[2Kb");
      const s = await run(["workflow", "show", "evil"]);
      assertEquals(s.code, 0, s.stderr);
      const raw = join(wf, "raw.yaml");
      await Deno.writeTextFile(raw, "description: x\x1b[2Ky\nsteps: []\n");
      const s2 = await run(["workflow", "show", "raw"]);
      assertStringIncludes(s2.stdout, "x\\x1b[2Ky");
      await run(["workflow", "validate"]);
      await Deno.remove(raw);
    });
    await t.step(
      "a newline in a field cannot start a line of its own (refusal, --trust, --dry-run)",
      async () => {
        await Deno.writeTextFile(
          join(wf, "nl.yaml"),
          `params:
  p: { default: "v\\nFORGED-PARAM", description: "d\\nFORGED-DESC" }
permissions:
  read: ["./a\\n  net: (none) FORGED-READ"]
  run: ["sh\\nFORGED-RUN"]
steps:
  - name: "step\\nFORGED-STEP"
    if: "'x\\nFORGED-IF' != ''"
    env: { X: "1\\nFORGED-ENV" }
    local: { command: ["sh\\nFORGED-RUN", "-c", "echo one\\nFORGED-CMD"] }
`,
        );
        const forged = (label: string, out: string) => {
          for (const line of out.split("\n")) {
            assert(!/^\s*FORGED/.test(line), `${label}: forged line in:\n${out}`);
          }
        };
        const refused = await run(["run", "nl"]);
        assertEquals(refused.code, 2, refused.stderr);
        assertStringIncludes(refused.stderr, "./a\\n  net: (none) FORGED-READ");
        forged("refusal", refused.stderr);
        const dry = await run(["run", "nl", "--dry-run"]);
        assertEquals(dry.code, 0, dry.stderr);
        assertStringIncludes(dry.stdout, "echo one\\nFORGED-CMD");
        forged("--dry-run", dry.stdout + dry.stderr);
        const trusted = await run(["run", "nl", "--trust"]);
        assertStringIncludes(trusted.stderr, "trusted nl");
        forged("--trust", trusted.stderr);
        await Deno.remove(join(wf, "nl.yaml"));
      },
    );
    await t.step("errors: a param value and an unknown workflow name", async () => {
      const r = await run(["run", "nope\x1b[2K"]);
      assertEquals(r.code, 3, r.stderr);
      assertStringIncludes(r.stderr, "nope\\x1b[2K");
      const p = await run(["run", "evil", "--param", "zz\x1b[1A=1", "--dry-run"]);
      assertEquals(p.code, 2, p.stderr);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
