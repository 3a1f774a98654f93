/**
 * `agent check` from this machine tries the key `start` would send (issue 84.3): with a good key in an env
 * file the config names, a bad key in `--env-file` (or in this environment) is the one checked, and the check
 * fails with exit 4 naming where it came from. The bad key here is another provider's (said without a
 * request); the config's base URL is a closed port, so a check that took the config's key would answer 1.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { configSchema } from "../../../src/config/schema.ts";
import { setOrigin } from "../../../src/config/origin.ts";
import { agentCheckCommand } from "../../../src/agent/credentials/checkrun.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { lockEnv } from "../../_env_lock.ts";

const sink = () => ({
  text: "",
  write(c: string | Uint8Array) {
    this.text += String(c);
  },
});

async function world() {
  const dir = await Deno.makeTempDir({ prefix: "kodama-keysource-" });
  const good = join(dir, "agents.env");
  await Deno.writeTextFile(
    good,
    "ANTHROPIC_API_KEY=sk-ant-good-4242\nANTHROPIC_BASE_URL=http://127.0.0.1:9\n",
  );
  await Deno.writeTextFile(join(dir, "bad.env"), "ANTHROPIC_API_KEY=sk-proj-openai-0000\n");
  const cfg = configSchema.parse({ env: { dotenvFiles: [good] } });
  setOrigin(cfg, {
    sources: { "env.dotenvFiles": "global" },
    files: { global: join(dir, "config.yaml"), gitRoot: dir },
    warnings: [],
    fromRepo: {},
    refused: [],
  });
  return { dir, cfg };
}

async function checkFails(o: { envFiles?: string[] }, from: string) {
  const { dir, cfg } = await world();
  try {
    const out = sink();
    const e = await assertRejects(() =>
      agentCheckCommand({ ...o, cwd: dir, output: "json" }, cfg, { out, err: sink() })
    ) as KodamaError;
    assert(e instanceof KodamaError, String(e));
    assertEquals(e.code, 4, e.message);
    assertStringIncludes(e.message, "this is an OpenAI key in ANTHROPIC_API_KEY");
    assertStringIncludes(e.hint ?? "", `ANTHROPIC_API_KEY came from ${from}`);
    assertEquals(JSON.parse(out.text).key.source, from);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// the key is this process's environment, which the other test files of a shard share (tests/_env_lock.ts):
// each case holds the lock while it sets the key and checks, and the lock puts the key back
Deno.test("check keysource: --env-file's key over the config's env file", async () => {
  const unlock = await lockEnv(["ANTHROPIC_API_KEY"]);
  try {
    Deno.env.delete("ANTHROPIC_API_KEY");
    await checkFails({ envFiles: ["bad.env"] }, "env file bad.env");
  } finally {
    unlock();
  }
});

Deno.test("check keysource: this environment's key over the config's env file", async () => {
  const unlock = await lockEnv(["ANTHROPIC_API_KEY"]);
  try {
    Deno.env.set("ANTHROPIC_API_KEY", "sk-proj-openai-1111");
    await checkFails({}, "this environment");
  } finally {
    unlock();
  }
});
