/**
 * On a terminal, a sandboxed step that is refused a permission shows kodama's one-line refusal and
 * never Deno's interactive permission prompt — which would let a repository's script ask the person
 * to widen its own sandbox ("Allow? [y/n/A]"). Deno prompts inside a Worker too unless it runs with
 * `--no-prompt`, so this drives every way a user starts kodama in a real terminal (tmux, private
 * socket): the `deno task install` shims (`kodama`, `kubectl kodama`), `deno run -A --no-prompt
 * main.ts` as the demo prints it, and a bare `deno run -A main.ts`, where kodama refuses to run the
 * step at all. A prompt would block the pane, so the command would never exit: the test would fail.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { HAVE_TMUX, Tmux } from "../integration/picker_tmux.ts";
import { CONFIG, MAIN } from "./_run.ts";

const PROMPT = /Deno requests|Allow\?|\[y\/n/;

Deno.test({
  name: "on a TTY a refused permission is kodama's one line, never Deno's prompt, however kodama is started",
  ignore: !HAVE_TMUX,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-prompt-" });
    const root = join(tmp, "install");
    const repo = join(tmp, "repo");
    const home = join(tmp, "home");
    try {
      const inst = await new Deno.Command(Deno.execPath(), {
        args: ["task", "install"],
        cwd: new URL("../..", import.meta.url).pathname,
        env: { DENO_INSTALL_ROOT: root },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(inst.code, 0, new TextDecoder().decode(inst.stderr));
      for (const shim of ["kodama", "kubectl-kodama", "kpod", "kwekash"]) {
        assertStringIncludes(await Deno.readTextFile(join(root, "bin", shim)), "--no-prompt");
      }
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
      await Deno.writeTextFile(
        join(repo, ".kodama", "scripts", "peek.ts"),
        `export default async () => {
  const asked = await Deno.permissions.request({ name: "env", variable: "HOME" });
  console.log("request answered " + asked.state);
  return { host: Deno.readTextFileSync("/etc/hostname") };
};
`,
      );
      // no permissions: no trust needed, so nothing but the refusal itself can stop the run
      const file = join(repo, ".kodama", "workflows", "peek.yaml");
      await Deno.writeTextFile(file, "steps:\n  - id: peek\n    script: { module: ../scripts/peek.ts }\n");
      const spawn = join(repo, ".kodama", "workflows", "spawn.yaml");
      await Deno.writeTextFile(spawn, "steps:\n  - id: spawn\n    local: { command: [id] }\n");
      const env = {
        PATH: `${join(root, "bin")}:${Deno.env.get("PATH")}`,
        KODAMA_HOME: home,
        HOME: home,
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno"),
      };
      const deno = `${Deno.execPath()} run -A`;
      const starts: [string, string, RegExp][] = [
        [
          "the installed kodama shim",
          `kodama run ${file}`,
          /denied: read access to "\/etc\/hostname" \(add it to permissions\.read\)/,
        ],
        [
          "kubectl kodama (the plugin shim)",
          `kubectl kodama run ${file}`,
          /denied: read access to "\/etc\/hostname"/,
        ],
        [
          "a local step through the shim",
          `kodama run ${spawn}`,
          /denied: run access to "id" \(add it to permissions\.run\)/,
        ],
        [
          "deno run -A --no-prompt main.ts (as the demo prints it)",
          `${deno} --no-prompt --config ${CONFIG} ${MAIN} run ${file}`,
          /denied: read access to "\/etc\/hostname"/,
        ],
        [
          "deno run -A main.ts without --no-prompt: kodama refuses the step instead",
          `${deno} --config ${CONFIG} ${MAIN} run ${file}`,
          /kodama runs sandboxed steps only with Deno's permission prompts off/,
        ],
      ];
      for (const [what, command, want] of starts) {
        await t.step(what, async () => {
          const tm = await Tmux.start(command, { env, width: 200, height: 40 });
          try {
            // a prompt blocks the pane: then the command never exits and this throws with the screen
            const code = await tm.exitCode(120_000);
            const screen = await tm.screen();
            assert(!PROMPT.test(screen), `Deno prompted:\n${screen}`);
            assert(want.test(screen), `no kodama refusal on the terminal:\n${screen}`);
            assert(code !== 0, screen);
            assert(!screen.includes("Uncaught") && !screen.includes("--allow-"), screen);
            const out = await tm.read("stdout");
            // Deno.permissions.request inside the script answered without asking
            if (command.includes(file) && !what.includes("without")) {
              assert(/request answered (prompt|denied)/.test(out), out);
            }
          } finally {
            await tm.stop();
          }
        });
      }
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
