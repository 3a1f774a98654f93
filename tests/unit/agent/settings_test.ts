/** Agent settings (src/agent/presets/settings.ts): flags, config and template layers, the runner's env, the CLIs' flags. */
import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";
import { configSchema } from "../../../src/config/schema.ts";
import {
  flagLayer,
  mergeSettings,
  modelsLayer,
  settingsArgs,
  settingsEnv,
  withSettings,
} from "../../../src/agent/presets/settings.ts";
import { agentChoiceOf, PRESETS, resolveAgent, runArgv } from "../../../src/agent/presets/presets.ts";
import { PRESET_NAMES, type PresetName } from "../../../src/config/agentnames.ts";

const usage = (f: () => unknown, words: string) => {
  const e = assertThrows(f) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE, e.message);
  assert(e.message.includes(words), e.message);
};

Deno.test("settings: flags parse to a layer; a bad value is exit 2 naming the flag", () => {
  assertEquals(
    flagLayer({
      model: "claude-opus-4-1",
      fallbackModel: ["claude-sonnet-4-5,claude-haiku-4-5", "x-1"],
      maxTurns: "30",
      maxCost: "$2.50",
      maxTime: "45m",
      retry: "3",
    }),
    {
      model: "claude-opus-4-1",
      fallbacks: ["claude-sonnet-4-5", "claude-haiku-4-5", "x-1"],
      retry: { attempts: 3 },
      maxTurns: 30,
      maxCostUsd: 2.5,
      maxSeconds: 2700,
    },
  );
  assertEquals(flagLayer({ noRetry: true }), { retry: { attempts: 0 } });
  usage(() => flagLayer({ model: "--dangerous" }), "--model");
  usage(() => flagLayer({ model: "a b" }), "--model");
  usage(() => flagLayer({ fallbackModel: ["ok,$(x)"] }), "--fallback-model");
  usage(() => flagLayer({ maxTurns: "0" }), "--max-turns");
  usage(() => flagLayer({ maxCost: "free" }), "--max-cost");
  usage(() => flagLayer({ maxCost: "0" }), "--max-cost");
  usage(() => flagLayer({ maxTime: "soon" }), "--max-time");
  usage(() => flagLayer({ retry: "2", noRetry: true }), "--no-retry");
});

Deno.test("settings: flags over a template over the config, field by field", () => {
  const cfg = configSchema.parse({
    agent: { models: ["c-1", "c-2"], retry: { attempts: 6, maxWait: "30m" } },
  });
  const cfgLayer = modelsLayer(cfg.agent, "agent");
  const tpl = modelsLayer({ models: ["t-1"], retry: { maxWait: 60 } }, "template");
  assertEquals(mergeSettings(undefined, tpl, cfgLayer), {
    models: ["t-1"],
    retry: { attempts: 6, maxWaitSeconds: 60 },
  });
  // --model replaces the primary only; the config's fallbacks stay
  assertEquals(mergeSettings(flagLayer({ model: "f-1" }), cfgLayer).models, ["f-1", "c-2"]);
  assertEquals(mergeSettings(flagLayer({ fallbackModel: ["f-2"] }), cfgLayer).models, ["c-1", "f-2"]);
  assertEquals(mergeSettings(), {});
  // a config's model name is checked when it is loaded
  assert(!configSchema.safeParse({ agent: { models: ["-x"] } }).success);
  assert(!configSchema.safeParse({ agent: { retry: { attempts: -1 } } }).success);
});

Deno.test("settings: the runner's variables, only those set (the contract with the pod-side runner)", () => {
  assertEquals(settingsEnv("claude", {}), {});
  assertEquals(
    settingsEnv("codex", {
      models: ["gpt-5-codex", "gpt-5"],
      retry: { attempts: 0, maxWaitSeconds: 1800 },
      maxTurns: 9,
      maxCostUsd: 1 / 3,
      maxSeconds: 600,
    }),
    {
      KODAMA_MODELS: "gpt-5-codex,gpt-5",
      KODAMA_MODEL_FLAG: "-m",
      KODAMA_RETRY_ATTEMPTS: "0",
      KODAMA_RETRY_MAX_WAIT: "1800",
      KODAMA_MAX_TURNS: "9",
      KODAMA_MAX_COST_USD: "0.3333",
      KODAMA_MAX_SECONDS: "600",
    },
  );
  assertEquals(settingsEnv("claude", { models: ["m"] }).KODAMA_MODEL_FLAG, "--model");
  assertEquals(settingsEnv("gemini", { models: ["m"] }).KODAMA_MODEL_FLAG, "-m");
  // a custom command has no known model flag: the list alone
  assertEquals(settingsEnv("custom", { models: ["m"] }), { KODAMA_MODELS: "m" });
});

Deno.test("settings: each CLI's own flags; one the preset's arguments already give is left to them", () => {
  const s = { models: ["opus", "sonnet", "haiku"], maxTurns: 5, maxCostUsd: 2, maxSeconds: 60 };
  assertEquals(settingsArgs("claude", PRESETS.claude.command, s), [
    "--model",
    "opus",
    "--fallback-model",
    "sonnet,haiku",
    "--max-turns",
    "5",
    "--max-budget-usd",
    "2",
  ]);
  assertEquals(settingsArgs("codex", PRESETS.codex.command, s), ["-m", "opus"]);
  assertEquals(settingsArgs("gemini", PRESETS.gemini.command, s), ["-m", "opus"]);
  assertEquals(settingsArgs("custom", ["my-agent"], s), []);
  assertEquals(
    settingsArgs("claude", [...PRESETS.claude.command, "--fallback-model", "x"], { models: ["a", "b"] }),
    ["--model", "a"],
  );
});

Deno.test("settings: a run's argv carries them; codex's continue still goes right after exec", () => {
  const cfg = configSchema.parse({});
  const codex = { ...resolveAgent([{ preset: "codex" }], cfg), settings: { models: ["gpt-5"], maxTurns: 3 } };
  const { argv } = runArgv(codex, true);
  assertEquals(argv.slice(0, 3), ["env", "KODAMA_MODELS=gpt-5", "KODAMA_MODEL_FLAG=-m"]);
  assert(argv.includes("KODAMA_MAX_TURNS=3"));
  const at = argv.lastIndexOf("codex");
  assertEquals(argv.slice(at, at + 4), ["codex", "exec", "resume", "--last"]);
  assertEquals(argv.slice(-3), ["-m", "gpt-5", "-"]);
  // the claude preset keeps the CLI's own API retry budget
  const claude = runArgv(resolveAgent([{ preset: "claude" }], cfg), false).argv;
  assert(!claude.some((w) => w.startsWith("CLAUDE_CODE_MAX_RETRIES")), claude.join(" "));
  // `agent run --max-turns 9` over the session's settings, for that run
  const run = withSettings(codex, flagLayer({ maxTurns: "9" }));
  assertEquals(run.settings, { models: ["gpt-5"], maxTurns: 9 });
  assertEquals(withSettings(codex, {}), codex);
});

Deno.test("--agent: a preset followed by arguments is that preset plus them, never a custom command", () => {
  assertEquals(agentChoiceOf("claude --fallback-model claude-haiku-4-5"), {
    preset: "claude",
    args: ["--fallback-model", "claude-haiku-4-5"],
  });
  assertEquals(agentChoiceOf("codex"), { preset: "codex" });
  usage(() => agentChoiceOf("my-agent --yes"), "unknown agent preset");
  const cfg = configSchema.parse({});
  assertEquals(resolveAgent([agentChoiceOf("claude --fallback-model x")], cfg).command.slice(-2), [
    "--fallback-model",
    "x",
  ]);
});

Deno.test("settings args: every preset gets its model flag, in its own spelling and naming, unless its command has it", () => {
  const want: Record<PresetName, string[]> = {
    claude: ["--model", "m1"],
    codex: ["-m", "m1"],
    gemini: ["-m", "m1"],
    pi: ["--model", "m1"],
    qwen: ["-m", "m1"],
    opencode: ["-m", "anthropic/m1"],
  };
  for (const p of PRESET_NAMES) {
    assertEquals(settingsArgs(p, [p], { models: ["m1"] }).slice(0, 2), want[p], p);
    assertEquals(settingsArgs(p, [p, `${want[p][0]}=x`], { models: ["m1"] }), [], p);
    assertEquals(settingsEnv(p, { models: ["m1"] }).KODAMA_MODEL_FLAG, want[p][0], p);
  }
  assertEquals(settingsArgs("custom", ["my-agent"], { models: ["m1"] }), []);
  assertEquals(settingsEnv("custom", { models: ["m1"] }).KODAMA_MODEL_FLAG, undefined);
});
