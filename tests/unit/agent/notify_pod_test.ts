/**
 * The pod's webhook program (src/agent/pod/notify.js, after outcome.js: agent.ts's NOTIFY_JS), run by the
 * real Node against a local stand-in for the gateway's relay: the body a run's end makes, the HMAC
 * signature over `TIMESTAMP.BODY` under the session's own key (what the relay checks), the session's token
 * sent with it, notify.on's events, a stopped run said nothing of, one retry after a 5xx and no more.
 * (The real relay: tests/agents/gateway_notify_test.ts.)
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { NOTIFY_JS } from "../../../src/agent/runs/agent.ts";

const KEY = "k".repeat(64);
const line = (o: unknown) => JSON.stringify(o);
const CLAUDE_ASKS = [
  line({ type: "system", subtype: "init", model: "m", session_id: "s" }),
  line({
    type: "assistant",
    message: { id: "a", model: "m", content: [{ type: "text", text: "Shall I <also> fix B?" }] },
  }),
  line({ type: "result", subtype: "success", is_error: false, result: "Shall I <also> fix B?" }),
].join("\n");

interface Got {
  body: string;
  ts: string | null;
  sig: string | null;
  auth: string | null;
}

/** A receiver answering `statuses` in turn (then 200), and what it got. */
function receiver(statuses: number[] = []) {
  const got: Got[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    got.push({
      body: await req.text(),
      ts: req.headers.get("x-kodama-timestamp"),
      sig: req.headers.get("x-kodama-signature"),
      auth: req.headers.get("authorization"),
    });
    return new Response("ok", { status: statuses.shift() ?? 200 });
  });
  return { got, url: `http://127.0.0.1:${server.addr.port}/hook?token=abc`, close: () => server.shutdown() };
}

async function runDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-notify-run-" });
  const run = `${dir}/7`;
  await Deno.mkdir(run);
  for (const [k, v] of Object.entries(files)) await Deno.writeTextFile(`${run}/${k}`, v);
  return run;
}

async function notify(run: string, url: string, on = "") {
  const out = await new Deno.Command("node", {
    args: ["-e", NOTIFY_JS, run],
    env: {
      KODAMA_NOTIFY_RELAY: url,
      KODAMA_NOTIFY_KEY: KEY,
      KODAMA_NOTIFY_TOKEN: "kgw1.session-token",
      KODAMA_NOTIFY_ON: on,
      KODAMA_SESSION: "my-work",
      KODAMA_GROUP: "",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** What the relay does (as a receiver does, docs/agents.md): HMAC-SHA256 of `TIMESTAMP.BODY`, compared. */
async function verify(g: Got): Promise<boolean> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(KEY),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(`${g.ts}.${g.body}`)),
  );
  return g.sig === `sha256=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

Deno.test("notify.js: a run whose last words ask is needs-input, signed over timestamp and body", async () => {
  const r = receiver();
  try {
    const run = await runDir({ log: CLAUDE_ASKS, exit: "0\n", "stop-seen": "0\n", git: "1 2\n" });
    assertEquals(await notify(run, r.url), "sent 200");
    assertEquals(r.got.length, 1);
    const g = r.got[0];
    assert(await verify(g), "the signature checks out");
    assertEquals(g.auth, "Bearer kgw1.session-token");
    assert(Math.abs(Number(g.ts) - Date.now() / 1000) < 60);
    // another body under the same signature does not
    assert(!(await verify({ ...g, body: g.body.replace("my-work", "other") })));
    assertEquals(JSON.parse(g.body), {
      event: "needs-input",
      session: "my-work",
      group: null,
      run: "7",
      outcome: "succeeded",
      reason: "question",
      filesChanged: 2,
      commits: 1,
      text: "kodama: my-work run 7 needs input: it asks you something (succeeded; 2 files, 1 commit)",
    });
  } finally {
    await r.close();
  }
});

Deno.test("notify.js: a failed run is `failed` with its class; notify.on leaves events out; a stop is not told", async () => {
  const r = receiver();
  try {
    const failed = await runDir({
      log: line({
        type: "result",
        subtype: "success",
        is_error: true,
        api_error_status: 401,
        result: "Invalid API key · Please run /login",
      }),
      exit: "1\n",
      "stop-seen": "0\n",
    });
    assertEquals(await notify(failed, r.url), "sent 200");
    const b = JSON.parse(r.got[0].body);
    assertEquals([b.event, b.outcome], ["failed", "failed: invalid API key"]);
    assertMatch(b.reason, /Invalid API key/);
    assertEquals(await notify(failed, r.url, "done,needs-input"), "skipped: failed is not in notify.on");
    const stopped = await runDir({ log: "", exit: "143\n", "stop-seen": "1\n" });
    assertEquals(await notify(stopped, r.url), "skipped: the run was stopped");
    assertEquals(r.got.length, 1);
  } finally {
    await r.close();
  }
});

Deno.test("notify.js: one retry after a 5xx, then it gives up (no storm)", async () => {
  const r = receiver([503, 503, 503]);
  try {
    const run = await runDir({ log: "agent: done\n", exit: "0\n", "stop-seen": "0\n", git: "0 0\n" });
    assertEquals(await notify(run, r.url), "failed: HTTP 503");
    assertEquals(r.got.length, 2);
    assertEquals(JSON.parse(r.got[1].body).event, "done");
  } finally {
    await r.close();
  }
});

Deno.test("notify.js: without a relay, its key or its token it sends nothing", async () => {
  const r = receiver();
  try {
    const run = await runDir({ log: "agent: done\n", exit: "0\n", "stop-seen": "0\n" });
    for (const drop of ["KODAMA_NOTIFY_RELAY", "KODAMA_NOTIFY_KEY", "KODAMA_NOTIFY_TOKEN"]) {
      const env: Record<string, string> = {
        KODAMA_NOTIFY_RELAY: r.url,
        KODAMA_NOTIFY_KEY: KEY,
        KODAMA_NOTIFY_TOKEN: "t",
        KODAMA_SESSION: "my-work",
      };
      delete env[drop];
      const out = await new Deno.Command("node", { args: ["-e", NOTIFY_JS, run], env, clearEnv: true })
        .output();
      assertEquals(new TextDecoder().decode(out.stdout).trim(), "skipped: no relay", drop);
    }
    assertEquals(r.got.length, 0);
  } finally {
    await r.close();
  }
});
