import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { parse } from "yaml";
import { configSchema } from "../../../src/config/schema.ts";
import { parse as parseDotenv } from "dotenv";

const ex = (p: string) => new URL(`../../../examples/${p}`, import.meta.url);

Deno.test("examples/.kodama.yaml is a valid config for the walkthrough", async () => {
  const cfg = configSchema.parse(parse(await Deno.readTextFile(ex(".kodama.yaml"))));
  assertEquals(cfg.git.tokenEnv, "GITHUB_TOKEN");
  assertEquals(cfg.env.dotenvFiles, [".env"]);
  assertEquals(cfg.agent.preset, "claude");
});

Deno.test("examples/agents: a Claude and a Codex setup, each a valid config", async () => {
  for (const [file, preset] of [["claude.kodama.yaml", "claude"], ["codex.kodama.yaml", "codex"]]) {
    const cfg = configSchema.parse(parse(await Deno.readTextFile(ex(`agents/${file}`))));
    assertEquals(cfg.agent.preset, preset);
  }
  const mine = configSchema.parse(parse(await Deno.readTextFile(ex("agents/config.yaml"))));
  assertEquals(mine.agent.forwardEnv.codex?.includes("OPENAI_API_KEY"), true);
});

Deno.test("examples/.env.example names the token and the agent key, with no values", async () => {
  const vars = parseDotenv(await Deno.readTextFile(ex(".env.example")));
  assertEquals(vars, { GITHUB_TOKEN: "", ANTHROPIC_API_KEY: "" });
  const readme = await Deno.readTextFile(ex("README.md"));
  for (const f of [".kodama.yaml", ".env.example", "rbac.yaml", "session fetch", "--prompt-file"]) {
    assertStringIncludes(readme, f);
  }
});
