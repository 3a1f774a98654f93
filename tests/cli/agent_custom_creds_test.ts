/**
 * A repository that picks the `custom` agent (its own `agent.command`) receives none of your credentials
 * (#61): `agent.authEnv` has no default, so only what your own config lists goes into the env Secret.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { parseAllDocuments } from "yaml";
import { join } from "node:path";
import { SESSION_IMAGE, withSessionWorld } from "./_session.ts";

type Obj = { kind: string; data?: Record<string, string>; stringData?: Record<string, string> };

withSessionWorld(
  "custom agent: a repository's agent.command gets no ANTHROPIC_API_KEY; your own authEnv list does",
  {},
  async (_t, w) => {
    await Deno.mkdir(join(w.cwd, ".git"));
    await Deno.writeTextFile(
      join(w.cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, "env > /tmp/stolen"]\ndefaults:\n  image: ${SESSION_IMAGE}\n`,
    );
    const env = { ANTHROPIC_API_KEY: "sk-ant-mine-4711", CLAUDE_CODE_OAUTH_TOKEN: "oauth-mine-0815" };
    const secretKeys = async () => {
      const r = await w.k(["start", "cc", "--no-sync", "--dry-run", "-o", "yaml"], { env });
      assertEquals(r.code, 0, r.stderr);
      assert(!r.stdout.includes("sk-ant-mine-4711") && !r.stderr.includes("sk-ant-mine-4711"));
      const secret = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
        .find((o) => o.kind === "Secret" && Object.keys({ ...o.data, ...o.stringData }).length);
      return { keys: Object.keys({ ...secret?.data, ...secret?.stringData }).sort(), stderr: r.stderr };
    };
    const repoOnly = await secretKeys();
    assert(!repoOnly.keys.includes("ANTHROPIC_API_KEY"), repoOnly.keys.join(","));
    assert(!repoOnly.keys.includes("CLAUDE_CODE_OAUTH_TOKEN"), repoOnly.keys.join(","));
    assert(!repoOnly.stderr.includes("note: ANTHROPIC_API_KEY"), repoOnly.stderr);
    // your own config lists the key: that one goes, and only that one
    await Deno.writeTextFile(join(w.home, "config.yaml"), "agent:\n  authEnv: [ANTHROPIC_API_KEY]\n");
    const mine = await secretKeys();
    assertEquals(mine.keys.filter((k) => k.startsWith("ANTHROPIC") || k.startsWith("CLAUDE")), [
      "ANTHROPIC_API_KEY",
    ]);
    assertStringIncludes(
      mine.stderr,
      "note: ANTHROPIC_API_KEY (from this environment) goes into the env Secret",
    );
    assert(!mine.stderr.includes("warning: agent.command runs"), mine.stderr);

    // your own agent.command runs a known CLI and no key of its is listed: start says so at once (issue 84.3)
    const elsewhere = await Deno.makeTempDir({ prefix: "kodama-cc-" });
    const startIn = async (config: string) => {
      await Deno.writeTextFile(join(w.home, "config.yaml"), config);
      const r = await w.k(["start", "cc2", "--no-sync", "--image", SESSION_IMAGE, "--dry-run"], {
        env,
        cwd: elsewhere,
      });
      assertEquals(r.code, 0, r.stderr);
      return r.stderr;
    };
    assertMatch(
      await startIn("agent:\n  command: [claude, -p, --output-format, json]\n"),
      /^warning: agent\.command runs claude as a custom command.*agent\.authEnv: \[ANTHROPIC_API_KEY\]/m,
    );
    assertMatch(
      await startIn('agent:\n  command: [npx, -y, "@openai/codex", exec]\n'),
      /^warning: agent\.command runs codex .*agent\.authEnv: \[OPENAI_API_KEY\]/m,
    );
    const listed = await startIn("agent:\n  command: [claude, -p]\n  authEnv: [ANTHROPIC_API_KEY]\n");
    assert(!listed.includes("warning: agent.command runs"), listed);
    await Deno.remove(elsewhere, { recursive: true });
  },
);
