/**
 * The acceptance path of the presets, with no agent configuration at all: `kodama start NAME --repo .
 * --prompt-file task.txt` runs the real Claude Code (the default preset) in the default image, and the
 * same with `--agent codex` and `--agent gemini`; each ends with the agent's commit on the session branch, `session fetch`
 * brings it back, and `agent run --continue` gives the agent its earlier conversation (Codex's is
 * `codex exec resume --last`, in the middle of its command; Gemini's `--resume latest`).
 *
 * Only the local environment is set, as a user's shell would be: the preset's own credential and endpoint
 * variables (ANTHROPIC_*, OPENAI_*, GEMINI_API_KEY + GOOGLE_GEMINI_BASE_URL) reach the pod through the env Secret. The default image
 * (ghcr.io/illumination-k/kodama-claude) ships the CLIs: on the test server its PATH has where CI installs
 * them (tests/cluster/runtime/images.ts). Skipped on a real cluster and without the CLI.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo } from "./_git_server.ts";
import { purge, type SessionWorld, withSessionWorld } from "./_session.ts";
import { commitScript, type StandIn, startStandIn } from "../agents/_standin.ts";
import { CLAUDE, CODEX, GEMINI, missing, PI } from "../agents/_clis.ts";

const dec = new TextDecoder();

interface Case {
  name: string;
  agent?: string;
  /** the local environment pointing the CLI at the stand-in */
  env: (api: StandIn) => Record<string, string>;
  /** the first line `agent logs -f` prints for the run */
  banner: RegExp;
}

async function acceptance(t: Deno.TestContext, w: SessionWorld, c: Case): Promise<void> {
  const api = await startStandIn(commitScript());
  const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
  const task = join(w.cwd, "task.txt");
  const env = c.env(api);
  const secrets = Object.entries(env).filter(([k]) => k.endsWith("_KEY")).map(([, v]) => v);
  try {
    await Deno.writeTextFile(task, "Add hello.txt and commit it.\n");
    await t.step(
      `start ${c.name} --repo . --prompt-file${c.agent ? ` --agent ${c.agent}` : ""}`,
      async () => {
        const r = await w.k(
          ["start", c.name, "--repo", ".", "--prompt-file", task, ...(c.agent ? ["--agent", c.agent] : [])],
          { cwd: repo.work, env },
        );
        assertEquals(r.code, 0, r.stderr);
        for (const s of secrets) assert(!r.stdout.includes(s) && !r.stderr.includes(s), "a key was printed");
        const out = await w.spawn(["agent", "logs", c.name, "-f"], { env }).output();
        const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
        assertEquals(out.code, 0, stdout + stderr);
        assertMatch(stdout, c.banner);
        assertMatch(stderr, /agent run 1 succeeded\n/);
        const [run] = JSON.parse((await w.k(["agent", "status", c.name, "-o", "json"])).stdout).items;
        assertEquals(run.truth.agent, c.agent ?? "claude");
        assertEquals([run.outcome.text, run.truth.commits, run.truth.denied], ["succeeded", 1, 0]);
      },
    );

    await t.step("session fetch: the agent's commit is on the session branch, and comes back", async () => {
      const r = await w.k(["session", "fetch", c.name], { cwd: repo.work });
      assertEquals(r.code, 0, r.stderr);
      const ref = `kodama/${c.name}`;
      assertEquals(await gitIn(["log", "-1", "--format=%s", ref], repo.work), "agent: add hello");
      assertEquals(await gitIn(["show", `${ref}:hello.txt`], repo.work), "hello from the agent");
    });

    await t.step("agent run --continue: the preset's continue arguments carry the conversation", async () => {
      api.push([{ text: "banana" }]);
      const before = api.mainRequests().length;
      const r = await w.k(["agent", "run", c.name, "--continue", "--prompt", "Now say banana."], { env });
      assertEquals(r.code, 0, r.stderr);
      const out = await w.spawn(["agent", "logs", c.name, "2", "-f"], { env }).output();
      assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
      const req = api.mainRequests()[before];
      assert(req, "the continued run asked the model");
      assertStringIncludes(req.text, "Add hello.txt and commit it.");
      assertStringIncludes(req.text, "Now say banana.");
      const runs = JSON.parse((await w.k(["agent", "status", c.name, "-o", "json"])).stdout).items;
      assertEquals(runs[1].continues, "1");
      assertEquals(runs[1].truth.agent, c.agent ?? "claude");
    });
  } finally {
    await purge(w, c.name);
    await api.close();
    await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
  }
}

withSessionWorld(
  "no agent configuration: the default preset runs the real Claude Code, which commits; fetch brings it back",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 8 * 60_000 },
  (t, w) =>
    acceptance(t, w, {
      name: "p1",
      env: (api) => ({ ANTHROPIC_API_KEY: "sk-ant-standin-2718", ANTHROPIC_BASE_URL: api.url }),
      banner: /^== claude 2\.\d+\.\d+/m,
    }),
);

withSessionWorld(
  "no agent configuration, --agent codex: the real Codex commits; fetch brings it back; resume --last continues",
  { ignore: onRealCluster || missing("codex", CODEX), timeoutMs: 8 * 60_000 },
  (t, w) =>
    acceptance(t, w, {
      name: "p2",
      agent: "codex",
      env: (api) => ({ OPENAI_API_KEY: "sk-standin-3141", OPENAI_BASE_URL: `${api.url}/v1` }),
      banner: /^== codex$/m,
    }),
);

withSessionWorld(
  "no agent configuration, --agent gemini: the real Gemini CLI commits; fetch brings it back; --resume latest continues",
  { ignore: onRealCluster || missing("gemini", GEMINI), timeoutMs: 8 * 60_000 },
  (t, w) =>
    acceptance(t, w, {
      name: "p3",
      agent: "gemini",
      env: (api) => ({ GEMINI_API_KEY: "gm-standin-1618", GOOGLE_GEMINI_BASE_URL: api.url }),
      banner: /^== gemini \(model /m,
    }),
);

withSessionWorld(
  "no agent configuration, --agent pi: the real pi commits; fetch brings it back; --continue continues",
  { ignore: onRealCluster || missing("pi", PI), timeoutMs: 8 * 60_000 },
  (t, w) =>
    acceptance(t, w, {
      name: "p4",
      agent: "pi",
      env: (api) => ({ ANTHROPIC_API_KEY: "sk-ant-standin-pi-1732", ANTHROPIC_BASE_URL: api.url }),
      banner: /^== pi$/m,
    }),
);
