/**
 * Issue 79 defect 4: `agent say` printed a pod-chosen run id raw (an OSC 52 clipboard write reached the
 * terminal), and the pod scripts put the agent-writable `$HOME/.local/bin` first on PATH, so a `tail` the
 * agent planted there chose the id. Now a run id the pod answers with has kodama's shape or the command
 * fails (exit 1, the answer escaped), what `agent say/interrupt/wait/status` print from the pod is
 * terminal-safe, and kodama's pod programs call the system's tools before anything under $HOME.
 *
 * The pod programs run for real here (sh, say.sh after prologue.sh) on this machine; only the exec
 * transport is a stand-in that runs the command locally, with a HOME the "agent" has written.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { sayAnswer, sayToSession } from "../../../src/agent/runs/say.ts";
import { podRunId, PROLOGUE } from "../../../src/agent/runs/agent.ts";
import { renderRuns } from "../../../src/agent/runs/agentrun.ts";
import type { Kube } from "../../../src/kube/client.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { memorySink } from "../../../src/base/sink.ts";

const OSC52 = "\x1b]52;c;ZXZpbA==\x07";
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const pod = { metadata: { name: "kodama-s", namespace: "dev" } } as V1Pod;
const cfg = configSchema.parse({});

/** An exec transport that runs the command on this machine, with `env` only (the pod's environment). */
function localExec(env: Record<string, string>): Kube {
  return {
    namespace: "dev",
    async execIn(_ns: string, _pod: string, _c: string, argv: string[], s: Record<string, unknown> = {}) {
      const child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        env,
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      })
        .spawn();
      const w = child.stdin.getWriter();
      if (s.stdin) await w.write(s.stdin as Uint8Array);
      await w.close();
      const out = await child.output();
      (s.stdout as (c: Uint8Array) => void)?.(out.stdout);
      (s.stderr as (c: Uint8Array) => void)?.(out.stderr);
      return { exitCode: out.code };
    },
  } as unknown as Kube;
}

/** A transport whose pod answers `stdout` (a pod whose tools the agent replaced). */
const answering = (stdout: string): Kube =>
  ({
    namespace: "dev",
    execIn(_ns: string, _pod: string, _c: string, _argv: string[], s: Record<string, unknown> = {}) {
      (s.stdout as (c: Uint8Array) => void)?.(new TextEncoder().encode(stdout));
      return Promise.resolve({ exitCode: 0 });
    },
  }) as unknown as Kube;

Deno.test("agent say: a run id the pod forged is refused, never printed", async () => {
  for (
    const forged of [
      `sent 1${OSC52}\n`,
      `queued 1\x1b[2K\x1b[1Arun 9 ok claude\n`,
      `sent 1\x9b31m\n`,
      `sent 1\rrun 2\n`,
      `sent \n`,
      `sent -1\n`,
      `${OSC52}sent 1\n`,
    ]
  ) {
    const e = await sayToSession(answering(forged), "dev", "s", "hi", { cfg, err: memorySink(), pod }).then(
      (r) => r,
      (e) => e,
    );
    assert(e instanceof KodamaError, `${JSON.stringify(forged)}: ${JSON.stringify(e)}`);
    assertEquals(e.code, ExitCode.FAILED);
    assert(!CONTROL.test(e.message), JSON.stringify(e.message));
  }
  assertEquals(sayAnswer("sent 12\n"), { how: "sent", run: "12", agent: undefined });
  assertEquals(sayAnswer("queued 3 codex\n"), { how: "queued", run: "3", agent: "codex" });
  assertEquals(sayAnswer(`queued 3 co${OSC52}\n`).agent, undefined);
  const e = assertThrows(() => podRunId(`7${OSC52}`, "x")) as KodamaError;
  assertStringIncludes(e.message, "\\x1b]52");
});

Deno.test("pod programs: a tool the agent put in ~/.local/bin is not the one they run", async () => {
  const home = await Deno.makeTempDir({ prefix: "kodama-podhome-" });
  try {
    const bin = join(home, ".local", "bin");
    await Deno.mkdir(bin, { recursive: true });
    // the agent's tools, each answering a forged run id
    for (const tool of ["tail", "cat", "node", "sort", "grep", "ls", "say"]) {
      await Deno.writeTextFile(
        join(bin, tool),
        `#!/bin/sh\nprintf '1${OSC52.replace("\x1b", "\\033").replace("\x07", "\\007")}\\n'\n`,
      );
      await Deno.chmod(join(bin, tool), 0o755);
    }
    const runs = join(home, ".kodama", "runs");
    // the real run 1 (a custom command: it takes no messages), and a run directory named as the forgery
    await Deno.mkdir(join(runs, "1"), { recursive: true });
    await Deno.writeTextFile(join(runs, "1", "agent"), "custom\n");
    await Deno.mkdir(join(runs, `1${OSC52}`), { recursive: true });
    await Deno.writeTextFile(join(runs, `1${OSC52}`, "agent"), "custom\n");
    const env = { HOME: home, PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, KODAMA_WORKSPACE: home };
    // which tools the prologue's PATH finds
    const which = await new Deno.Command("sh", {
      args: [
        "-c",
        [...PROLOGUE, "for t in tail cat node sort grep ls; do command -v $t || echo none; done"].join("\n"),
      ],
      env,
      clearEnv: true,
    }).output();
    for (const line of new TextDecoder().decode(which.stdout).trim().split("\n")) {
      assert(!line.startsWith(home), `the agent's ${line} is run`);
    }
    // say.sh picks the latest run with the system's tail: run 1, and says so
    const e = await sayToSession(localExec(env), "dev", "s", "hi", { cfg, err: memorySink(), pod }).catch((
      e,
    ) => e);
    assert(e instanceof KodamaError, String(e));
    assertEquals(e.code, ExitCode.USAGE, e.message);
    assertStringIncludes(e.message, "run 1 of session s takes no messages");
    assert(!e.message.includes("\x1b") && !e.message.includes("\\x1b"), e.message);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("agent status: what a run's outcome says from the pod is terminal-safe", () => {
  const out = renderRuns([{
    id: "1",
    state: "failed",
    exitCode: 1,
    truth: { error: `invalid key${OSC52}\x1b[2K\rforged`, fromLog: true },
  } as never]);
  assert(!out.includes("\x1b") && !out.includes("\r"), JSON.stringify(out));
});
