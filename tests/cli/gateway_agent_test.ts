/**
 * The real Claude Code through a session and the gateway to the model-API stand-in: the stand-in accepts
 * only the real key, so the run succeeding proves the gateway swapped the session's token for it; the key
 * is nowhere in the session (its env Secret, any process environment of its pod, its volumes); the
 * gateway's log shows the requests; once the gateway is gone the session's agent fails its requests
 * instead of going around it. The ClusterIP is reached through the test node's kube-proxy
 * (tests/cluster/kubeproxy.ts). Skipped on a real cluster (no route from its pods to the stand-in) and
 * without the CLI.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { podOf, purge, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { CLAUDE, CODEX, missing } from "../agents/_clis.ts";

const KEY = "sk-ant-api03-realkey-only-the-gateway-holds-5150";
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
  "gateway: the real Claude Code reaches the stand-in with the real key, which is nowhere in the session",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 6 * 60_000 },
  async (t, w) => {
    const api = await startStandIn([[{ text: "hello through the gateway" }]], { gate: { keys: [KEY] } });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    try {
      await t.step("ensure: the stand-in is the anthropic upstream", async () => {
        const r = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
        assertEquals(r.code, 0, r.stderr);
      });

      await t.step("start --prompt: the run succeeds through the gateway", async () => {
        const r = await w.k(["start", "gwa", "--no-sync", "--prompt", "Say hello."], { env });
        assertEquals(r.code, 0, r.stderr);
        assert(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), "the key was printed");
        // one true thing (issue 79 defect 8): the Secret holds a token, and nothing says the key goes into it
        assertMatch(r.stderr, /its env Secret holds a token, not the keys/);
        assert(
          !/ANTHROPIC_(API_KEY|BASE_URL) \(from this environment\) goes into the env Secret/.test(r.stderr),
          r.stderr,
        );
        const out = await w.spawn(["agent", "logs", "gwa", "-f"], { env }).output();
        assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
        assertMatch(dec.decode(out.stderr), /agent run 1 succeeded\n/);
        // the stand-in refuses any other key: what it answered came with the real one
        assert(api.answered(200) >= 1, "the stand-in answered no request");
        assertEquals(api.answered(401), 0);
      });

      await t.step("the key is nowhere in the session: Secret, process environments, volumes", async () => {
        const s = await w.kc(["get", "secret", "kodama-env-gwa", "-o", "json"]);
        const data = Object.values(JSON.parse(s.stdout).data ?? {}) as string[];
        const values = data.map((v) => dec.decode(Uint8Array.fromBase64(v)));
        assert(values.length > 0 && !values.some((v) => v.includes(KEY)), "the key is in the env Secret");
        const environs = await podEnvirons("gwa");
        assert(environs.length > 0, "no process of the session's pod was found");
        assert(!environs.some((e) => e.includes(KEY)), "the key is in a pod process's environment");
        assert(environs.some((e) => e.includes("ANTHROPIC_API_KEY=kgw1.")), "the pod has no token");
        const g = await w.kc([
          "exec",
          await podOf(w, "gwa"),
          "-c",
          "session",
          "--",
          "sh",
          "-c",
          `grep -rIl -- "${KEY}" /workspace /home/kodama; echo "grep exit $?"`,
        ]);
        assertMatch(g.stdout, /grep exit 1/, g.stdout + g.stderr);
      });

      await t.step("gateway log: the session's requests, allowed", async () => {
        const r = await w.k(["gateway", "log", "gwa", "-o", "json"]);
        assertEquals(r.code, 0, r.stderr);
        const lines = JSON.parse(r.stdout).lines as { ev: string; verdict: string; status?: number }[];
        assert(lines.some((l) => l.ev === "req" && l.verdict === "allowed" && l.status === 200), r.stdout);
        assert(!r.stdout.includes(KEY));
      });

      await t.step("gateway usage: the session's tokens, from the stand-in's own usage fields", async () => {
        const r = await w.k(["gateway", "usage", "--by", "session", "-o", "json"]);
        assertEquals(r.code, 0, r.stderr);
        const row = JSON.parse(r.stdout).rows.find((x: { key: string }) => x.key === "gwa");
        assert(row && row.requests >= 1 && row.input > 0 && row.output > 0, r.stdout);
        const table = await w.k(["gateway", "usage"]);
        assertMatch(table.stdout, /^SESSION +REQUESTS/m);
      });

      await t.step("a host outside the allow-list: refused, logged, and named by agent status", async () => {
        // CONNECT through HTTPS_PROXY as any HTTPS client in the pod would; the gateway refuses it before
        // any lookup (nothing leaves this machine)
        const probe = [
          `const u = new URL(process.env.HTTPS_PROXY);`,
          `const s = require("net").connect(Number(u.port), u.hostname, () => s.write(`,
          `"CONNECT evil.example.com:443 HTTP/1.1\\r\\nHost: evil.example.com:443\\r\\nProxy-Authorization: Basic " +`,
          `Buffer.from(decodeURIComponent(u.username) + ":" + decodeURIComponent(u.password)).toString("base64") +`,
          `"\\r\\n\\r\\n"));`,
          `s.once("data", (d) => { console.log(String(d).split("\\r\\n")[0]); s.destroy(); });`,
        ].join("");
        const r = await w.kc(["exec", await podOf(w, "gwa"), "-c", "session", "--", "node", "-e", probe]);
        assertMatch(r.stdout, /^HTTP\/1\.1 403/, r.stdout + r.stderr);
        const log = JSON.parse((await w.k(["gateway", "log", "gwa", "-o", "json"])).stdout);
        assert(
          log.lines.some((l: { verdict: string; host?: string }) =>
            l.verdict === "denied" && l.host === "evil.example.com:443"
          ),
          JSON.stringify(log),
        );
        const st = await w.k(["agent", "status", "gwa"]);
        assertEquals(st.code, 0, st.stderr);
        assertMatch(st.stderr, /gateway: denied evil\.example\.com:443/);
      });

      await t.step("the gateway gone: the session's requests are refused, never around it", async () => {
        assertEquals((await w.k(["gateway", "delete"])).code, 0);
        const before = api.mainRequests().length;
        // what the agent would do: its base URL, with what the pod has (no key but the token)
        const probe =
          `fetch(process.env.ANTHROPIC_BASE_URL + "/v1/messages", { method: "POST", body: "{}" })` +
          `.then((r) => console.log("status " + r.status), (e) => console.log("error " + (e.cause?.code ?? e)))`;
        const r = await w.kc(["exec", await podOf(w, "gwa"), "-c", "session", "--", "node", "-e", probe]);
        assertMatch(r.stdout, /error ECONNREFUSED/, r.stdout + r.stderr);
        assertEquals(api.mainRequests().length, before, "a request went around the gateway");
      });
    } finally {
      await purge(w, "gwa");
      await w.k(["gateway", "delete"]);
      await api.close();
    }
  },
);

withSessionWorld(
  "gateway: the real Codex reaches the stand-in through it with the real key (bearer swapped, /v1 kept)",
  { ignore: onRealCluster || missing("codex", CODEX), timeoutMs: 6 * 60_000 },
  async (_t, w) => {
    const OKEY = "sk-proj-realkey-only-the-gateway-holds-6174";
    const api = await startStandIn([[{ text: "hello from codex" }]], { gate: { keys: [OKEY] } });
    const env = { OPENAI_API_KEY: OKEY, OPENAI_BASE_URL: `${api.url}/v1` };
    try {
      assertEquals((await w.k(["gateway", "ensure", "--timeout", "90s"], { env })).code, 0);
      const r = await w.k(["start", "gwc", "--no-sync", "--agent", "codex", "--prompt", "Say hello."], {
        env,
      });
      assertEquals(r.code, 0, r.stderr);
      const out = await w.spawn(["agent", "logs", "gwc", "-f"], { env }).output();
      assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
      assert(api.answered(200) >= 1, "the stand-in answered no request");
      const s = await w.kc(["get", "secret", "kodama-env-gwc", "-o", "json"]);
      const values = (Object.values(JSON.parse(s.stdout).data ?? {}) as string[]).map((v) =>
        dec.decode(Uint8Array.fromBase64(v))
      );
      assert(!values.some((v) => v.includes(OKEY)), "the key is in the env Secret");
      assert(!(await podEnvirons("gwc")).some((e) => e.includes(OKEY)), "the key is in a pod process");
    } finally {
      await purge(w, "gwc");
      await w.k(["gateway", "delete"]);
      await api.close();
    }
  },
);
