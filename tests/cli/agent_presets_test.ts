/**
 * Agent presets, black-box as `dev` in `dev`: `kodama agent presets`, what `start --dry-run` says goes with
 * the agent (names, never values), a bad `--agent`, and the session's own agent command (a template's, a
 * replica's variant) used by every later run, `--continue` adding its continue arguments to THAT command.
 * The agents here are fake (`sh -c`); the real CLIs are driven by the end-to-end tests.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { waitUntil } from "../cluster/harness.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

/** A fake agent: says its arguments and ends. */
const FAKE = `cat > /dev/null; echo "args: $*"`;
const VARIANT = `cat > /dev/null; echo "variant: $*"`;

withSessionWorld("agent presets: listed; dry-run names what goes; a session's agent is every run's", {
  timeoutMs: 10 * 60_000,
}, async (t, w) => {
  const done = (name: string, id: string, text: string) =>
    waitUntil(
      async () => (await w.k(["agent", "logs", name, id])).stdout.includes(text),
      60_000,
      `run ${id} of ${name} to print ${text}`,
    );
  try {
    await t.step("agent presets: each preset and what it runs (table and JSON)", async () => {
      const r = await w.k(["agent", "presets"]);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /^PRESET\s+RUNS\s+CONTINUE\s+CREDENTIALS\s+INSTALL/m);
      assertMatch(
        r.stdout,
        /^claude\s+IS_SANDBOX=1 .*claude -p .*--dangerously-skip-permissions\s+--continue\s/m,
      );
      assertMatch(r.stdout, /^codex\s+codex exec --json --dangerously-bypass-approvals-and-sandbox/m);
      // OpenCode with its project config and network side-trips off, its Anthropic variables, its package
      assertMatch(
        r.stdout,
        /^opencode\s+OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_SHARE=1 OPENCODE_DISABLE_PROJECT_CONFIG=1 opencode run --format json --auto\s+--continue\s+ANTHROPIC_API_KEY,ANTHROPIC_BASE_URL\s+opencode-ai@1\.18\.33 \(Node >= 18\)/m,
      );
      assertMatch(
        r.stdout,
        /^qwen\s+.*qwen --yolo --auth-type openai --output-format stream-json\s+--continue\s/m,
      );
      const j = JSON.parse((await w.k(["agent", "presets", "-o", "json"])).stdout);
      assertEquals(j.items.map((i: { name: string }) => i.name), [
        "claude",
        "codex",
        "gemini",
        "opencode",
        "pi",
        "qwen",
        "custom",
      ]);
      assertMatch(r.stdout, /^pi\s+PI_OFFLINE=1 .*pi -p --mode json --provider anthropic\s+--continue\s/m);
      assert(j.items[1].env.includes("OPENAI_API_KEY"));
    });

    await t.step(
      "start --dry-run: the agent's endpoint and proxy go into the env Secret, names only",
      async () => {
        const env = {
          ANTHROPIC_BASE_URL: "http://127.0.0.1:9/stand-in-7781",
          HTTPS_PROXY: "http://proxy-7781.corp:3128",
          OPENAI_API_KEY: "sk-openai-7781",
        };
        const r = await w.k(
          ["start", "d1", "--image", SESSION_IMAGE, "--no-sync", "--dry-run", "-o", "json"],
          { env },
        );
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "ANTHROPIC_BASE_URL");
        assertStringIncludes(r.stdout, "HTTPS_PROXY");
        // claude's session takes no OpenAI key; no value is ever printed
        assert(!r.stdout.includes("OPENAI_API_KEY"), r.stdout);
        for (const v of Object.values(env)) assert(!r.stdout.includes(v) && !r.stderr.includes(v), v);
        assertStringIncludes(
          r.stderr,
          "note: ANTHROPIC_BASE_URL (from this environment) goes into the env Secret",
        );
        const codex = await w.k(["start", "d1", "--agent", "codex", "--no-sync", "--dry-run", "-o", "json"], {
          env,
        });
        assertEquals(codex.code, 0, codex.stderr);
        assertStringIncludes(codex.stdout, "OPENAI_API_KEY");
        assert(!codex.stdout.includes("ANTHROPIC_BASE_URL"));
        assert(!codex.stdout.includes("sk-openai-7781"));
      },
    );

    await t.step("a preset kodama does not know: exit 2 naming the presets", async () => {
      const r = await w.k(["start", "d2", "--agent", "copilot", "--no-sync"]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, `unknown agent preset "copilot"`);
      assertStringIncludes(r.stderr, "claude, codex, gemini, opencode, pi");
    });

    await t.step(
      "a template's agent: later runs use it, and --continue adds the continue arguments to it",
      async () => {
        await Deno.writeTextFile(
          join(w.cwd, ".kodama.yaml"),
          `templates:\n  fake:\n    agent:\n      command: [sh, -c, ${JSON.stringify(FAKE)}, fake]\n`,
        );
        const s = await w.k([
          "start",
          "tp",
          "--template",
          "fake",
          "--image",
          SESSION_IMAGE,
          "--no-sync",
          "--prompt",
          "one",
        ]);
        assertEquals(s.code, 0, s.stderr);
        await done("tp", "1", "args:");
        // the repository's config now names another agent: the session keeps its own
        await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), `agent:\n  preset: codex\n`);
        const r2 = await w.k(["agent", "run", "tp", "--continue"]);
        assertEquals(r2.code, 0, r2.stderr);
        await done("tp", "2", "args:");
        assertEquals((await w.k(["agent", "logs", "tp", "2"])).stdout, "args: --continue\n");
        const st = JSON.parse((await w.k(["agent", "status", "tp", "-o", "json"])).stdout);
        assertEquals(st.items[1].continues, "1");
      },
    );

    await t.step("a replica's variant is its session's agent: later runs and --continue use it", async () => {
      await Deno.writeTextFile(
        join(w.cwd, ".kodama.yaml"),
        `agent:\n  command: [sh, -c, ${JSON.stringify(FAKE)}, fake]\n`,
      );
      const s = await w.k([
        "start",
        "g",
        "--replicas",
        "2",
        "--agent-variant",
        `2=sh -c '${VARIANT}' v`,
        "--image",
        SESSION_IMAGE,
        "--prompt",
        "one",
      ]);
      assertEquals(s.code, 0, s.stderr);
      await done("g-1", "1", "args:");
      await done("g-2", "1", "variant:");
      const r = await w.k(["agent", "run", "g-2", "--continue"]);
      assertEquals(r.code, 0, r.stderr);
      await done("g-2", "2", "variant:");
      assertEquals((await w.k(["agent", "logs", "g-2", "2"])).stdout, "variant: --continue\n");
      const r1 = await w.k(["agent", "run", "g-1", "--prompt", "two"]);
      assertEquals(r1.code, 0, r1.stderr);
      await done("g-1", "2", "args:");
    });
  } finally {
    for (const n of ["tp", "g-1", "g-2"]) await purge(w, n);
  }
});
