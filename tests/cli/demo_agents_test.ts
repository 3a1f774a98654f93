/**
 * `deno task demo` includes the agent loop (issue 66 point 4): the demo program itself is started, and the
 * README's `[demo project]` lines run as a user would, as a black box from the scratch project the demo
 * prints, with its KUBECONFIG and KODAMA_HOME and nothing else: the real Claude Code and Codex against the
 * demo's model-API stand-in, through the presets and the demo's config (env.dotenvFiles, defaults.image).
 * Skipped, saying why, without the CLIs or on a real cluster.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { dirname, join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { CLAUDE, CODEX, missing } from "../agents/_clis.ts";
import { CONFIG, hasStackTrace, MAIN } from "./_run.ts";
import { readmeExamples } from "./_examples.ts";

const ROOT = dirname(CONFIG);
const dec = new TextDecoder();

Deno.test({
  name: "demo: the README's agent lines run in the demo project with the real CLIs",
  ignore: onRealCluster || missing("claude", CLAUDE) || missing("codex", CODEX),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const lines = readmeExamples(await Deno.readTextFile(join(ROOT, "README.md")))
      .filter((e) => /\[demo project\]/.test(e.comment));
    assert(lines.length >= 7, "the README's agent lines are marked [demo project]");
    const tmp = await Deno.makeTempDir({ prefix: "kodama-demo-agents-" });
    const kc = join(tmp, "state", "kubeconfig");
    await Deno.mkdir(dirname(kc), { recursive: true });
    const demo = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", "tests/cluster/demo.ts", "--pods", "0", "--kubeconfig", kc],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      let banner = "";
      const r = demo.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!banner.includes("Press Ctrl-C")) {
        const { value, done } = await r.read();
        if (done) break;
        banner += value;
      }
      r.releaseLock();
      const project = /^\s*cd (\S+)\s*$/m.exec(banner)?.[1];
      const home = /KODAMA_HOME=(\S+)/.exec(banner)?.[1];
      assert(project && home, banner);
      // the banner lists the agent lines, with the README's words
      for (const l of lines) {
        if (/^kodama (start|session logs|compare|delete)/.test(l.command)) {
          assertStringIncludes(banner, l.command.replace(/^kodama /, "main.ts ").replace(/ && .*/, ""));
        }
      }
      const bin = join(tmp, "bin");
      await Deno.mkdir(bin);
      await Deno.writeTextFile(
        join(bin, "kodama"),
        `#!/bin/sh\nexec ${Deno.execPath()} run -A --no-prompt --config ${CONFIG} ${MAIN} "$@"\n`,
        { mode: 0o755 },
      );
      const env = {
        PATH: `${bin}:${Deno.env.get("PATH")}`,
        HOME: Deno.env.get("HOME") ?? tmp,
        KUBECONFIG: kc,
        KODAMA_HOME: home,
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      };
      const outs: Record<string, { stdout: string; stderr: string }> = {};
      for (const ex of lines) {
        await t.step(`README.md:${ex.line}: ${ex.command}`, async () => {
          const o = await new Deno.Command("sh", {
            args: ["-c", ex.command],
            cwd: project,
            env,
            clearEnv: true,
            stdout: "piped",
            stderr: "piped",
          }).output();
          const stdout = dec.decode(o.stdout), stderr = dec.decode(o.stderr);
          outs[ex.command] = { stdout, stderr };
          assertEquals(o.code, 0, `${stdout}\n${stderr}`);
          assert(!/^error:/m.test(stderr), stderr);
          assert(!hasStackTrace(stderr), stderr);
        });
      }
      await t.step(
        "what the agents did: commits landed, one replica was Codex, the prompt stayed out",
        async () => {
          const out = (c: string) => Object.entries(outs).find(([k]) => k.startsWith(c))?.[1];
          assertStringIncludes(
            out("kodama start fix --repo . --prompt-file task.txt")!.stderr,
            "not syncing the prompt file task.txt",
          );
          assertMatch(out("kodama session logs fix -f")!.stdout, /^-> Bash .*AGENT_NOTES\.md/m);
          assertMatch(out("kodama compare fix")!.stdout, /^fix-2\s+codex\s+succeeded/m);
          assertMatch(out("kodama compare fix")!.stdout, /^fix-1\s+claude\s+succeeded/m);
          const git = (...args: string[]) =>
            dec.decode(new Deno.Command("git", { args, cwd: project, stdout: "piped" }).outputSync().stdout);
          assertMatch(git("log", "-1", "--format=%s", "main"), /^agent: Make hello\.sh greet/);
          assertStringIncludes(git("show", "--stat", "main"), "AGENT_NOTES.md");
          assert(
            !git("log", "--all", "--name-only", "--format=").includes("task.txt"),
            "task.txt was committed",
          );
          const list = await new Deno.Command("sh", {
            args: ["-c", "kodama list -o name"],
            cwd: project,
            env,
            clearEnv: true,
            stdout: "piped",
          }).output();
          const names = dec.decode(list.stdout).trim().split("\n").map((n) => n.replace(/^session\//, ""));
          assertEquals(names.filter((n) => /^fix-/.test(n)), ["fix-3"]);
        },
      );
    } finally {
      demo.kill("SIGINT");
      await demo.status;
      await demo.stdout.cancel().catch(() => {});
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
