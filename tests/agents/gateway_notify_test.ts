/**
 * The gateway as the webhook's relay (src/agent/pod/gateway.js, `POST /_kodama/notify`; docs/security.md,
 * "Notifications: a key per session, the URL off the pod"), run by Node on this machine: the pod's own
 * program (notify.js) sends a run's end signed with its session's key; the gateway, which alone holds the
 * user's key and URL, checks it and sends it on to a loopback receiver signed with the user's key in the
 * documented format. A session's key never speaks for another session, nor once its session is revoked or
 * started again (a new generation).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { type Gateway, type GatewayLine, startGateway } from "./_gateway.ts";
import { NOTIFY_JS } from "../../src/agent/runs/agent.ts";
import { sessionNotifyKey, signature } from "../../src/agent/notify/notifykey.ts";

const USER_KEY = "u".repeat(64);
const NS = "team";

interface Got {
  body: string;
  ts: string;
  sig: string;
  search: string;
}

function receiver() {
  const got: Got[] = [];
  const waiters: ((g: Got) => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const g = {
      body: await req.text(),
      ts: req.headers.get("x-kodama-timestamp") ?? "",
      sig: req.headers.get("x-kodama-signature") ?? "",
      search: new URL(req.url).search,
    };
    got.push(g);
    waiters.splice(0).forEach((w) => w(g));
    return new Response("ok");
  });
  return {
    got,
    url: `http://127.0.0.1:${server.addr.port}/hook?token=hooktoken-77`,
    close: () => server.shutdown(),
  };
}

async function runDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-gwnotify-" });
  await Deno.mkdir(`${dir}/4`);
  for (
    const [k, v] of Object.entries({ log: "agent: done\n", exit: "0\n", "stop-seen": "0\n", git: "1 1\n" })
  ) {
    await Deno.writeTextFile(`${dir}/4/${k}`, v);
  }
  return `${dir}/4`;
}

/** The pod's notify.js, as runner.sh runs it, with a session's relay, key and token. */
async function podSends(run: string, o: { relay: string; key: string; token: string; session: string }) {
  const out = await new Deno.Command("node", {
    args: ["-e", NOTIFY_JS, run],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      KODAMA_NOTIFY_RELAY: `${o.relay}/_kodama/notify`,
      KODAMA_NOTIFY_KEY: o.key,
      KODAMA_NOTIFY_TOKEN: o.token,
      KODAMA_SESSION: o.session,
    },
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** A hand-made event (what an agent could send with the key and token its pod holds). */
async function forged(relay: string, key: string, token: string, body: Record<string, unknown>) {
  const text = JSON.stringify(body);
  const ts = String(Math.floor(Date.now() / 1000));
  const r = await fetch(`${relay}/_kodama/notify`, {
    method: "POST",
    body: text,
    headers: {
      authorization: `Bearer ${token}`,
      "x-kodama-timestamp": ts,
      "x-kodama-signature": await signature(key, ts, text),
    },
  });
  await r.body?.cancel();
  return r.status;
}

/** Rewrite the gateway's config as a Secret's update does, and wait until it has read it. */
async function reload(gw: Gateway, config: Record<string, unknown>) {
  const loaded = (l: GatewayLine) => l.ev === "config" && l.status === ("loaded" as unknown);
  const before = gw.lines.filter(loaded).length;
  await gw.setConfig(config);
  await gw.waitLog((l) => loaded(l) && gw.lines.filter(loaded).length > before);
}

const event = (session: string) => ({
  event: "done",
  session,
  group: null,
  run: "9",
  outcome: "succeeded",
  reason: null,
  filesChanged: 0,
  commits: 0,
  text: `kodama: ${session} run 9 succeeded`,
});

Deno.test("gateway relay: the pod's event reaches the webhook signed with the user's key; no session speaks for another", async () => {
  const r = receiver();
  const gw = await startGateway({
    providers: {},
    revoked: [],
    notify: { url: r.url, key: USER_KEY, on: [] },
  });
  try {
    const keyA = await sessionNotifyKey(USER_KEY, NS, "alpha", "gen-a");
    const keyB = await sessionNotifyKey(USER_KEY, NS, "beta", "gen-b");
    const tokA = gw.token({ s: "alpha", ns: NS, n: "gen-a" });
    const tokB = gw.token({ s: "beta", ns: NS, n: "gen-b" });
    assert(keyA !== USER_KEY && keyA !== keyB);

    // the pod's own program, through the relay, to the receiver
    assertEquals(
      await podSends(await runDir(), { relay: gw.url, key: keyA, token: tokA, session: "alpha" }),
      "sent 200",
    );
    assertEquals(r.got.length, 1);
    const g = r.got[0];
    // signed as docs/agents.md tells a receiver to check: the user's key over `TIMESTAMP.BODY`
    assertEquals(g.sig, await signature(USER_KEY, g.ts, g.body));
    assert(g.sig !== await signature(keyA, g.ts, g.body));
    assertEquals(g.search, "?token=hooktoken-77");
    const b = JSON.parse(g.body);
    assertEquals([b.event, b.session, b.namespace, b.run, b.commits], ["done", "alpha", NS, "4", 1]);

    // A's key cannot make an event for B: with A's token (the body names B), with B's token (B's key differs)
    assertEquals(await forged(gw.url, keyA, tokA, event("beta")), 403);
    assertEquals(await forged(gw.url, keyA, tokB, event("beta")), 401);
    // nor the user's key itself, nor a key of another namespace's session of the same name
    assertEquals(await forged(gw.url, USER_KEY, tokB, event("beta")), 401);
    const otherNs = await sessionNotifyKey(USER_KEY, "other", "beta", "gen-b");
    assertEquals(await forged(gw.url, otherNs, tokB, event("beta")), 401);
    // a body that says another namespace is told the token's
    assertEquals(await forged(gw.url, keyB, tokB, { ...event("beta"), namespace: "prod" }), 200);
    assertEquals(JSON.parse(r.got.at(-1)!.body).namespace, NS);
    assertEquals(r.got.length, 2, "only B's own event went through");
    assert(!gw.raw().includes("hooktoken-77") && !gw.raw().includes(USER_KEY), "the log holds no URL or key");
  } finally {
    await gw.close();
    await r.close();
  }
});

Deno.test("gateway relay: a revoked session's key, or its old generation, is refused", async () => {
  const r = receiver();
  const notify = { url: r.url, key: USER_KEY, on: [] };
  const gw = await startGateway({ providers: {}, revoked: [], notify });
  try {
    const oldKey = await sessionNotifyKey(USER_KEY, NS, "alpha", "gen-1");
    const oldTok = gw.token({ s: "alpha", ns: NS, n: "gen-1" });
    assertEquals(await forged(gw.url, oldKey, oldTok, event("alpha")), 200);
    // the same name started again: a new generation, a new token; the old key signs nothing for it
    const newTok = gw.token({ s: "alpha", ns: NS, n: "gen-2" });
    assertEquals(await forged(gw.url, oldKey, newTok, event("alpha")), 401);
    // a token that names no generation (a session started without a webhook) sends none
    assertEquals(await forged(gw.url, oldKey, gw.token({ s: "alpha", ns: NS }), event("alpha")), 403);
    // the session revoked (deleted): its token, and so its key, is refused
    await reload(gw, { providers: {}, revoked: ["alpha"], notify });
    assertEquals(await forged(gw.url, oldKey, oldTok, event("alpha")), 401);
    assertEquals(r.got.length, 1);
    // and a gateway without the user's webhook relays nothing
    await reload(gw, { providers: {}, revoked: [] });
    assertEquals(await forged(gw.url, oldKey, oldTok, event("alpha")), 404);
  } finally {
    await gw.close();
    await r.close();
  }
});
