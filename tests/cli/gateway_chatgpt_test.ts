/**
 * Codex's ChatGPT login through the gateway on the test server, black-box: `gateway ensure` takes the user's
 * own auth.json (CODEX_HOME) into the gateway's Secret and makes the state claim; four sessions of the real
 * Codex on a login whose access token has expired all succeed with exactly ONE refresh at the auth stand-in
 * (tests/agents/_chatgpt.ts); the real tokens are nowhere in the sessions (env Secret, pod processes'
 * environments, auth.json); `gateway status` shows the login (never a token); a restarted gateway pod uses the
 * refreshed token from its state claim, not the spent one still in its Secret.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { podOf, purge, withSessionWorld } from "./_session.ts";
import { startChatgptStandIn } from "../agents/_chatgpt.ts";
import { CODEX, missing } from "../agents/_clis.ts";

const dec = new TextDecoder();
const NAMES = ["cg1", "cg2", "cg3", "cg4"];

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
  "gateway: Codex's ChatGPT login refreshed once for four sessions; a restart uses the refreshed token",
  { ignore: onRealCluster || missing("codex", CODEX), timeoutMs: 10 * 60_000 },
  async (t, w) => {
    const cg = await startChatgptStandIn([], { expired: true });
    const codexHome = `${w.home}/codex`;
    await Deno.mkdir(codexHome, { recursive: true });
    await Deno.writeTextFile(`${codexHome}/auth.json`, JSON.stringify({ auth_mode: "chatgpt", ...cg.login }));
    const env = {
      KODAMA_CHATGPT_URL: `${cg.url}/backend-api/`,
      CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${cg.url}/oauth/token`,
    };
    const secrets = () => [...cg.accessTokens, ...cg.refreshTokens];
    try {
      await t.step("ensure: the login only in the gateway's Secret; the state claim mounted", async () => {
        const r = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /chatgpt login/);
        const s = JSON.parse((await w.kc(["get", "secret", "kodama-gateway", "-o", "json"])).stdout);
        const cfg = JSON.parse(dec.decode(Uint8Array.fromBase64(s.data["config.json"])));
        assertEquals(cfg.providers.chatgpt.login.tokens.refresh_token, cg.refreshTokens[0]);
        assertEquals(cfg.providers.chatgpt.upstream, cg.url);
        const pvc = await w.kc(["get", "pvc", "kodama-gateway-state", "-o", "json"]);
        assertEquals(pvc.code, 0, pvc.stderr);
        const pod = JSON.parse((await w.kc(["get", "pod", "kodama-gateway-0", "-o", "json"])).stdout);
        assert(
          pod.spec.volumes.some((v: { persistentVolumeClaim?: { claimName: string } }) =>
            v.persistentVolumeClaim?.claimName === "kodama-gateway-state"
          ),
        );
      });

      await t.step(
        "the login serves Codex alone: Qwen Code (OpenAI-compatible) gets no login files",
        async () => {
          const c = await w.k(["agent", "check", "--agent", "codex"], { env });
          assertEquals(c.code, 0, c.stdout + c.stderr);
          assertMatch(c.stdout + c.stderr, /holds the ChatGPT login/);
          // Qwen Code speaks OpenAI's API, which the login does not serve: no key here, no gateway verdict
          const q = await w.k(["agent", "check", "--agent", "qwen"], { env });
          assertEquals(q.code, 4, q.stdout + q.stderr);
          assertMatch(q.stderr, /no key is set/);
          // through the gateway: no login files, the user's own key kept out too, and start says so
          const st = await w.k(["start", "qw", "--no-sync", "--agent", "qwen", "--no-wait"], {
            env: { ...env, OPENAI_API_KEY: "sk-qwen-own-1234" },
          });
          assertEquals(st.code, 0, st.stderr);
          assertMatch(
            st.stderr,
            /warning: qw: the gateway kodama-gateway holds no openai key \(its ChatGPT login serves Codex alone\)/,
          );
          const sec = JSON.parse((await w.kc(["get", "secret", "kodama-env-qw", "-o", "json"])).stdout);
          const vars = Object.keys(sec.data ?? {});
          for (const v of ["KODAMA_CODEX_AUTH_JSON", "KODAMA_CODEX_CHATGPT_URL", "OPENAI_API_KEY"]) {
            assert(!vars.includes(v), `${v} is in a Qwen session's env Secret`);
          }
          assertEquals((await w.k(["delete", "qw", "--force", "--purge"])).code, 0);
        },
      );

      await t.step("four Codex sessions on the expired login: all succeed, one refresh", async () => {
        const started = await Promise.all(
          NAMES.map((n) =>
            w.k(["start", n, "--no-sync", "--agent", "codex", "--prompt", "Say hello."], { env })
          ),
        );
        for (const r of started) assertEquals(r.code, 0, r.stderr);
        for (const n of NAMES) {
          const out = await w.spawn(["agent", "logs", n, "-f"], { env }).output();
          assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
          assertMatch(dec.decode(out.stderr), /agent run 1 succeeded\n/);
        }
        assertEquals(cg.refreshes, 1);
        assertEquals(cg.reused, 0);
        assert(
          cg.seen.length >= 4 && cg.seen.every((x) => x === cg.accessTokens[1]),
          "a request without the refreshed token",
        );
      });

      await t.step("no real token in any session: env Secret, processes, auth.json", async () => {
        for (const n of NAMES) {
          const s = await w.kc(["get", "secret", `kodama-env-${n}`, "-o", "json"]);
          const values = (Object.values(JSON.parse(s.stdout).data ?? {}) as string[]).map((v) =>
            dec.decode(Uint8Array.fromBase64(v))
          );
          assert(values.some((v) => v.includes("kgw1.")), "no session token");
          assert(
            !values.some((v) => secrets().some((x) => v.includes(x))),
            "a real token is in the env Secret",
          );
          const environs = await podEnvirons(n);
          assert(environs.length > 0, "no process of the session's pod was found");
          assert(
            !environs.some((e) => secrets().some((x) => e.includes(x))),
            "a real token is in a pod process",
          );
        }
        const g = await w.kc([
          "exec",
          await podOf(w, "cg1"),
          "-c",
          "session",
          "--",
          "sh",
          "-c",
          `grep -rIl -e "${cg.refreshTokens.join('" -e "')}" /workspace /home/kodama; echo "grep exit $?"`,
        ]);
        assertMatch(g.stdout, /grep exit 1/, g.stdout + g.stderr);
      });

      await t.step("gateway status: the login's expiry and last refresh, never a token", async () => {
        const r = await w.k(["gateway", "status", "-o", "json"]);
        assertEquals(r.code, 0, r.stderr);
        const st = JSON.parse(r.stdout);
        assertEquals(st.login.provider, "chatgpt");
        assertEquals(st.login.source, "refresh");
        assertEquals(st.login.persisted, true);
        assert(st.login.expiresAt && st.login.lastRefresh, r.stdout);
        assert(!secrets().some((x) => r.stdout.includes(x)));
        const table = await w.k(["gateway", "status"]);
        assertMatch(table.stdout, /^login: +chatgpt account …/m);
      });

      await t.step("a restart: the state claim's refreshed token, not the Secret's spent one", async () => {
        assertEquals((await w.kc(["delete", "pod", "kodama-gateway-0"])).code, 0);
        cg.expireNow();
        const r = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
        assertEquals(r.code, 0, r.stderr);
        const again = await w.k(["agent", "run", "cg1", "--prompt", "Say hello again."], { env });
        assertEquals(again.code, 0, again.stdout + again.stderr);
        const waited = await w.k(["agent", "wait", "cg1"], { env });
        assertEquals(waited.code, 0, waited.stdout + waited.stderr);
        assertEquals(cg.refreshes, 2);
        assertEquals(cg.reused, 0);
        const st = JSON.parse((await w.k(["gateway", "status", "-o", "json"])).stdout);
        assertEquals(st.login.persisted, true);
      });
    } finally {
      for (const n of NAMES) await purge(w, n);
      await w.k(["gateway", "delete"]);
      await cg.close();
    }
  },
);
