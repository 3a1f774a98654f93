/**
 * Agent presets: which agent a session runs (precedence, SPEC parsing), the command recorded with it and
 * what `--continue` runs, which local variables may go with it (only the user's config decides), and the
 * CA bundle that travels as content.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@kodama/test-assert";
import { join } from "node:path";
import {
  checkAgentName,
  configChoice,
  ENVLOAD_ARGV,
  forwardedEnv,
  NETWORK_ENV,
  outputFormatOf,
  parseAgentSpec,
  presetRows,
  PRESETS,
  resolveAgent,
  runArgv,
  sessionAgentOf,
  templateChoice,
} from "../../../src/agent/presets/presets.ts";
import { agentFor } from "../../../src/agent/runs/launch.ts";
import { parseVariants } from "../../../src/agent/group/group.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { loadConfig, originOf } from "../../../src/config/load.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";
import { planSession, sayForwarded } from "../../../src/session/lifecycle/start.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { CA_CERTS_KEY, CA_CERTS_PATH, specOf } from "../../../src/session/spec/spec.ts";
import { lockEnv } from "../../_env_lock.ts";
import { buildSession } from "../../../src/session/spec/manifests.ts";

const cfgOf = (agent: Record<string, unknown> = {}) => configSchema.parse({ agent });

Deno.test("presets: claude is the default; an agent.command alone is custom, so existing configs keep working", () => {
  const none = resolveAgent([configChoice(cfgOf())], cfgOf());
  assertEquals(none.preset, "claude");
  assertEquals(none.command, PRESETS.claude.command);
  // Claude Code refuses to skip permissions as root unless told it is in a sandbox
  assertEquals(none.env?.IS_SANDBOX, "1");
  // its own API retries are not capped (issue 62: kodama outlasts what is left)
  assertEquals(none.env?.CLAUDE_CODE_MAX_RETRIES, undefined);
  assert(none.command.includes("--dangerously-skip-permissions"));
  const old = cfgOf({ command: ["claude", "-p", "--model", "x"], continueArgs: ["--resume-last"] });
  assertEquals(resolveAgent([configChoice(old)], old), {
    preset: "custom",
    command: ["claude", "-p", "--model", "x"],
    continueArgs: ["--resume-last"],
  });
  // agent.preset beats a command set beside it; custom takes the command
  const both = cfgOf({ preset: "codex", command: ["my-agent"] });
  assertEquals(resolveAgent([configChoice(both)], both).preset, "codex");
  const custom = cfgOf({ preset: "custom", command: ["my-agent", "--yes"] });
  assertEquals(resolveAgent([configChoice(custom)], custom).command, ["my-agent", "--yes"]);
  // custom without a command is a usage error naming what to set
  const e = assertThrows(() => resolveAgent([{ preset: "custom" }], cfgOf())) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE);
  assert(e.hint?.includes("agent.command"));
  // agent.args go after the preset's command
  const args = cfgOf({ args: ["--model", "opus"] });
  assertEquals(resolveAgent([configChoice(args)], args).command.slice(-2), ["--model", "opus"]);
});

Deno.test("presets: a variant beats --agent, --agent beats a template, a template beats the config", () => {
  const cfg = cfgOf({ preset: "gemini" });
  const tpl = templateChoice({ preset: "codex" });
  const flag = { preset: checkAgentName("claude") };
  const variant = parseAgentSpec("codex --model o3");
  assertEquals(resolveAgent([variant, flag, tpl, configChoice(cfg)], cfg).command, [
    ...PRESETS.codex.command,
    "--model",
    "o3",
  ]);
  assertEquals(resolveAgent([undefined, flag, tpl, configChoice(cfg)], cfg).preset, "claude");
  assertEquals(resolveAgent([undefined, undefined, tpl, configChoice(cfg)], cfg).preset, "codex");
  assertEquals(resolveAgent([undefined, undefined, undefined, configChoice(cfg)], cfg).preset, "gemini");
  // a template's command alone is custom
  assertEquals(
    resolveAgent([templateChoice({ command: ["aider", "--yes"] })], cfg),
    { preset: "custom", command: ["aider", "--yes"], continueArgs: ["--continue"] },
  );
  // an unknown name is exit 2, with the presets named
  const e = assertThrows(() => checkAgentName("copilot")) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE);
  assert(e.hint?.includes("claude, codex, gemini"));
});

Deno.test("presets: a SPEC whose first word is a preset is that preset plus arguments; any other is a command", () => {
  assertEquals(parseAgentSpec(`claude --model "opus 4" --append-system-prompt 'be brief'`), {
    preset: "claude",
    args: ["--model", "opus 4", "--append-system-prompt", "be brief"],
  });
  assertEquals(parseAgentSpec("codex"), { preset: "codex", args: [] });
  assertEquals(parseAgentSpec(`'/opt/my agent' -x`), { preset: "custom", command: ["/opt/my agent", "-x"] });
  // "claude -p" spelled out is still the claude preset, its -p an extra argument
  assertEquals(parseAgentSpec("claude -p").preset, "claude");
  assertThrows(() => parseAgentSpec(`claude "unterminated`));
  assertThrows(() => parseAgentSpec("  "));
  // --agent-variant values: REPLICA=SPEC, split with the same quoting
  assertEquals(parseVariants([`3=claude --model "opus 4"`], 3).get(3), ["claude", "--model", "opus 4"]);
});

Deno.test("presets: --continue appends the continue arguments to the session's own command, templates and variants included", () => {
  const cfg = cfgOf();
  // a session started from a template with a custom command: the template's command, then agent.continueArgs
  // (before presets, a template's command ran WITHOUT them: a fresh conversation reported as continuing)
  const fromTemplate = sessionAgentOf({ agentCommand: ["my-agent", "--yes"] }, cfg);
  assertEquals(runArgv(fromTemplate, true), { argv: ["my-agent", "--yes", "--continue"], continues: true });
  // a replica's variant, recorded with its session: its extra arguments, then claude's --continue
  const variant = resolveAgent([parseAgentSpec("claude --model opus")], cfg);
  const recorded = sessionAgentOf({ agent: variant, agentCommand: ["ignored"] }, cfg);
  assertEquals(runArgv(recorded, true).argv, [
    "env",
    ...Object.entries(PRESETS.claude.env).map(([k, v]) => `${k}=${v}`),
    // the keys `agent keys rotate` wrote since the pod started, over the env Secret's
    ...ENVLOAD_ARGV,
    ...PRESETS.claude.command,
    "--model",
    "opus",
    "--continue",
  ]);
  // codex: `codex exec resume --last …flags… -` (the subcommand right after exec; the prompt on stdin)
  const codex = resolveAgent([{ preset: "codex", args: ["--model", "o3"] }], cfg);
  assertEquals(runArgv(codex, true).argv.slice(ENVLOAD_ARGV.length + 3), [
    "codex",
    "exec",
    "resume",
    "--last",
    ...PRESETS.codex.command.slice(2),
    "--model",
    "o3",
    "-",
  ]);
  assertEquals(runArgv(codex, false).argv.slice(-4), ["--skip-git-repo-check", "--model", "o3", "-"]);
  // an agent without continue arguments is not given the conversation, and the run does not say it is
  const none = sessionAgentOf({ agentCommand: ["x"] }, cfgOf({ continueArgs: [] }));
  assertEquals(runArgv(none, true), { argv: ["x"], continues: false });
  assertEquals(outputFormatOf(codex), "codex-json");
  assertEquals(outputFormatOf(none), "text");
});

Deno.test("presets: the local variables that may leave are the user's config alone", () => {
  const src = (m: Record<string, "repo" | "global">) => (k: string) => m[k];
  const cfg = cfgOf();
  const claude = forwardedEnv("claude", cfg, src({}));
  for (const n of ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_BASE_URL", ...NETWORK_ENV]) {
    assert(claude.includes(n), n);
  }
  assert(!claude.includes("OPENAI_API_KEY"));
  assert(forwardedEnv("codex", cfg, src({})).includes("OPENAI_BASE_URL"));
  // the user's per-preset list replaces the preset's
  const mine = cfgOf({ forwardEnv: { codex: ["OPENAI_API_KEY"] } });
  assertEquals(forwardedEnv("codex", mine, src({ "agent.forwardEnv.codex": "global" })), ["OPENAI_API_KEY"]);
  // a repository's value never counts (the loader drops it too: see below)
  const widened = cfgOf({
    forwardEnv: { claude: ["AWS_SECRET_ACCESS_KEY"] },
    authEnv: ["AWS_SECRET_ACCESS_KEY"],
  });
  const fromRepo = forwardedEnv(
    "claude",
    widened,
    src({ "agent.forwardEnv.claude": "repo", "agent.authEnv": "repo" }),
  );
  assert(!fromRepo.includes("AWS_SECRET_ACCESS_KEY"));
  assert(
    !forwardedEnv("custom", widened, src({ "agent.authEnv": "repo" })).includes("AWS_SECRET_ACCESS_KEY"),
  );
  // a custom agent (which a repository may choose) gets no credential the user's own config does not list:
  // not the default's, not one a preset would take
  const plain = forwardedEnv("custom", cfgOf(), src({}));
  assertEquals(plain.filter((n) => !NETWORK_ENV.includes(n)), []);
  const defaulted = cfgOf({ authEnv: ["ANTHROPIC_API_KEY"] });
  assert(
    !forwardedEnv("custom", defaulted, (k) => k === "agent.authEnv" ? "default" : undefined).includes(
      "ANTHROPIC_API_KEY",
    ),
  );
  // agent.authEnv the user set is added to a preset's list (an old config's extra name keeps going)
  const extra = cfgOf({ authEnv: ["MY_GATEWAY_TOKEN"] });
  assert(forwardedEnv("claude", extra, src({ "agent.authEnv": "global" })).includes("MY_GATEWAY_TOKEN"));
  assertEquals(forwardedEnv("custom", extra, src({ "agent.authEnv": "global" }))[0], "MY_GATEWAY_TOKEN");
  // `kodama agent presets` lists each, with its credentials
  const rows = presetRows(cfg);
  assertEquals(rows.map((r) => r.name), ["claude", "codex", "gemini", "opencode", "pi", "qwen", "custom"]);
  assertEquals(rows[4].install, "@mariozechner/pi-coding-agent@0.73.1 (Node >= 20)");
  assertEquals(rows[4].env, ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"]);
  assert(rows[0].runs.startsWith("IS_SANDBOX=1 ") && rows[0].runs.includes(" claude -p "));
  assert(rows[1].env.includes("OPENAI_API_KEY"));
});

async function world() {
  const root = await Deno.makeTempDir({ prefix: "kodama-presets-" });
  const home = join(root, "home"), repo = join(root, "repo");
  await Deno.mkdir(home, { recursive: true });
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  return {
    root,
    home,
    repo,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/** planSession with these local variables set (restored after). */
async function plan(cfg: ReturnType<typeof cfgOf>, vars: Record<string, string>, o: Record<string, unknown>) {
  // under the environment lock: files run on threads of one process and share its environment
  const restore = await lockEnv(Object.keys(vars));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  const err = memorySink();
  try {
    const start = { name: "s1", namespace: "dev", envFiles: [], envExclude: [], noSync: true, ...o };
    const p = await planSession({ ...start, agentFor: agentFor(start, cfg) }, cfg, {
      out: memorySink(),
      err,
      tty: false,
      cwd: Deno.cwd(),
    });
    // what start says once the gateway step (none here) has decided what the env Secret holds
    sayForwarded(p, p.data.env, err);
    return { p, err: err.text() };
  } finally {
    restore();
  }
}

Deno.test("presets: a repository may choose the agent, never widen what leaves this machine", async () => {
  await using w = await world();
  await Deno.writeTextFile(
    join(w.repo, ".kodama.yaml"),
    `agent:\n  preset: codex\n  authEnv: [AWS_SECRET_ACCESS_KEY]\n  forwardEnv:\n    codex: [AWS_SECRET_ACCESS_KEY]\n`,
  );
  const loaded = await loadConfig({ home: w.home, cwd: w.repo });
  assertEquals(loaded.values.agent.preset, "codex");
  assertEquals(loaded.values.agent.forwardEnv.codex, undefined);
  assertEquals(loaded.refused.map((r) => r.key).sort(), ["agent.authEnv", "agent.forwardEnv.codex"]);
  const cfg = loaded.values;
  assert(originOf(cfg));
  const { p, err } = await plan(cfg, { AWS_SECRET_ACCESS_KEY: "planted", OPENAI_API_KEY: "sk-test" }, {});
  // the session runs codex (recorded with it), with codex's credentials and nothing the repo asked for
  assertEquals(p.spec.agent?.preset, "codex");
  assertEquals(specOf(p.objects.pod)?.agent?.command[0], "codex");
  assert(p.spec.envVars.includes("OPENAI_API_KEY"));
  assert(!p.spec.envVars.includes("AWS_SECRET_ACCESS_KEY"));
  assert(!JSON.stringify(p.data.env).includes("planted"));
  assert(err.includes("OPENAI_API_KEY (from this environment)"));
});

Deno.test("presets: the endpoint and proxy go with the agent; a CA bundle travels as its content", async () => {
  await using w = await world();
  const ca = join(w.root, "corp-ca.pem");
  await Deno.writeTextFile(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const cfg = configSchema.parse({});
  const { p, err } = await plan(cfg, {
    ANTHROPIC_BASE_URL: "http://127.0.0.1:9/stand-in",
    HTTPS_PROXY: "http://proxy.corp:3128",
    NODE_EXTRA_CA_CERTS: ca,
  }, {});
  assertEquals(p.spec.agent?.preset, "claude");
  for (const n of ["ANTHROPIC_BASE_URL", "HTTPS_PROXY", "NODE_EXTRA_CA_CERTS"]) {
    assert(p.spec.envVars.includes(n), n);
  }
  // the pod reads the bundle from the ConfigMap, mounted; the variable points there, not at a laptop path;
  // never as an environment string (a system bundle passes Linux's 128 KiB limit: no container would start)
  assertEquals(p.data.env.NODE_EXTRA_CA_CERTS, CA_CERTS_PATH);
  assert(!Object.values(p.data.env).some((v) => v.includes("BEGIN CERTIFICATE")));
  assertEquals(p.spec.caCerts, true);
  const objs = buildSession({ ...p.spec, editor: false, editorFiles: [] }, p.data);
  assert(objs.configMap!.data![CA_CERTS_KEY].startsWith("-----BEGIN CERTIFICATE-----"));
  const pod = objs.pod;
  const vol = pod.spec!.volumes!.find((v) => v.name === "ca-certs")!;
  assertEquals(vol.configMap?.items, [{ key: CA_CERTS_KEY, path: "ca.pem" }]);
  assert(
    pod.spec!.containers[0].volumeMounts!.some((m) =>
      m.name === "ca-certs" && CA_CERTS_PATH.startsWith(m.mountPath)
    ),
  );
  assert(err.includes(`the CA bundle ${ca} (NODE_EXTRA_CA_CERTS) goes to the pod`));
  // the values are never in the recorded settings (names only)
  assert(!JSON.stringify(p.spec).includes("proxy.corp"));
  // --agent codex: claude's endpoint stays here
  const codex = await plan(cfg, { ANTHROPIC_BASE_URL: "http://x", OPENAI_BASE_URL: "http://y" }, {
    agentName: "codex",
  });
  assert(codex.p.spec.envVars.includes("OPENAI_BASE_URL"));
  assert(!codex.p.spec.envVars.includes("ANTHROPIC_BASE_URL"));
  // a bad --agent is exit 2 before anything
  await assertRejects(() => plan(cfg, {}, { agentName: "copilot" }));
});

Deno.test({
  name: "presets: codex with OPENAI_BASE_URL in the pod gets a provider of kodama's pointing there",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "kodama-codex-" });
    try {
      // a fake codex that prints its arguments, one per line
      await Deno.writeTextFile(join(dir, "codex"), `#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n`);
      await Deno.chmod(join(dir, "codex"), 0o755);
      const { argv } = runArgv(resolveAgent([{ preset: "codex" }], cfgOf()), false);
      const run = async (env: Record<string, string>) => {
        const out = await new Deno.Command(argv[0], {
          args: argv.slice(1),
          env: { PATH: `${dir}:${Deno.env.get("PATH")}`, ...env },
          clearEnv: true,
          stdout: "piped",
        }).output();
        return new TextDecoder().decode(out.stdout).trim().split("\n");
      };
      assertEquals(await run({}), [...PRESETS.codex.command.slice(1), "-"]);
      const withBase = await run({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
      assertEquals(withBase.slice(0, PRESETS.codex.command.length), [...PRESETS.codex.command.slice(1), "-"]);
      assertEquals(withBase.slice(-4, -1), ["-c", "model_provider=kodama", "-c"]);
      assertEquals(
        withBase.at(-1),
        `model_providers.kodama={name="kodama",base_url="http://127.0.0.1:9/v1",env_key="OPENAI_API_KEY",wire_api="responses"}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("presets: their names are listed once (src/config/agentnames.ts); every enum of them derives from it", async () => {
  const src = new URL("../../../src/", import.meta.url);
  const lists: string[] = [];
  const walk = async (dir: URL, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir), `${rel}${e.name}/`);
      else if (/\.(ts|js)$/.test(e.name) && `${rel}${e.name}` !== "config/agentnames.ts") {
        const text = await Deno.readTextFile(new URL(e.name, dir));
        // a hand-written list of two or more preset names: an enum that a new preset would miss
        if (/["'](claude|codex|gemini)["']\s*,\s*["'](codex|gemini|opencode|pi|qwen)["']/.test(text)) {
          lists.push(`${rel}${e.name}`);
        }
      }
    }
  };
  await walk(src, "");
  assertEquals(lists, [], "use PRESET_NAMES / AGENT_CHOICES from src/config/agentnames.ts");
  const { AGENT_CHOICES, PRESET_NAMES } = await import("../../../src/config/agentnames.ts");
  assertEquals(configSchema.shape.agent.unwrap().shape.preset.unwrap().options, [...AGENT_CHOICES]);
  assertEquals(AGENT_CHOICES.at(-1), "custom");
  assertEquals(AGENT_CHOICES.slice(0, -1), [...PRESET_NAMES]);
});

Deno.test("presets: one adapter folder per preset owns its tables and its pod programs", async () => {
  const { ADAPTERS } = await import("../../../src/agent/adapters/index.ts");
  const { PRESET_NAMES } = await import("../../../src/config/agentnames.ts");
  const { DEFAULT_MODEL, checkPlan } = await import("../../../src/agent/credentials/check.ts");
  const root = new URL("../../../src/agent/adapters/", import.meta.url);
  const exists = (p: string) => Deno.stat(new URL(p, root)).then(() => true, () => false);
  assertEquals(Object.keys(ADAPTERS).sort(), [...PRESET_NAMES].sort());
  for (const p of PRESET_NAMES) {
    const a = ADAPTERS[p];
    assertEquals(a.preset.name, p);
    assert(PRESETS[p] === a.preset, p);
    assert(await exists(`${p}/adapter.ts`), `src/agent/adapters/${p}/adapter.ts`);
    // a wrap is the folder's own pod program, and only its own
    assertEquals(!!a.preset.wrap, await exists(`${p}/pod/wrap.sh`), p);
    if (a.preset.wrap) {
      assertEquals(a.preset.wrap, await Deno.readTextFile(new URL(`${p}/pod/wrap.sh`, root)));
    }
    assertEquals(DEFAULT_MODEL[p], a.check.defaultModel);
    assertEquals(checkPlan(p, "m").keys, a.check.keys);
    assert(a.interactive[0] === a.preset.install.bin && a.preset.command[0] === a.preset.install.bin, p);
  }
  // no preset's pod program left in the shared pod folder
  for await (const e of Deno.readDir(new URL("../pod/", root))) assert(!/wrap\.sh$/.test(e.name), e.name);
});
