/**
 * One truth about keys (issue 84.3), black-box: with a good key in an env file the config names, a bad key
 * named for this command (`--env-file`, or this environment) is the key `start` puts into the env Secret, and
 * so the key `agent check` tries: check fails with exit 4 naming where the key came from, never `ok` with the
 * config's key.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { startStandIn } from "../agents/_standin.ts";
import { purge, withSessionWorld } from "./_session.ts";

const GOOD = "sk-ant-standin-good-4242";
const BAD = "sk-ant-standin-bad-0000";
const BAD2 = "sk-ant-standin-bad-1111";
const dec = new TextDecoder();

withSessionWorld("agent check tries the key start sends", { timeoutMs: 6 * 60_000 }, async (t, w) => {
  const api = await startStandIn([], { gate: { keys: [GOOD] } });
  const good = join(w.home, "agents.env");
  await Deno.writeTextFile(good, `ANTHROPIC_API_KEY=${GOOD}\nANTHROPIC_BASE_URL=${api.url}\n`);
  await Deno.writeTextFile(join(w.home, "config.yaml"), `env:\n  dotenvFiles: [${good}]\n`);
  await Deno.writeTextFile(join(w.cwd, "bad.env"), `ANTHROPIC_API_KEY=${BAD}\n`);
  const env = { KODAMA_KEYS_STORE: "file" };
  /** the value of VAR in session NAME's env Secret */
  const secretVar = async (name: string, v: string) => {
    const s = await w.kc(["get", "secret", `kodama-env-${name}`, "-o", "json"]);
    assertEquals(s.code, 0, s.stderr);
    return dec.decode(Uint8Array.fromBase64(JSON.parse(s.stdout).data[v]));
  };
  try {
    await t.step("the config's key alone: ok", async () => {
      const r = await w.k(["agent", "check"], { env });
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, `ANTHROPIC_API_KEY …4242 (from env file ${good})`);
    });

    await t.step(
      "--env-file bad.env: start sends it, check refuses it (exit 4, naming the file)",
      async () => {
        const s = await w.k(["start", "kf", "--no-sync", "--no-wait", "--env-file", "bad.env"], { env });
        assertEquals(s.code, 0, s.stderr);
        assertEquals(await secretVar("kf", "ANTHROPIC_API_KEY"), BAD);
        const r = await w.k(["agent", "check", "--env-file", "bad.env"], { env });
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "the key was refused (401)");
        assertStringIncludes(r.stderr, "ANTHROPIC_API_KEY came from env file bad.env");
        assert(!r.stdout.includes(BAD) && !r.stderr.includes(BAD), "the key was printed");
      },
    );

    await t.step("this environment's key: start sends it, check refuses it (exit 4)", async () => {
      const e = { ...env, ANTHROPIC_API_KEY: BAD2 };
      const s = await w.k(["start", "ke", "--no-sync", "--no-wait"], { env: e });
      assertEquals(s.code, 0, s.stderr);
      assertEquals(await secretVar("ke", "ANTHROPIC_API_KEY"), BAD2);
      const r = await w.k(["agent", "check"], { env: e });
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "ANTHROPIC_API_KEY came from this environment");
    });
  } finally {
    await api.close();
    await purge(w, "kf").catch(() => {});
    await purge(w, "ke").catch(() => {});
  }
});
