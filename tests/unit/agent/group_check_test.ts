/**
 * `start --replicas N --prompt`'s check before any replica (preflight.ts groupCheck, issue 84.3): every
 * distinct agent of a mixed group is checked (a bad Codex key in `--agent-variant 2=codex` is exit 4 naming
 * codex, before any replica), and a provider whose key the namespace's gateway holds asks for no key of this
 * machine, as a single start through the gateway does not. Against the model-API stand-in.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { configSchema } from "../../../src/config/schema.ts";
import { setOrigin } from "../../../src/config/origin.ts";
import { groupCheck } from "../../../src/agent/credentials/preflight.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { startStandIn } from "../../agents/_standin.ts";
import { lockEnv } from "../../_env_lock.ts";

const GOOD_A = "sk-ant-standin-good-4242";
const GOOD_O = "sk-proj-standin-good-4343";
const BAD_O = "sk-proj-standin-bad-0000";
const KEYS = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_API_KEY", "ANTHROPIC_AUTH_TOKEN"];

/** A config whose own env file holds `vars` (the stand-in's base URLs added), this process's keys unset. */
async function withWorld(
  vars: Record<string, string>,
  fn: (
    cfg: ReturnType<typeof configSchema.parse>,
    err: { text: string; write(c: string): void },
  ) => Promise<void>,
) {
  const api = await startStandIn([], { gate: { keys: [GOOD_A, GOOD_O] } });
  const dir = await Deno.makeTempDir({ prefix: "kodama-groupcheck-" });
  // this process's environment, shared with a shard's other files: held while set (tests/_env_lock.ts)
  const unlock = await lockEnv(["KODAMA_HOME", "KODAMA_KEYS_STORE", ...KEYS]);
  try {
    for (const k of KEYS) Deno.env.delete(k);
    Deno.env.set("KODAMA_HOME", dir);
    Deno.env.set("KODAMA_KEYS_STORE", "file");
    const file = join(dir, "agents.env");
    const all = { ANTHROPIC_BASE_URL: api.url, OPENAI_BASE_URL: `${api.url}/v1`, ...vars };
    await Deno.writeTextFile(file, Object.entries(all).map(([k, v]) => `${k}=${v}\n`).join(""));
    const cfg = configSchema.parse({ env: { dotenvFiles: [file] } });
    setOrigin(cfg, {
      sources: { "env.dotenvFiles": "global" },
      files: { global: join(dir, "config.yaml"), gitRoot: dir },
      warnings: [],
      fromRepo: {},
      refused: [],
    });
    await fn(cfg, {
      text: "",
      write(c: string) {
        this.text += c;
      },
    });
  } finally {
    unlock();
    await Deno.remove(dir, { recursive: true });
    await api.close();
  }
}

const refused = async (f: () => Promise<unknown>) => {
  const e = await assertRejects(f) as KodamaError;
  assert(e instanceof KodamaError, String(e));
  return e;
};

Deno.test("group check: a mixed group's Codex replica with a bad key: exit 4 naming codex", async () => {
  await withWorld({ ANTHROPIC_API_KEY: GOOD_A, OPENAI_API_KEY: BAD_O }, async (cfg, err) => {
    const e = await refused(() =>
      groupCheck({ variants: [undefined, { preset: "codex" }, undefined] }, cfg, {
        write: (c) => err.write(String(c)),
      })
    );
    assertEquals(e.code, 4, e.message);
    assertStringIncludes(e.message, "codex check");
    assertStringIncludes(e.message, "no replica was started");
    // the group's own agent was checked too, and passed
    assertStringIncludes(err.text, "agent check: claude");
  });
});

Deno.test("group check: a codex group whose claude variant has no key: exit 4 naming claude", async () => {
  await withWorld({ OPENAI_API_KEY: GOOD_O }, async (cfg, err) => {
    const e = await refused(() =>
      groupCheck({ agentName: "codex", variants: [{ preset: "claude" }, undefined] }, cfg, {
        write: (c) => err.write(String(c)),
      })
    );
    assertEquals(e.code, 4, e.message);
    assertStringIncludes(e.message, "claude check");
    assertStringIncludes(e.message, "no key is set");
  });
});

Deno.test("group check: good keys for every agent of the group pass", async () => {
  await withWorld({ ANTHROPIC_API_KEY: GOOD_A, OPENAI_API_KEY: GOOD_O }, async (cfg, err) => {
    await groupCheck({ variants: [undefined, { preset: "codex" }] }, cfg, {
      write: (c) => err.write(String(c)),
    });
    assertStringIncludes(err.text, "agent check: claude");
    assertStringIncludes(err.text, "agent check: codex");
  });
});

Deno.test("group check: the gateway holds the key: no key of this machine is asked for", async () => {
  await withWorld({}, async (cfg, err) => {
    const w = { write: (c: string | Uint8Array) => err.write(String(c)) };
    await groupCheck({ heldByGateway: () => Promise.resolve(["anthropic"]) }, cfg, w);
    assertStringIncludes(
      err.text,
      "agent check: claude skipped: the namespace's gateway holds the anthropic key",
    );
    // a mixed group: the gateway holds both providers' keys
    await groupCheck(
      {
        variants: [undefined, { preset: "codex" }],
        heldByGateway: () => Promise.resolve(["anthropic", "openai"]),
      },
      cfg,
      w,
    );
    assertStringIncludes(err.text, "agent check: codex skipped");
    // the gateway holds only anthropic's: the codex replica still needs a key here
    const e = await refused(() =>
      groupCheck(
        { variants: [undefined, { preset: "codex" }], heldByGateway: () => Promise.resolve(["anthropic"]) },
        cfg,
        w,
      )
    );
    assertEquals(e.code, 4, e.message);
    assertStringIncludes(e.message, "codex check");
  });
});

Deno.test("group check: a mixed group with a pi replica (--agent-variant 2=pi) checks pi's Anthropic key", async () => {
  await withWorld({ ANTHROPIC_API_KEY: GOOD_A, OPENAI_API_KEY: GOOD_O }, async (cfg, err) => {
    await groupCheck({ agentName: "codex", variants: [undefined, { preset: "pi" }] }, cfg, {
      write: (c) => err.write(String(c)),
    });
    assertStringIncludes(err.text, "agent check: codex");
    assertStringIncludes(err.text, "agent check: pi");
  });
  await withWorld(
    { ANTHROPIC_API_KEY: "sk-ant-standin-bad-9999", OPENAI_API_KEY: GOOD_O },
    async (cfg, err) => {
      const e = await refused(() =>
        groupCheck({ agentName: "codex", variants: [undefined, { preset: "pi" }] }, cfg, {
          write: (c) => err.write(String(c)),
        })
      );
      assertEquals(e.code, 4, e.message);
      assertStringIncludes(e.message, "pi check");
    },
  );
});
