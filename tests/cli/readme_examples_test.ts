/**
 * The README's examples, run against the test server seeded like `deno task demo` (the demo world:
 * weka-operator-system, prod, staging, dev, and 10 pods in load).
 *
 * Extraction rule (follow it when you add an example to README.md):
 * - every line of a fenced ```sh block in README.md whose command is `kodama`, `kpod` or `kwekash` is an
 *   example of the demo world and is run here, through shims named like the installed commands, from the
 *   repository root (so `./README.md` exists), with its own KODAMA_HOME; a trailing `# comment` is not
 *   part of the command, pipes are (`| jq …`);
 * - it must exit 0, print no `error:` line and no stack trace;
 * - an example that keeps running (`-f`/`--follow`, `-w`/`--watch`, `port-forward` without `--detach`, `ui`)
 *   must print something on stdout, then end quietly with Ctrl-C (exit 0 or 130);
 * - `--tmux` runs against a private tmux server (a detached session); `--detach` forwards are stopped after;
 * - a line whose comment contains `[not in the demo]` (it needs several contexts, a real image, …) or
 *   `[interactive]` (it needs a terminal) is not run — say so in the README, next to the example.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { dirname, join } from "node:path";
import { onRealCluster, startCluster } from "../cluster/harness.ts";
import { DEMO_LOAD_PODS } from "../cluster/main.ts";
import { CONFIG, hasStackTrace, MAIN } from "./_run.ts";
import { HAVE_TMUX } from "../integration/picker_tmux.ts";

const ROOT = dirname(CONFIG);
export { type Example, readmeExamples } from "./_examples.ts";
import { readmeExamples } from "./_examples.ts";

const longRunning = (cmd: string) =>
  /(^|\s)(-f|--follow|-w|--watch|--watch-only)(\s|$)/.test(cmd) ||
  (/\sport-forward\s/.test(cmd) && !/--detach/.test(cmd)) || /^kodama ui(\s|$)/.test(cmd);

Deno.test({
  name: "README examples run against the demo world",
  // the demo world's exact names, its weka command and the demo's KODAMA_HOME: `deno task demo` only
  ignore: onRealCluster,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const examples = readmeExamples(await Deno.readTextFile(join(ROOT, "README.md")));
    assert(examples.filter((e) => !e.skip).length >= 10, "the README has examples");
    const c = await startCluster({ seed: "demo", pods: DEMO_LOAD_PODS });
    const tmp = await Deno.makeTempDir({ prefix: "kodama-readme-" });
    const bin = join(tmp, "bin");
    const socket = `kodama-readme-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(bin);
    const deno = `${Deno.execPath()} run -A --config ${CONFIG} ${MAIN}`;
    for (const [name, prefix] of [["kodama", ""], ["kpod", "exec "], ["kwekash", "run kwekash "]]) {
      await Deno.writeTextFile(join(bin, name), `#!/bin/sh\nexec ${deno} ${prefix}"$@"\n`, { mode: 0o755 });
    }
    const env: Record<string, string> = {
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      HOME: Deno.env.get("HOME") ?? tmp,
      KUBECONFIG: c.kubeconfig,
      KODAMA_HOME: join(tmp, "home"),
      KODAMA_TMUX_SOCKET: socket,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    };
    // `exec`: without a pipe, kodama itself is the child (the shims exec too), so Ctrl-C reaches it
    const run = (command: string) =>
      new Deno.Command("sh", {
        args: ["-c", command.includes("|") ? command : `exec ${command}`],
        cwd: ROOT,
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    try {
      for (const ex of examples) {
        await t.step({
          name: `README.md:${ex.line}: ${ex.command}`,
          ignore: ex.skip || (/--tmux/.test(ex.command) && !HAVE_TMUX) ||
            (/\|\s*jq\b/.test(ex.command) && !haveJq()),
          fn: async () => {
            const child = run(ex.command);
            let out = "";
            const pump = (async () => {
              for await (const s of child.stdout.pipeThrough(new TextDecoderStream())) out += s;
            })();
            const err = new Response(child.stderr).text();
            if (longRunning(ex.command)) {
              const end = Date.now() + 60_000;
              while (!out.trim() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
              if (!out.trim()) {
                child.kill("SIGKILL");
                throw new Error(`no output from a long-running example in 60 s: ${await err}`);
              }
              child.kill("SIGINT");
            }
            const status = await child.status;
            await pump;
            const stderr = await err;
            if (longRunning(ex.command)) {
              assert(status.code === 0 || status.code === 130, `exit ${status.code}\n${stderr}`);
            } else assertEquals(status.code, 0, `${out}\n${stderr}`);
            assert(!/^error:/m.test(stderr), stderr);
            assert(!hasStackTrace(stderr), stderr);
          },
        });
      }
    } finally {
      // detached forwards and tmux sessions the examples left behind
      await new Deno.Command("sh", {
        args: ["-c", "kodama port-forward stop --all"],
        env,
        clearEnv: true,
        stdout: "null",
        stderr: "null",
      })
        .output().catch(() => {});
      await new Deno.Command("tmux", { args: ["-L", socket, "kill-server"], stdout: "null", stderr: "null" })
        .output()
        .catch(() => {});
      await c.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

function haveJq(): boolean {
  try {
    return new Deno.Command("jq", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}
