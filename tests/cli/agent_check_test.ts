/**
 * Keys and models checked before anything starts (issue #62 points 4-7), black-box as `dev` in `dev`:
 * `agent check` against the model-API stand-in (401, 404, another provider's key, no key: exit 4/3),
 * `agent keys set|list|test|rm` (the file store, mode 0600, the key never printed), `start --prompt`
 * stopping with exit 4 before anything is created, `start --replicas` checking once first, the settings
 * flags recorded with the session and reaching the run as the runner's KODAMA_* variables.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { startStandIn } from "../agents/_standin.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { waitUntil } from "../cluster/harness.ts";

const GOOD = "sk-ant-standin-good-4242";
const BAD = "sk-ant-standin-bad-0000";
const MODEL = "claude-standin-1";

/** A custom agent that says which of the runner's variables it got. */
const ENV_AGENT =
  `cat > /dev/null; echo "models=$KODAMA_MODELS flag=\${KODAMA_MODEL_FLAG:-none} turns=$KODAMA_MAX_TURNS cost=\${KODAMA_MAX_COST_USD:-none} retry=$KODAMA_RETRY_ATTEMPTS"`;

withSessionWorld("agent check, agent keys, start's preflight, the settings flags", {
  timeoutMs: 10 * 60_000,
}, async (t, w) => {
  const api = await startStandIn([], {
    gate: { keys: [GOOD], models: [MODEL], headers: { "anthropic-ratelimit-requests-remaining": "49" } },
  });
  const base = { ANTHROPIC_BASE_URL: api.url, KODAMA_KEYS_STORE: "file" };
  const nothingCreated = async (name: string) => {
    const r = await w.kc(["get", "pods,pvc,secrets,configmaps", "-o", "name"]);
    assertEquals(r.code, 0, r.stderr);
    assert(!r.stdout.includes(name), `objects of ${name} were created:\n${r.stdout}`);
  };
  const timed = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return Math.round(performance.now() - t0);
  };
  try {
    await t.step(
      "agent check: ok with the headroom; 401 → 4, unknown model → 3, another provider's key → 4",
      async () => {
        const ok = await w.k(["agent", "check", "--model", MODEL], {
          env: { ...base, ANTHROPIC_API_KEY: GOOD },
        });
        assertEquals(ok.code, 0, ok.stderr);
        assertMatch(ok.stdout, /^RESULT\s+ok: the key was accepted/m);
        assertMatch(ok.stdout, /^KEY\s+ANTHROPIC_API_KEY …4242 \(from this environment\)$/m);
        assertMatch(ok.stdout, /^FIRST TOKEN\s+\d/m);
        assertStringIncludes(ok.stdout, "anthropic-ratelimit-requests-remaining=49");
        assert(!ok.stdout.includes(GOOD) && !ok.stderr.includes(GOOD));
        // the request the session's agent would make: its base URL, its model, max_tokens 1, streaming
        const sent = api.requests.at(-1)!;
        assertEquals([sent.path, (sent.body as { model: string }).model], ["/v1/messages", MODEL]);
        assertEquals((sent.body as { max_tokens: number; stream: boolean }).max_tokens, 1);

        let r = await w.k(["agent", "check", "--model", MODEL], { env: { ...base, ANTHROPIC_API_KEY: BAD } });
        assertEquals(r.code, 4, r.stderr);
        assertMatch(
          r.stderr,
          /^error: claude check \(model claude-standin-1, this machine\): the key was refused \(401\)/m,
        );
        assertStringIncludes(r.stderr, "kodama agent keys set anthropic");
        assert(!r.stderr.includes("    at "), r.stderr);
        const ms = await timed(async () => {
          r = await w.k(["agent", "check", "-o", "json", "--model", "claude-nope"], {
            env: { ...base, ANTHROPIC_API_KEY: GOOD },
          });
        });
        assertEquals(r.code, 3, r.stderr);
        const j = JSON.parse(r.stdout);
        assertEquals([j.verdict, j.httpStatus, j.exitCode], ["model", 404, 3]);
        console.log(`agent check, unknown model → exit 3: ${ms} ms`);
        r = await w.k(["agent", "check"], { env: { ...base, ANTHROPIC_API_KEY: "sk-proj-openai-1234" } });
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "this is an OpenAI key in ANTHROPIC_API_KEY");
        r = await w.k(["agent", "check"], { env: base });
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "no key is set");
        r = await w.k(["agent", "check", "--agent", "custom"], { env: base });
        assertEquals(r.code, 2, r.stderr);
        r = await w.k(["agent", "check", "--model", "--x"], { env: base });
        assertEquals(r.code, 2, r.stderr);
      },
    );

    await t.step("agent keys: set from stdin, listed masked, tested, used by check, removed", async () => {
      let r = await w.k(["agent", "keys", "set", "anthropic"], { env: base, stdin: `${GOOD}\n` });
      assertEquals(r.code, 0, r.stderr);
      assert(!r.stdout.includes(GOOD));
      assertEquals((await Deno.stat(join(w.home, "keys.json"))).mode! & 0o777, 0o600);
      r = await w.k(["agent", "keys", "list"], { env: base });
      assertMatch(r.stdout, /^anthropic\s+ANTHROPIC_API_KEY\s+…4242\s+file\s/m);
      assert(!r.stdout.includes(GOOD));
      r = await w.k(["agent", "keys", "test", "anthropic", "--model", MODEL], { env: base });
      assertEquals(r.code, 0, r.stderr);
      // this environment's key wins over the stored one, and check says which it used
      r = await w.k(["agent", "check", "--model", MODEL], { env: { ...base, ANTHROPIC_API_KEY: BAD } });
      assertEquals(r.code, 4, r.stderr);
      r = await w.k(["agent", "check", "--model", MODEL], { env: base });
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /^KEY\s+ANTHROPIC_API_KEY …4242 \(from kodama agent keys\)$/m);
      // a stored key goes into a session's env Secret like a local variable (names only on dry-run)
      const d = await w.k(["start", "kd", "--no-sync", "--dry-run", "-o", "json", "-p", "x"], { env: base });
      assertEquals(d.code, 0, d.stderr);
      assertStringIncludes(
        d.stderr,
        "note: ANTHROPIC_API_KEY (from kodama agent keys) goes into the env Secret",
      );
      assert(!d.stdout.includes(GOOD));
      r = await w.k(["agent", "keys", "set", "anthropic"], { env: base, stdin: "sk-proj-openai-1234\n" });
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "this is an OpenAI key in ANTHROPIC_API_KEY");
      r = await w.k(["agent", "keys", "rm", "anthropic"], { env: base });
      assertEquals(r.code, 0, r.stderr);
      r = await w.k(["agent", "keys", "rm", "anthropic"], { env: base });
      assertEquals(r.code, 3, r.stderr);
      r = await w.k(["agent", "keys", "set", "copilot"], { env: base, stdin: "x\n" });
      assertEquals(r.code, 2, r.stderr);
    });

    await t.step(
      "start --prompt without a key: exit 4 before anything is created; a wrong key too",
      async () => {
        let r = await w.k(["start", "pf", "--no-sync", "--image", SESSION_IMAGE, "-p", "do it"], {
          env: base,
        });
        const ms = await timed(async () => {
          r = await w.k(["start", "pf", "--no-sync", "--image", SESSION_IMAGE, "-p", "do it"], { env: base });
        });
        assertEquals(r.code, 4, r.stderr);
        assertMatch(
          r.stderr,
          /^error: cannot start pf: the claude agent has no credentials \(none of ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_AUTH_TOKEN/m,
        );
        assertStringIncludes(r.stderr, "kodama agent keys set anthropic");
        console.log(`start without a key → exit 4: ${ms} ms`);
        await nothingCreated("pf");
        r = await w.k(["start", "pf", "--no-sync", "-p", "x"], {
          env: { ...base, ANTHROPIC_API_KEY: "AIzaSyGemini12" },
        });
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "this is a Google (Gemini) key in ANTHROPIC_API_KEY");
        await nothingCreated("pf");
      },
    );

    await t.step("start --replicas 2 with a refused key: one check, exit 4, no replica", async () => {
      const before = api.requests.length;
      let r;
      const ms = await timed(async () => {
        r = await w.k([
          "start",
          "grp",
          "--replicas",
          "2",
          "--no-sync",
          "--image",
          SESSION_IMAGE,
          "-p",
          "x",
          "--model",
          MODEL,
        ], {
          env: { ...base, ANTHROPIC_API_KEY: BAD },
        });
      });
      r = r!;
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "the key was refused (401)");
      assertStringIncludes(r.stderr, "no replica was started");
      assertEquals(api.requests.length - before, 1);
      console.log(`start --replicas 2 with a bad key → exit 4: ${ms} ms`);
      await nothingCreated("grp");
    });

    await t.step("settings flags: exit 2 on bad values; recorded with the session (dry-run)", async () => {
      for (
        const [args, words] of [
          [["--max-cost", "lots"], "invalid --max-cost"],
          [["--retry", "many"], "--retry"],
          [["--model", "a;b"], "invalid --model"],
          [["--budget", "5"], "--budget is a group's total"],
          [["--max-time", "soon"], "invalid --max-time"],
        ] as [string[], string][]
      ) {
        const r = await w.k(["start", "bad", "--no-sync", "-p", "x", ...args], { env: base });
        assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assertStringIncludes(r.stderr, words);
      }
      // --budget: the group's total, split evenly into each replica's --max-cost
      const g = await w.k(
        [
          "start",
          "bud",
          "--replicas",
          "2",
          "--budget",
          "5",
          "--no-sync",
          "--dry-run",
          "-o",
          "json",
          "-p",
          "x",
        ],
        { env: base },
      );
      assertEquals(g.code, 0, g.stderr);
      const costs = [...g.stdout.matchAll(/maxCostUsd\\":([\d.]+)/g)].map((m) => Number(m[1]));
      assert(costs.length >= 2 && costs.every((c) => c === 2.5), g.stdout.slice(0, 2000));
      const both = await w.k([
        "start",
        "bud",
        "--replicas",
        "2",
        "--budget",
        "5",
        "--max-cost",
        "1",
        "-p",
        "x",
      ], {
        env: base,
      });
      assertEquals(both.code, 2, both.stderr);
      const c = await w.k(["compare", "nogroup", "--stop-others-when-passed"], { env: base });
      assertEquals(c.code, 2, c.stderr);
      assertStringIncludes(c.stderr, "add --wait or -w");
      const r = await w.k([
        "start",
        "dr",
        "--no-sync",
        "--dry-run",
        "-o",
        "json",
        "--agent",
        "claude --fallback-model claude-standin-2",
        "--model",
        MODEL,
        "--max-turns",
        "7",
        "--max-cost",
        "2",
        "--max-time",
        "30m",
        "--retry",
        "3",
      ], { env: base });
      assertEquals(r.code, 0, r.stderr);
      const items = JSON.parse(r.stdout).items as {
        kind: string;
        metadata: { annotations?: Record<string, string> };
      }[];
      const spec = Object.values(items.find((i) => i.kind === "Job")!.metadata.annotations!).map((a) => {
        try {
          return JSON.parse(a);
        } catch {
          return undefined;
        }
      }).find((a) => a?.agent);
      assertEquals(spec.agent.preset, "claude");
      assertEquals(spec.agent.command.slice(-2), ["--fallback-model", "claude-standin-2"]);
      assertEquals(spec.agent.settings, {
        models: [MODEL],
        retry: { attempts: 3 },
        maxTurns: 7,
        maxCostUsd: 2,
        maxSeconds: 1800,
      });
    });

    await t.step(
      "the settings reach every run as the runner's variables; agent run's flags are that run's",
      async () => {
        const dir = await Deno.makeTempDir({ prefix: "kodama-envagent-" });
        await Deno.writeTextFile(join(dir, ".env"), `ANTHROPIC_BASE_URL=${api.url}\n`);
        // a custom command gets credentials only when the user's own config lists them (agent.authEnv)
        await Deno.writeTextFile(
          join(w.home, "config.yaml"),
          `agent:\n  authEnv: [ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL]\n`,
        );
        await Deno.writeTextFile(
          join(dir, ".kodama.yaml"),
          `agent:\n  command: [sh, -c, ${JSON.stringify(ENV_AGENT)}]\n  models: [cfg-model]\n`,
        );
        const k = (args: string[], env: Record<string, string> = {}) =>
          w.k(args, { cwd: dir, env: { ...base, ANTHROPIC_API_KEY: GOOD, ...env } });
        const logs = (id: string, text: string) =>
          waitUntil(
            async () => (await k(["agent", "logs", "se", id])).stdout.includes(text),
            90_000,
            `run ${id}: ${text}`,
          );
        try {
          const s = await k([
            "start",
            "se",
            "--no-sync",
            "--image",
            SESSION_IMAGE,
            "-p",
            "go",
            "--env-file",
            ".env",
            "--fallback-model",
            "fb-1,fb-2",
            "--max-turns",
            "4",
            "--retry",
            "2",
          ]);
          assertEquals(s.code, 0, s.stderr);
          // a custom command: the runner's variables, no model flag of its own
          await logs("1", "models=cfg-model,fb-1,fb-2 flag=none turns=4 cost=none retry=2");
          const g = await k(["session", "get", "se"]);
          assertMatch(g.stdout, /Agent:?\s+custom \(models cfg-model → fb-1 → fb-2, retry 2, max turns 4\)/);
          const r = await k([
            "agent",
            "run",
            "se",
            "--prompt",
            "again",
            "--max-cost",
            "1.5",
            "--model",
            "run-model",
          ]);
          assertEquals(r.code, 0, r.stderr);
          await logs("2", "models=run-model,fb-1,fb-2 flag=none turns=4 cost=1.5 retry=2");
          const r3 = await k(["agent", "run", "se", "--prompt", "third"]);
          assertEquals(r3.code, 0, r3.stderr);
          await logs("3", "models=cfg-model,fb-1,fb-2 flag=none turns=4 cost=none retry=2");
          // agent check SESSION: from the pod, with its variables (the key never leaves it). A real cluster's
          // pod cannot reach the stand-in (this machine's 127.0.0.1): there it is unreachable, exit 1
          const pc = await k(["agent", "check", "se", "--agent", "claude", "--model", MODEL, "-o", "json"]);
          assertEquals(pc.code, w.c.real ? 1 : 0, pc.stderr);
          assertEquals(
            [JSON.parse(pc.stdout).from, JSON.parse(pc.stdout).verdict],
            ["session se", w.c.real ? "unreachable" : "ok"],
          );
          // keys rotate: the env Secret's value replaced and the running pod given it; the pod is the same
          const uid = async () =>
            (await w.kc([
              "get",
              "pod",
              "-l",
              "kodama.dev/session=se",
              "-o",
              "jsonpath={.items[0].metadata.uid}",
            ])).stdout;
          const before = await uid();
          const NEW = "sk-ant-standin-new-5151";
          const rot = await k(["agent", "keys", "rotate", "se", "--variable", "ANTHROPIC_API_KEY"], {
            ANTHROPIC_API_KEY: NEW,
          });
          assertEquals(rot.code, 0, rot.stderr);
          assertStringIncludes(
            rot.stdout,
            "rotated ANTHROPIC_API_KEY (…5151) in session se's env Secret and the running pod",
          );
          assert(!rot.stdout.includes(NEW) && !rot.stderr.includes(NEW));
          const sec = await w.kc([
            "get",
            "secret",
            "kodama-env-se",
            "-o",
            "jsonpath={.data.ANTHROPIC_API_KEY}",
          ]);
          assertEquals(atob(sec.stdout), NEW);
          const f = await k([
            "attach",
            "se",
            "--command",
            'cat "$HOME/.kodama/env/ANTHROPIC_API_KEY"; echo; ls -l "$HOME/.kodama/env/ANTHROPIC_API_KEY"',
          ]);
          assertEquals(f.code, 0, f.stderr);
          assertStringIncludes(f.stdout, NEW);
          assertMatch(f.stdout, /^-rw------- /m);
          assertEquals(await uid(), before);
          // the next use of the key in the pod is the rotated one (the stand-in refuses it: exit 4); a real
          // cluster's pod cannot reach the stand-in, the file above is what it checks there
          const after = await k(["agent", "check", "se", "--agent", "claude", "--model", MODEL]);
          assertEquals(after.code, w.c.real ? 1 : 4, after.stderr);
          assertStringIncludes(after.stderr, w.c.real ? "cannot reach" : "the key was refused (401)");
          // a variable the Secret does not have: exit 3; another provider's key: exit 4
          const missing = await k(["agent", "keys", "rotate", "se", "--variable", "OPENAI_API_KEY"], {
            OPENAI_API_KEY: "sk-proj-1",
          });
          assertEquals(missing.code, 3, missing.stderr);
          const wrong = await k(["agent", "keys", "rotate", "se", "--variable", "ANTHROPIC_API_KEY"], {
            ANTHROPIC_API_KEY: "sk-proj-abc12345",
          });
          assertEquals(wrong.code, 4, wrong.stderr);
          assertStringIncludes(wrong.stderr, "this is an OpenAI key in ANTHROPIC_API_KEY");
        } finally {
          await purge(w, "se");
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      },
    );
  } finally {
    await api.close();
  }
});
