/**
 * Codex's ChatGPT login through the gateway program (src/agent/pod/gateway.js, run by Node), driven by the
 * real Codex CLI through the codex preset's wrap (the auth.json a session gets, holding only its token)
 * against the ChatGPT stand-in (tests/agents/_chatgpt.ts): an expired login is refreshed ONCE for four
 * concurrent runs, the real tokens reach the stand-in and nowhere in the session, and a restarted gateway
 * uses the refreshed (state file) refresh token, not the spent one from its Secret.
 */
import { assert, assertEquals } from "@kodama/test-assert";
const assertFalse = (v: boolean, msg?: string) => assert(!v, msg);
import { join } from "node:path";
import { CLAUDE, claudeCommand, CODEX, missing } from "./_clis.ts";
import { startStandIn } from "./_standin.ts";
import { ACCOUNT, startChatgptStandIn } from "./_chatgpt.ts";
import { type Gateway, startGateway } from "./_gateway.ts";
import { PRESETS } from "../../src/agent/presets/presets.ts";
import { gatewayEnv, sessionClaims } from "../../src/agent/gateway/claims.ts";
import { loginMeta, parseCodexAuth } from "../../src/agent/gateway/chatgpt.ts";
import { mintToken } from "../../src/agent/gateway/gatewaytoken.ts";

const skip = missing("codex", CODEX);

/** One session's Codex run through the wrap, with the env a session pod gets; its output and auth.json. */
async function runCodex(gw: Gateway, session: string, login: Parameters<typeof loginMeta>[0]) {
  const home = await Deno.makeTempDir({ prefix: "kodama-cx-" });
  const claims = sessionClaims({
    session,
    namespace: "default",
    forwardEnv: ["OPENAI_API_KEY", "OPENAI_BASE_URL"],
    gatewayProviders: [],
    gitHosts: [],
    hosts: [],
    chatgptLogin: true,
    now: new Date(),
  });
  const token = mintToken(gw.signingKey, claims);
  const env = gatewayEnv({}, {
    url: gw.url,
    token,
    claims,
    gitTokenEnv: "GITHUB_TOKEN",
    chatgpt: { meta: loginMeta(login), now: new Date() },
  });
  // the proxy variables point at the gateway; the stand-ins are plain-http loopback hosts it is not asked for
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      PRESETS.codex.wrap!,
      CODEX!,
      "exec",
      "--json",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
      "-",
    ],
    env: { ...env, HOME: home, CODEX_HOME: join(home, ".codex"), PATH: Deno.env.get("PATH") ?? "" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode("say done\n"));
  await w.close();
  const r = await out.output();
  const auth = await Deno.readTextFile(join(home, ".codex", "auth.json"));
  const mode = (await Deno.stat(join(home, ".codex", "auth.json"))).mode! & 0o777;
  await Deno.remove(home, { recursive: true });
  return { code: r.code, stdout: new TextDecoder().decode(r.stdout), env, auth, mode, token };
}

Deno.test({
  name:
    "chatgpt login: 4 Codex sessions on an expired login, one refresh; a restart uses the refreshed token",
  ignore: skip,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cg = await startChatgptStandIn([], { expired: true });
    const stateDir = await Deno.makeTempDir({ prefix: "kodama-gw-state-" });
    const config = {
      providers: {
        chatgpt: { upstream: cg.url, authUrl: `${cg.url}/oauth/token`, keys: [], login: cg.login },
      },
    };
    const real = [cg.login.tokens.access_token, cg.login.tokens.refresh_token];
    let gw = await startGateway(config, { KODAMA_GATEWAY_STATE: stateDir });
    try {
      const runs = await Promise.all(
        [1, 2, 3, 4].map((i) => runCodex(gw, `cx-${i}`, parseCodexAuth(JSON.stringify(cg.login))!)),
      );
      for (const r of runs) assertEquals(r.code, 0, r.stdout.slice(-2000));
      // exactly one refresh for the four, and every model request carried the refreshed token
      assertEquals(cg.refreshes, 1);
      assertEquals(cg.reused, 0);
      assert(cg.seen.length >= 4);
      assert(cg.seen.every((t) => t === cg.accessTokens[1]));
      // the state file holds the new refresh token, 0600
      const state = JSON.parse(await Deno.readTextFile(join(stateDir, "chatgpt-login.json")));
      assertEquals(state.tokens.refresh_token, cg.refreshTokens[1]);
      assertEquals((await Deno.stat(join(stateDir, "chatgpt-login.json"))).mode! & 0o777, 0o600);
      // nothing real in the session: its env, its auth.json; nor in the gateway's log
      for (const r of runs) {
        const seen = JSON.stringify(r.env) + r.auth;
        for (const t of [...real, ...cg.accessTokens, ...cg.refreshTokens]) assertFalse(seen.includes(t));
        assertEquals(JSON.parse(r.auth).tokens.access_token, r.token);
        assertEquals(JSON.parse(r.auth).tokens.account_id, ACCOUNT);
        assertEquals(r.mode, 0o600);
      }
      for (const t of [...real, ...cg.accessTokens, ...cg.refreshTokens]) assertFalse(gw.raw().includes(t));
      assert(
        gw.lines.some((l) =>
          l.ev === "config" && l.status === ("login-refreshed" as unknown) && l.persisted === true
        ),
      );

      // a restart: the Secret still holds the spent refresh token, the state file the new one
      await gw.kill();
      cg.expireNow();
      gw = await startGateway(config, { KODAMA_GATEWAY_STATE: stateDir });
      await gw.waitLog((l) => l.ev === "config" && l.status === ("login" as unknown) && l.source === "state");
      const again = await runCodex(gw, "cx-5", parseCodexAuth(JSON.stringify(cg.login))!);
      assertEquals(again.code, 0, again.stdout.slice(-2000));
      assertEquals(cg.refreshes, 2);
      assertEquals(cg.reused, 0);
      assertEquals(cg.seen.at(-1), cg.accessTokens[2]);
    } finally {
      await gw.close();
      await cg.close();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "chatgpt login: a spent refresh token is refused as the real auth host does; the agent gets a 401",
  ignore: skip,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cg = await startChatgptStandIn([], { expired: true });
    const stateDir = await Deno.makeTempDir({ prefix: "kodama-gw-state-" });
    // someone else (the laptop's Codex) spent the login's refresh token first
    const spent = await fetch(`${cg.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: "x",
        grant_type: "refresh_token",
        refresh_token: cg.login.tokens.refresh_token,
      }),
    });
    await spent.body?.cancel();
    const gw = await startGateway({
      providers: {
        chatgpt: { upstream: cg.url, authUrl: `${cg.url}/oauth/token`, keys: [], login: cg.login },
      },
    }, { KODAMA_GATEWAY_STATE: stateDir });
    try {
      const token = gw.token({ s: "cx-spent", p: ["chatgpt"] });
      const r = await fetch(`${gw.url}/p/chatgpt/backend-api/codex/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      });
      assertEquals(r.status, 401);
      assert((await r.text()).includes("kodama-gateway: upstream refused to refresh the ChatGPT login"));
      assertEquals(cg.reused, 1);
      const failed = await gw.waitLog((l) => l.status === ("login-refresh-failed" as unknown));
      assertEquals(failed.error, "refresh_token_reused");
      // the session's own refresh route: the same token back, never the login
      const own = await fetch(`${gw.url}/p/chatgpt-auth/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "refresh_token", refresh_token: token }),
      });
      assertEquals(await own.json(), { access_token: token, refresh_token: token });
      const bad = await fetch(`${gw.url}/p/chatgpt-auth/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "refresh_token", refresh_token: "kgw1.x.y" }),
      });
      assertEquals(bad.status, 401);
      await bad.body?.cancel();
      // no CONNECT to chatgpt.com for a session: its backend is reached through /p/chatgpt only
      const conn = await new Deno.Command("curl", {
        args: [
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_connect}",
          "-p",
          "-x",
          gw.url,
          "-U",
          `kodama:${token}`,
          "https://chatgpt.com/",
        ],
        stdout: "piped",
      }).output();
      assertEquals(new TextDecoder().decode(conn.stdout).trim().slice(0, 3), "403");
    } finally {
      await gw.close();
      await cg.close();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "subscription login: Claude Code's OAuth token through the gateway as a bearer, with its beta flag",
  ignore: missing("claude", CLAUDE),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const OAUTH = "sk-ant-oat01-oauth-token-only-the-gateway-holds-7781";
    const api = await startStandIn([[{ text: "hello through the gateway" }]], { gate: { keys: [OAUTH] } });
    // what `gateway ensure` makes of CLAUDE_CODE_OAUTH_TOKEN (src/agent/gateway/config.ts KEY_VARS)
    const gw = await startGateway({
      providers: {
        anthropic: {
          upstream: api.url,
          keys: [{ id: "a1", header: "authorization", value: `Bearer ${OAUTH}` }],
        },
      },
    });
    const home = await Deno.makeTempDir({ prefix: "kodama-cl-" });
    try {
      const token = gw.token({ s: "cl-1", p: ["anthropic"] });
      const [bin, ...args] = claudeCommand();
      const p = new Deno.Command(bin, {
        args: [...args, "Say hello."],
        cwd: home,
        env: {
          HOME: home,
          PATH: Deno.env.get("PATH") ?? "",
          ANTHROPIC_BASE_URL: `${gw.url}/p/anthropic`,
          ANTHROPIC_API_KEY: token,
        },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
      const o = await p.output();
      const out = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
      assertEquals(o.code, 0, out.slice(-2000));
      const main = api.mainRequests();
      assert(main.length >= 1 && api.answered(401) === 0, out.slice(-2000));
      for (const r of main) {
        assertEquals(r.headers?.authorization, `Bearer ${OAUTH}`);
        assertEquals(r.headers?.["x-api-key"], undefined);
        assert((r.headers?.["anthropic-beta"] ?? "").split(",").includes("oauth-2025-04-20"));
      }
      assertFalse(gw.raw().includes(OAUTH));
    } finally {
      await gw.close();
      await api.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});
