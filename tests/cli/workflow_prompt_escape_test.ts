/**
 * Issue 26 class 3, on a real terminal: a workflow's param names, descriptions, enum values and
 * permission values reach the person through interactive prompts (the param prompt, the trust prompt).
 * Whatever they hold — ANSI erase/cursor sequences, CR, a newline, an OSC 52 clipboard write, a bidi
 * override, or thousands of characters — the terminal receives it made visible, never obeyed: checked
 * on the raw bytes the pane received (tmux pipe-pane) and on the screen.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { HAVE_TMUX, Tmux } from "../integration/picker_tmux.ts";
import { CONFIG, MAIN } from "./_run.ts";

const LONG = "L".repeat(5000);
// YAML double-quoted escapes: \e ESC, \a BEL, \r CR, \n newline, \u202E right-to-left override
const HOSTILE = `\\e]52;c;T1dORUQ=\\a\\e[1A\\e[2KFORGED-A\\rFORGED-B\\nFORGED-C\\u202EFORGED-D`;

/** Raw terminal bytes that obeyed the workflow instead of showing it. */
function obeyed(raw: string): string[] {
  const found: string[] = [];
  if (raw.includes("\x1b]52")) found.push("an OSC 52 clipboard write");
  if (raw.includes("\u202e")) found.push("a bidi override");
  if (raw.includes("\x1b[2KFORGED-A")) found.push("an erase-line sequence");
  if (/[\r\n]FORGED-[BC]/.test(raw)) found.push("a CR or newline starting a forged line");
  if (raw.includes(LONG)) found.push("5000 characters of description");
  return found;
}

async function world() {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-prompt-esc-" });
  const repo = join(tmp, "repo");
  const wf = join(repo, ".kodama", "workflows");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(wf, { recursive: true });
  await Deno.writeTextFile(
    join(wf, "ask.yaml"),
    `description: "${HOSTILE}"
params:
  p: { required: true, description: "${HOSTILE}" }
  long: { required: true, description: "${LONG}" }
  e: { type: enum, values: ["ok", "${HOSTILE}"], description: "pick", required: true }
steps:
  - name: "show \${{ params.p }}"
    script: { module: ../s.ts }
`,
  );
  await Deno.writeTextFile(
    join(wf, "perm.yaml"),
    `description: "${HOSTILE}"
permissions:
  read: ["./a${HOSTILE}"]
  env: ["HOME${HOSTILE}"]
steps:
  - script: { module: ../s.ts }
`,
  );
  await Deno.writeTextFile(join(repo, ".kodama", "s.ts"), "export default () => ({});\n");
  const env = {
    KODAMA_HOME: join(tmp, "home"),
    HOME: join(tmp, "home"),
    KUBECONFIG: join(tmp, "none"),
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno"),
  };
  return {
    tmp,
    /** start kodama in tmux; it waits until the pane is recorded, so no byte is missed */
    async start(args: string) {
      const go = join(tmp, `go-${crypto.randomUUID()}`);
      const raw = join(tmp, `raw-${crypto.randomUUID()}`);
      const cmd = `sh -c 'cd ${repo} && until [ -f ${go} ]; do sleep 0.05; done; exec ${Deno.execPath()} ` +
        `run -A --no-prompt --config ${CONFIG} ${MAIN} ${args}'`;
      const tm = await Tmux.start(cmd, { env, width: 160, height: 50 });
      await tm.record(raw);
      await Deno.writeTextFile(go, "");
      return { tm, raw: () => Deno.readTextFile(raw).catch(() => "") };
    },
    [Symbol.asyncDispose]: () => Deno.remove(tmp, { recursive: true }).catch(() => {}),
  };
}

Deno.test({
  name: "param prompts show a workflow's names, descriptions and choices made visible, never obeyed",
  ignore: !HAVE_TMUX,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using w = await world();
    const { tm, raw } = await w.start("run ask --dry-run");
    try {
      const first = await tm.waitFor((s) => s.includes("FORGED-D"), "the prompt for p", 120_000);
      assertStringIncludes(
        first,
        "\\x1b]52;c;T1dORUQ=\\x07\\x1b[1A\\x1b[2KFORGED-A\\rFORGED-B\\nFORGED-C\\u{202e}",
      );
      await tm.type("val");
      await tm.keys("Enter");
      const second = await tm.waitFor((s) => s.includes("more characters"), "the prompt for long", 60_000);
      // 5000 characters are cut to 200 with the rest counted: the question stays on the screen
      assertStringIncludes(second, "(4800 more characters)");
      await tm.type("x");
      await tm.keys("Enter");
      await tm.waitFor((s) => s.includes("pick"), "the enum prompt", 60_000);
      await tm.keys("Enter");
      assertEquals(await tm.exitCode(60_000), 0, await tm.screen());
      const screen = await tm.screen();
      for (const line of screen.split("\n")) assert(!/^\s*FORGED/.test(line), `forged line:\n${screen}`);
      const bytes = await raw();
      assert(bytes.includes("FORGED-D"), "the pane recorded nothing");
      assertEquals(obeyed(bytes), [], JSON.stringify(bytes.slice(0, 3000)));
      const plan = await tm.read("stdout");
      assertStringIncludes(plan, `p = "val"`);
      assertEquals(obeyed(plan), []);
    } finally {
      await tm.stop();
    }
  },
});

Deno.test({
  name: "the trust prompt shows permission values and names made visible; a newline cannot add a line",
  ignore: !HAVE_TMUX,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using w = await world();
    const { tm, raw } = await w.start("run perm");
    try {
      const s = await tm.waitFor((s) => s.includes("Trust this version"), "the trust prompt", 120_000);
      assertStringIncludes(s, "./a\\x1b]52;c;T1dORUQ=\\x07\\x1b[1A\\x1b[2KFORGED-A\\rFORGED-B\\nFORGED-C");
      for (const line of s.split("\n")) assert(!/^\s*FORGED/.test(line), `forged line:\n${s}`);
      await tm.type("n");
      await tm.keys("Enter");
      assertEquals(await tm.exitCode(60_000), 2, await tm.screen());
      assertStringIncludes(await tm.screen(), "not trusted; nothing was run");
      assertEquals(obeyed(await raw()), []);
    } finally {
      await tm.stop();
    }
  },
});
