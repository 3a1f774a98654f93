/**
 * The laptop as the webhook's relay (src/agent/notify/notifyrelay.ts) against a loopback receiver: a session no
 * gateway relays for is told from here, signed with the user's key in the documented format, once per run;
 * a gateway's session, a session without a webhook, an event outside its notify.on, a --no-notify run are
 * not. And the session keys (notifykey.ts): one per session, namespace and generation, never the user's.
 */
import { assert, assertEquals, assertNotEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { lockEnv } from "../../_env_lock.ts";
import { markSent, relayFromLaptop, sendWebhook } from "../../../src/agent/notify/notifyrelay.ts";
import {
  notifyKey,
  sessionNotify,
  sessionNotifyKey,
  signature,
} from "../../../src/agent/notify/notifykey.ts";
import type { NotifyEvent, RunEndNote } from "../../../src/agent/notify/notify.ts";
import type { SessionSpec } from "../../../src/session/spec/spec.ts";

function receiver() {
  const got: { body: string; ts: string; sig: string; search: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    got.push({
      body: await req.text(),
      ts: req.headers.get("x-kodama-timestamp") ?? "",
      sig: req.headers.get("x-kodama-signature") ?? "",
      search: new URL(req.url).search,
    });
    return new Response("ok");
  });
  return { got, url: `http://127.0.0.1:${server.addr.port}/hook?token=t-31`, close: () => server.shutdown() };
}

const spec = (relay: "laptop" | "gateway", on: string[] = []) =>
  ({ v: 1, name: "my-work", namespace: "team", notify: { gen: "g1", relay, on } }) as unknown as SessionSpec;

const note: RunEndNote = {
  event: "failed",
  session: "my-work",
  run: "3",
  outcome: "failed",
  reason: "invalid <API> key",
  commits: 1,
};

Deno.test("laptop relay: a run's end goes to the webhook signed with the user's key, once", async () => {
  const home = await Deno.makeTempDir();
  const r = receiver();
  try {
    const notify = { webhook: r.url, on: ["done", "failed", "needs-input"] as NotifyEvent[], desktop: false };
    assertEquals(await relayFromLaptop(note, spec("laptop"), notify, home), "sent 200");
    assertEquals(r.got.length, 1);
    const g = r.got[0];
    // what a receiver checks (docs/agents.md): the user's key, HMAC-SHA256 of `TIMESTAMP.BODY`
    assertEquals(g.sig, await signature(await notifyKey(home), g.ts, g.body));
    assertEquals(g.search, "?token=t-31");
    assertEquals(JSON.parse(g.body), {
      event: "failed",
      session: "my-work",
      group: null,
      run: "3",
      outcome: "failed",
      reason: "invalid <API> key",
      filesChanged: null,
      commits: 1,
      text: "kodama: my-work run 3 failed: invalid &lt;API&gt; key (1 commit)",
      namespace: "team",
    });
    // seen again (agent wait, then agent logs -f): not sent twice
    assertEquals(await relayFromLaptop(note, spec("laptop"), notify, home), undefined);
    // a gateway's session (its pod sends through the gateway), none, an event outside the session's notify.on
    assertEquals(await relayFromLaptop({ ...note, run: "4" }, spec("gateway"), notify, home), undefined);
    assertEquals(await relayFromLaptop({ ...note, run: "5" }, undefined, notify, home), undefined);
    assertEquals(
      await relayFromLaptop({ ...note, run: "6" }, spec("laptop", ["done"]), notify, home),
      undefined,
    );
    // agent run --no-notify marked its run
    assert(await markSent("team", "my-work", "g1", "7", home));
    assertEquals(await relayFromLaptop({ ...note, run: "7" }, spec("laptop"), notify, home), undefined);
    assertEquals(r.got.length, 1);
    // the user's key stays in its file; the record of sent runs holds no key or URL
    const sent = await Deno.readTextFile(join(home, "notify-sent"));
    assert(!sent.includes("t-31") && !sent.includes(await notifyKey(home)));
  } finally {
    await r.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("session keys: one per namespace, session and generation; none is the user's; a spec holds no key", async () => {
  const user = "a".repeat(64);
  const k = await sessionNotifyKey(user, "team", "alpha", "g1");
  assertEquals(k, await sessionNotifyKey(user, "team", "alpha", "g1"));
  for (
    const other of [
      await sessionNotifyKey(user, "team", "beta", "g1"),
      await sessionNotifyKey(user, "prod", "alpha", "g1"),
      await sessionNotifyKey(user, "team", "alpha", "g2"),
      // the separator keeps `a` + `b\0c` apart from `a\0b` + `c`
      await sessionNotifyKey(user, "team\0alpha", "", "g1"),
      await sessionNotifyKey("b".repeat(64), "team", "alpha", "g1"),
    ]
  ) assertNotEquals(other, k);
  assertNotEquals(k, user);
  const n = sessionNotify({ webhook: "https://hooks.example/x?token=s", on: ["done"], desktop: true })!;
  assertEquals(n.relay, "laptop");
  assertEquals(n.on, ["done"]);
  assert(/^[0-9a-f]{32}$/.test(n.gen));
  assert(!JSON.stringify(n).includes("hooks.example"));
  assertEquals(sessionNotify({ webhook: "https://h/x", on: [], desktop: true }, false), undefined);
  assertEquals(sessionNotify({ on: [], desktop: true }), undefined);
});

/** docs/agents.md's receiver, "Checking a request", as the docs print it: its `key` and `verified`. */
async function docsReceiver(): Promise<{ key: string; verified: (...a: string[]) => boolean }> {
  const doc = await Deno.readTextFile(new URL("../../../docs/agents.md", import.meta.url));
  const from = doc.indexOf("**Checking a request.**");
  const m = /```js\n([\s\S]*?)```/.exec(doc.slice(from));
  assert(from >= 0 && m, "docs/agents.md has the receiver's code");
  const src = `${m[1]}\nexport { key, verified };\n`;
  return await import(`data:application/javascript;base64,${btoa(src)}`);
}

Deno.test("webhook: a delivered request verifies with docs/agents.md's receiver code, key file as the docs say", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-notify-docs-" });
  // HOME is this process's, shared with a shard's other files: held while set (tests/_env_lock.ts)
  const unlock = await lockEnv(["HOME"]);
  const got: { ts: string; sig: string; body: string }[] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    async (req) => {
      got.push({
        ts: req.headers.get("x-kodama-timestamp") ?? "",
        sig: req.headers.get("x-kodama-signature") ?? "",
        body: await req.text(),
      });
      return new Response("ok");
    },
  );
  try {
    // the key kodama made, in the file the docs name (~/.kodama/notify.key)
    const key = await notifyKey(join(tmp, ".kodama"));
    Deno.env.set("HOME", tmp);
    const docs = await docsReceiver();
    assertEquals(docs.key, key);
    const body = JSON.stringify({
      event: "run.ended",
      session: "my-work",
      text: "kodama: my-work run 1 succeeded",
    });
    const url = `http://127.0.0.1:${server.addr.port}/hook`;
    assertEquals(await sendWebhook(url, key, body), "sent 200");
    const [r] = got;
    assertEquals(r.body, body);
    assert(docs.verified(docs.key, r.ts, r.body, r.sig), "the docs' receiver refused a real delivery");
    // and it refuses what it must: another body, the key as the bytes the hex spells, the file with its newline
    assert(!docs.verified(docs.key, r.ts, r.body + " ", r.sig));
    const bytes = String.fromCharCode(...key.match(/../g)!.map((h) => parseInt(h, 16)));
    assert(!docs.verified(bytes, r.ts, r.body, r.sig));
    assert(!docs.verified(key + "\n", r.ts, r.body, r.sig));
  } finally {
    unlock();
    ac.abort();
    await server.finished;
    await Deno.remove(tmp, { recursive: true });
  }
});
