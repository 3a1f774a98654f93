/**
 * The webhook through the namespace's gateway, black-box against the test server (issue 79 escape 4): the
 * user's webhook URL and key go into the gateway's own Secret (`gateway ensure`), never into a session's.
 * The agent reads every environment of its pod's processes (/proc/PID/environ, as the round's agent did)
 * and the env Secret: neither the URL nor the user's key is there, only a key of its own session. The run's
 * end, with every kodama command exited, reaches a local receiver through the gateway, signed with the
 * user's key in the documented format. Skipped on a real cluster (no route from its pods to this machine).
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const dec = new TextDecoder();
const KEY = "sk-ant-api03-gateway-notify-test-4242";
const TOKEN = "hooktoken-gw-8080-never-in-a-pod";
const NAME = "gwn";
const AGENT = `p=$(cat); while [ ! -f release ]; do sleep 0.2; done; echo agent: done`;

/** What a receiver checks (docs/agents.md): `sha256=` HMAC-SHA256 of `TIMESTAMP.BODY` under the key. */
async function signature(key: string, ts: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(`${ts}.${body}`)));
  return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

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
  "gateway webhook: neither URL nor user's key in the session; the gateway relays the pod's event, signed with the user's key",
  { ignore: onRealCluster, timeoutMs: 5 * 60_000 },
  async (_t, w) => {
    let arrived!: (g: { body: string; ts: string; sig: string; search: string }) => void;
    const first = new Promise<{ body: string; ts: string; sig: string; search: string }>((
      r,
    ) => (arrived = r));
    let count = 0;
    const server = Deno.serve({ hostname: "0.0.0.0", port: 0, onListen: () => {} }, async (req) => {
      count++;
      arrived({
        body: await req.text(),
        ts: req.headers.get("x-kodama-timestamp") ?? "",
        sig: req.headers.get("x-kodama-signature") ?? "",
        search: new URL(req.url).search,
      });
      return new Response("ok");
    });
    const env = { ANTHROPIC_API_KEY: KEY };
    try {
      await Deno.mkdir(w.home, { recursive: true });
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `notify:\n  webhook: http://127.0.0.1:${server.addr.port}/hook?token=${TOKEN}\n`,
      );
      await Deno.writeTextFile(
        join(w.cwd, ".kodama.yaml"),
        `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
      );
      const ensured = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
      assertEquals(ensured.code, 0, ensured.stderr);

      const s = await w.k(["start", NAME, "--no-sync", "--image", SESSION_IMAGE], { env });
      assertEquals(s.code, 0, s.stderr);
      const userKey = (await Deno.readTextFile(join(w.home, "notify.key"))).trim();
      assertMatch(userKey, /^[0-9a-f]{64}$/);
      const r = await w.k(["agent", "run", NAME, "--prompt", "do it"], { env });
      assertEquals(r.code, 0, r.stderr);
      const run = r.stdout.trim();

      // what the agent can read: its pod's process environments and the env Secret
      const environs = await podEnvirons(NAME);
      assert(environs.length > 0, "no process of the session's pod was found");
      const sec = await w.kc(["get", "secret", `kodama-env-${NAME}`, "-o", "json"]);
      const secret = Object.entries(JSON.parse(sec.stdout).data ?? {}).map(([k, v]) =>
        `${k}=${dec.decode(Uint8Array.fromBase64(v as string))}`
      );
      const pod = (await w.kc(["get", "pod", await podOf(w, NAME), "-o", "json"])).stdout;
      for (
        const [what, text] of [["a process environment", environs.join("\n")], [
          "the env Secret",
          secret.join("\n"),
        ], ["the pod", pod]]
      ) {
        assert(!text.includes(TOKEN), `the webhook's URL is in ${what}`);
        assert(!text.includes(`127.0.0.1:${server.addr.port}`), `the webhook's address is in ${what}`);
        assert(!text.includes(userKey), `the user's key is in ${what}`);
      }
      assertMatch(s.stderr, /note: the gateway sends gwn's webhooks/);
      // the session's own key, which signs for it alone
      const own = secret.find((l) => l.startsWith("KODAMA_NOTIFY_KEY="));
      assert(own && own !== `KODAMA_NOTIFY_KEY=${userKey}`, "the session has no key of its own");
      assertEquals(count, 0, "nothing is sent before the run ends");

      const rel = await w.kc([
        "exec",
        await podOf(w, NAME),
        "--",
        "sh",
        "-c",
        'touch "$KODAMA_WORKSPACE/release"',
      ]);
      assertEquals(rel.code, 0, rel.stderr);
      // no kodama command runs now: the pod and the gateway tell
      const g = await Promise.race([
        first,
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no webhook within 60 s")), 60_000)),
      ]);
      assertEquals(g.sig, await signature(userKey, g.ts, g.body));
      assertEquals(g.search, `?token=${TOKEN}`);
      const b = JSON.parse(g.body);
      assertEquals([b.event, b.session, b.run, b.namespace], ["done", NAME, run, "dev"]);
      // the laptop, seeing the end too, does not send it again (the gateway is the relay)
      assertEquals((await w.k(["agent", "wait", NAME, "--timeout", "60s"])).code, 0);
      assertEquals(count, 1);
    } finally {
      await purge(w, NAME);
      await w.k(["gateway", "delete"]);
      await server.shutdown();
    }
  },
);
