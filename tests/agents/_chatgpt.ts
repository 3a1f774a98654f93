/**
 * A stand-in for Codex's ChatGPT login: chatgpt.com's backend (`/backend-api/codex/responses`, answered by
 * the model stand-in's Responses-API SSE, `tests/agents/_standin.ts`; `/backend-api/wham/accounts/check`)
 * and auth.openai.com's `/oauth/token`, which issues single-use refresh tokens as the real one does: a spent
 * one is refused with 401 `refresh_token_reused`. Access tokens are JWTs with an `exp`; an expired or
 * unknown one gets 401 from the backend.
 */
import { type StandIn, startStandIn, type Turn } from "./_standin.ts";

const b64url = (s: string) =>
  new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });

/** An unsigned JWT with these claims (what the stand-in issues and the tests hand the gateway). */
export function fakeJwt(claims: Record<string, unknown>): string {
  return `${b64url('{"alg":"RS256","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.sig`;
}

export const ACCOUNT = "acct-kodama-test";

export interface ChatgptStandIn {
  url: string;
  model: StandIn;
  /** the login to hand the gateway (its access token expired `expiredMs` ago when asked for) */
  login: { tokens: Record<string, string>; last_refresh: string };
  /** refreshes that issued new tokens, and spent tokens presented again */
  refreshes: number;
  reused: number;
  /** every refresh token issued so far, the newest last */
  refreshTokens: string[];
  /** every access token issued so far, the newest last */
  accessTokens: string[];
  /** bearer tokens the backend saw on its model route */
  seen: string[];
  /** make the current access token expired (as if an hour went by) */
  expireNow(): void;
  close(): Promise<void>;
}

export async function startChatgptStandIn(
  turns: Turn[] = [],
  o: { expired?: boolean } = {},
): Promise<ChatgptStandIn> {
  const model = await startStandIn(turns);
  const valid = new Map<string, number>(); // access token -> exp (s)
  const unspent = new Set<string>();
  let n = 0;
  const issue = (expOffsetS: number) => {
    n++;
    const exp = Math.floor(Date.now() / 1000) + expOffsetS;
    const access = fakeJwt({ exp, n, "https://api.openai.com/auth": { chatgpt_account_id: ACCOUNT } });
    const refresh = `rt-${n}-${crypto.randomUUID()}`;
    valid.set(access, exp);
    unspent.add(refresh);
    s.accessTokens.push(access);
    s.refreshTokens.push(refresh);
    return { access, refresh };
  };
  const ac = new AbortController();
  const json = (v: unknown, status = 200) =>
    new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });
  const s: ChatgptStandIn = {
    url: "",
    model,
    login: { tokens: {}, last_refresh: "" },
    refreshes: 0,
    reused: 0,
    refreshTokens: [],
    accessTokens: [],
    seen: [],
    expireNow: () => {
      for (const k of valid.keys()) valid.set(k, 0);
    },
    close: async () => {
      ac.abort();
      await server.finished;
      await model.close();
    },
  };
  const first = issue(o.expired === false ? 3600 : -60);
  const idToken = fakeJwt({
    email: "user@example.com",
    "https://api.openai.com/auth": { chatgpt_plan_type: "pro", chatgpt_account_id: ACCOUNT },
  });
  s.login = {
    tokens: {
      id_token: idToken,
      access_token: first.access,
      refresh_token: first.refresh,
      account_id: ACCOUNT,
    },
    last_refresh: new Date(Date.now() - 3600_000).toISOString(),
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/oauth/token") {
        const body = await req.json().catch(() => ({}));
        const rt = String(body.refresh_token ?? "");
        if (body.grant_type !== "refresh_token" || !body.client_id) {
          return json(
            { error: "invalid_request" },
            400,
          );
        }
        if (!unspent.has(rt)) {
          if (s.refreshTokens.includes(rt)) s.reused++;
          return json({
            error: {
              message:
                "Your refresh token has already been used to generate a new access token. Please try signing in again.",
              type: "invalid_request_error",
              param: null,
              code: "refresh_token_reused",
            },
          }, 401);
        }
        unspent.delete(rt);
        s.refreshes++;
        const t = issue(3600);
        return json({ id_token: idToken, access_token: t.access, refresh_token: t.refresh });
      }
      const bearer = (req.headers.get("authorization") ?? "").replace(/^Bearer /, "");
      const exp = valid.get(bearer);
      const authorized = exp !== undefined && exp > Date.now() / 1000 &&
        req.headers.get("chatgpt-account-id") === ACCOUNT;
      if (url.pathname.startsWith("/backend-api/")) {
        if (!authorized) {
          await req.body?.cancel();
          return json({ detail: "Unauthorized" }, 401);
        }
        if (req.method === "POST" && url.pathname === "/backend-api/codex/responses") {
          s.seen.push(bearer);
          // the model stand-in's own Responses-API answer (SSE), as chatgpt.com's Codex backend streams it
          return await fetch(`${model.url}/v1/responses`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: await req.text(),
          });
        }
        await req.body?.cancel();
        if (url.pathname.endsWith("/accounts/check")) return json({ accounts: [{ id: ACCOUNT }] });
      }
      await req.body?.cancel();
      return json({ detail: "Not Found" }, 404);
    },
  );
  s.url = `http://127.0.0.1:${server.addr.port}`;
  return s;
}
