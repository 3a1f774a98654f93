/**
 * The laptop as the webhook's relay (src/agent/notifyrelay.ts) against a loopback receiver: a session no
 * gateway relays for is told from here, signed with the user's key in the documented format, once per run;
 * a gateway's session, a session without a webhook, an event outside its notify.on, a --no-notify run are
 * not. And the session keys (notifykey.ts): one per session, namespace and generation, never the user's.
 */
import { assert, assertEquals, assertNotEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { markSent, relayFromLaptop } from "../../../src/agent/notifyrelay.ts";
import { notifyKey, sessionNotify, sessionNotifyKey, signature } from "../../../src/agent/notifykey.ts";
import type { NotifyEvent, RunEndNote } from "../../../src/agent/notify.ts";
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
