/**
 * On a terminal: the trust prompt and the param prompt, through a real pseudo-terminal made by
 * util-linux `script` (skipped where it is not installed). No cluster needed (local steps only).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
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

/** Run kodama on a PTY, typing `keys`; returns the exit code and everything the terminal showed. */
async function onTty(args: string[], keys: string[], cwd: string, env: Record<string, string>) {
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
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  const out = child.output(); // keep stdin open until kodama is done (EOF would reach it as ^D)
  // one answer per prompt, each after the previous prompt had time to appear (a prompt drops
  // whatever was typed ahead of it)
  let exited = false;
  const statusP = child.status.then((s) => (exited = true, s));
  for (const k of keys) {
    await new Promise((r) => setTimeout(r, 1500));
    if (exited) break;
    await w.write(new TextEncoder().encode(k)).catch(() => {});
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const status = await statusP;
  clearTimeout(timer);
  await w.close().catch(() => {});
  const o = await out;
  return { code: status.code, screen: stripAnsi(new TextDecoder().decode(o.stdout)).replaceAll("\r", "") };
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
      const no = await onTty(["run", "greet", "--param", "who=x"], ["n\r"], tmp, env);
      assertEquals(no.code, 2, no.screen);
      assertStringIncludes(no.screen, "asks for permissions:");
      assertStringIncludes(no.screen, "run: echo");
      // the permissions are listed once
      assertEquals(no.screen.split("run: echo").length, 2, no.screen);
      assertStringIncludes(no.screen, "not trusted; nothing was run");
      assert(!no.screen.includes("hello x"));

      // answer "yes", then type the missing param
      const yes = await onTty(["run", "greet"], ["y\r", "world\r"], tmp, env);
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
