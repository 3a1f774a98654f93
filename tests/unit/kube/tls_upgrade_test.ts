import { assert, assertEquals, assertRejects, assertThrows } from "@kodama/test-assert";
import {
  dechunk,
  nativeSpdyUpgrade,
  parseAnswerHead,
  SpdyUpgradeError,
  upgradeRequest,
} from "../../../src/kube/tls_upgrade.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("spdy native: the upgrade request names every protocol and the caller's headers", () => {
  const req = dec(
    upgradeRequest(new URL("https://h:6443/api/v1/x/exec?command=a&stdin=true"), {
      Authorization: "Bearer t",
    }, [
      "v4.channel.k8s.io",
      "channel.k8s.io",
    ]),
  );
  assert(req.startsWith("POST /api/v1/x/exec?command=a&stdin=true HTTP/1.1\r\nHost: h:6443\r\n"), req);
  assert(req.includes("Authorization: Bearer t\r\n"));
  assert(req.includes("Upgrade: SPDY/3.1\r\n"));
  assert(
    req.includes(
      "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: channel.k8s.io\r\n",
    ),
  );
  assert(req.endsWith("\r\n\r\n"));
});

Deno.test("spdy native: a header value or name that would end its line is refused, not sent", () => {
  const u = new URL("https://h/x");
  for (
    const h of <Record<string, string>[]> [
      { Authorization: "Bearer t\r\nImpersonate-User: admin" },
      { Authorization: "Bearer t\nImpersonate-User: admin" },
      { "X-A\r\nImpersonate-User": "admin" },
      { "Bad Name": "v" },
    ]
  ) {
    assertThrows(() => upgradeRequest(u, h, ["v4.channel.k8s.io"]), "invalid header");
  }
  // the upgrade's own headers cannot be overridden by the caller's
  const req = dec(upgradeRequest(u, { upgrade: "websocket", Host: "evil" }, ["v4.channel.k8s.io"]));
  assert(!req.includes("websocket") && !req.includes("evil"), req);
});

Deno.test("spdy native: the answer head is parsed once complete; a chunked body is read as its text", () => {
  assertEquals(parseAnswerHead(enc("HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\n")), undefined);
  const a = parseAnswerHead(
    enc(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\nREST",
    ),
  )!;
  assertEquals(a.status, 101);
  assertEquals(a.headers.get("x-stream-protocol-version"), "v4.channel.k8s.io");
  assertEquals(a.bodyAt, a.bodyAt);
  assert(assertThrows(() => parseAnswerHead(enc("SSH-2.0-x\r\n\r\n"))) instanceof SpdyUpgradeError);
  assertEquals(dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "hello world");
});

/** A local server that answers the upgrade with `answer` and then writes `after`. */
function serve(answer: string, after = new Uint8Array()) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const c = await l.accept();
    const buf = new Uint8Array(4096);
    let got = "";
    while (!got.includes("\r\n\r\n")) {
      const n = await c.read(buf);
      if (n === null) break;
      got += dec(buf.subarray(0, n));
    }
    await c.write(enc(answer));
    if (after.length) await c.write(after);
    return { c, got };
  })();
  return { url: `http://127.0.0.1:${(l.addr as Deno.NetAddr).port}/exec?x=1`, done, close: () => l.close() };
}

Deno.test("spdy native: a refusal is its status and body (chunked), as node:https reports it", async () => {
  const s = serve(
    'HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"kind":"Status"\r\n1\r\n}\r\n0\r\n\r\n',
  );
  try {
    const e = await assertRejects(() => nativeSpdyUpgrade(s.url, {}, {}, ["v4.channel.k8s.io"]));
    if (!(e instanceof SpdyUpgradeError)) throw e;
    assertEquals(e.statusCode, 403);
    assertEquals(e.body, '{"kind":"Status"}');
  } finally {
    (await s.done).c.close();
    s.close();
  }
});

Deno.test("spdy native: after 101, the bytes that came with it and those after reach the socket's reader", async () => {
  const s = serve(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\nAB",
    enc("CD"),
  );
  try {
    const up = await nativeSpdyUpgrade(s.url, {}, { Authorization: "Bearer t" }, ["v4.channel.k8s.io"]);
    assertEquals(up.protocol, "v4.channel.k8s.io");
    let seen = dec(up.head);
    const closed = Promise.withResolvers<void>();
    up.socket.on("data", (d: Uint8Array) => (seen += dec(d)));
    up.socket.on("close", () => closed.resolve());
    const { c, got } = await s.done;
    assert(got.includes("Authorization: Bearer t\r\n"));
    // a write reaches the server, in order, and its callback runs once it is handed over
    const wrote = Promise.withResolvers<void>();
    up.socket.write(enc("xy"), () => wrote.resolve());
    up.socket.write(enc("z"));
    await wrote.promise;
    const buf = new Uint8Array(16);
    let back = "";
    while (back.length < 3) back += dec(buf.subarray(0, (await c.read(buf))!));
    assertEquals(back, "xyz");
    c.close();
    await closed.promise;
    assertEquals(seen, "ABCD");
    assertEquals(up.socket.destroyed, true);
  } finally {
    s.close();
  }
});

Deno.test("spdy native: a server that never answers the upgrade fails with the limit's error", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of l) held.push(c);
  })();
  try {
    const url = `http://127.0.0.1:${(l.addr as Deno.NetAddr).port}/exec`;
    await assertRejects(
      () =>
        nativeSpdyUpgrade(url, {}, {}, ["v4.channel.k8s.io"], undefined, {
          ms: 200,
          error: () => new Error("took too long"),
        }),
      "took too long",
    );
    const ac = new AbortController();
    const p = nativeSpdyUpgrade(url, {}, {}, ["v4.channel.k8s.io"], ac.signal);
    ac.abort();
    await assertRejects(() => p, "cancelled");
  } finally {
    l.close();
    for (const c of held) c.close();
    await accepting.catch(() => {});
  }
});
