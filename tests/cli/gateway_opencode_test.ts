/**
 * The real OpenCode (the opencode preset) through a session and the gateway to the Anthropic stand-in: the
 * stand-in accepts only the real key, so the run succeeding proves the gateway swapped the session's token
 * for it (the preset's wrap adds the /v1 OpenCode's SDK wants to the gateway's ANTHROPIC_BASE_URL); the key
 * is in neither the session's env Secret nor any process environment of its pod. Skipped on a real cluster
 * (no route from its pods to the stand-in) and without the CLI.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { missing, OPENCODE } from "../agents/_clis.ts";

const KEY = "sk-ant-api03-realkey-only-the-gateway-holds-2357";
const dec = new TextDecoder();

/** Every process on this machine whose environment says it belongs to the session's pod. */
async function podEnvirons(session: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = dec.decode(await Deno.readFile(`/proc/${e.name}/environ`));
      if (env.split("\0").includes(`KODAMA_SESSION=${session}`)) out.push(env);
    } catch { /* gone, or not ours to read */ }
  }
  return out;
}

withSessionWorld(
  "gateway: the real OpenCode reaches the Anthropic stand-in through it with the real key (x-api-key swapped)",
  { ignore: onRealCluster || missing("opencode", OPENCODE), timeoutMs: 6 * 60_000 },
  async (_t, w) => {
    const api = await startStandIn([[{ text: "hello from opencode" }]], { gate: { keys: [KEY] } });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    try {
      assertEquals((await w.k(["gateway", "ensure", "--timeout", "90s"], { env })).code, 0);
      const r = await w.k(["start", "gwo", "--no-sync", "--agent", "opencode", "--prompt", "Say hello."], {
        env,
      });
      assertEquals(r.code, 0, r.stderr);
      const out = await w.spawn(["agent", "logs", "gwo", "-f"], { env }).output();
      const stdout = dec.decode(out.stdout);
      assertEquals(out.code, 0, stdout + dec.decode(out.stderr));
      assert(stdout.includes("hello from opencode"), stdout);
      const main = api.mainRequests().filter((q) => q.status === 200);
      assert(main.length >= 1, "the stand-in answered no request");
      assertEquals(main[0].path, "/v1/messages");
      assertEquals(main[0].headers?.["x-api-key"], KEY);
      const s = await w.kc(["get", "secret", "kodama-env-gwo", "-o", "json"]);
      const values = (Object.values(JSON.parse(s.stdout).data ?? {}) as string[]).map((v) =>
        dec.decode(Uint8Array.fromBase64(v))
      );
      assert(!values.some((v) => v.includes(KEY)), "the key is in the env Secret");
      assert(!(await podEnvirons("gwo")).some((e) => e.includes(KEY)), "the key is in a pod process");
    } finally {
      await purge(w, "gwo");
      await w.k(["gateway", "delete"]);
      await api.close();
    }
  },
);
