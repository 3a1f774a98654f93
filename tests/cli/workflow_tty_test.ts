/**
 * On a terminal: the trust prompt and the param prompt, through a real pseudo-terminal made by
 * util-linux `script` (skipped where it is not installed). No cluster needed (local steps only).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { stripAnsi } from "../../src/ui/color.ts";
import { CONFIG, MAIN } from "./_run.ts";

const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/**
 * Run kodama on a PTY, answering each prompt: for each `[prompt, key]`, `key` is typed once the terminal shows
 * `prompt` (a prompt drops whatever was typed ahead of it). Returns the exit code and everything it showed.
 */
async function onTty(args: string[], answers: [string, string][], cwd: string, env: Record<string, string>) {
  const cmd = [Deno.execPath(), "run", "-A", "--no-prompt", "--config", CONFIG, MAIN, ...args].map((a) =>
    `'${a}'`
  ).join(
    " ",
  );
  const child = new Deno.Command("script", {
    args: ["-qfec", cmd, "/dev/null"],
    cwd,
    env: { ...env, NO_COLOR: "1", TERM: "xterm" },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  // the screen so far, and who waits for a text on it (stdin stays open until kodama is done: EOF is ^D)
  let screen = "";
  let seenUpTo = 0;
  let shown: { text: string; resolve: (found: boolean) => void } | undefined;
  const look = () => {
    if (!shown) return;
    const at = stripAnsi(screen).indexOf(shown.text, seenUpTo);
    if (at < 0) return;
    seenUpTo = at + shown.text.length;
    shown.resolve(true);
    shown = undefined;
  };
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      screen += dec.decode(chunk, { stream: true });
      look();
    }
    shown?.resolve(false); // the program ended without showing it
  })();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  for (const [prompt, key] of answers) {
    const found = await new Promise<boolean>((resolve) => {
      shown = { text: prompt, resolve };
      look();
    });
    if (!found) break;
    await w.write(new TextEncoder().encode(key)).catch(() => {});
  }
  const status = await child.status;
  clearTimeout(timer);
  await reading;
  await w.close().catch(() => {});
  return { code: status.code, screen: stripAnsi(screen).replaceAll("\r", "") };
}

Deno.test({
  name: "on a TTY: trust is asked once and pinned; required params are prompted",
  ignore: !hasScript,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-tty-" });
    try {
      await Deno.mkdir(join(tmp, ".git"));
      await Deno.mkdir(join(tmp, ".kodama", "workflows"), { recursive: true });
      const file = join(tmp, ".kodama", "workflows", "greet.yaml");
      const text =
        "params:\n  who: { required: true, description: whom to greet }\npermissions: { run: [echo] }\n" +
        "steps:\n  - id: hi\n    local: { command: [echo, 'hello ${{ params.who }}'] }\n";
      await Deno.writeTextFile(file, text);
      const env = { KODAMA_HOME: join(tmp, "home") };

      // answer "no": nothing runs, exit 2
      const no = await onTty(["run", "greet", "--param", "who=x"], [["Trust this version", "n\r"]], tmp, env);
      assertEquals(no.code, 2, no.screen);
      assertStringIncludes(no.screen, "asks for permissions:");
      assertStringIncludes(no.screen, "run: echo");
      // the permissions are listed once
      assertEquals(no.screen.split("run: echo").length, 2, no.screen);
      assertStringIncludes(no.screen, "not trusted; nothing was run");
      assert(!no.screen.includes("hello x"));

      // answer "yes", then type the missing param
      const yes = await onTty(
        ["run", "greet"],
        [["Trust this version", "y\r"], ["who (whom to greet)", "world\r"]],
        tmp,
        env,
      );
      assertEquals(yes.code, 0, yes.screen);
      assertStringIncludes(yes.screen, "hello world");
      assertStringIncludes(await Deno.readTextFile(join(tmp, "home", "trust.yaml")), file);

      // trusted: no question the second time
      const again = await onTty(["run", "greet", "--param", "who=again"], [], tmp, env);
      assertEquals(again.code, 0, again.screen);
      assert(!again.screen.includes("Trust this version"), again.screen);
      assertStringIncludes(again.screen, "hello again");
      assertStringIncludes(again.screen, "✓ hi");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
