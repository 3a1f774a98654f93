import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "@kodama/test-assert";
import {
  dechunk,
  DENO_NET,
  dialTls,
  nativeSpdyUpgrade,
  type NativeTls,
  noDelayTls,
  parseAnswerHead,
  SpdyUpgradeError,
  type TlsNet,
  upgradeRequest,
} from "../../../src/kube/tls_upgrade.ts";
import { parseKubeConfig } from "../../../src/kube/config.ts";
import { wsTarget } from "../../../src/kube/exec.ts";
import { type Certs, generateCerts } from "../../cluster/certs.ts";
import { buildKubeconfig } from "../../cluster/kubeconfig.ts";

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

// --- the TLS dial: without Nagle where there is no client certificate, and verified the same either way ---

/** Two throw-away CAs, each with a server certificate for 127.0.0.1/localhost and a client `u`. */
const certs: Promise<{ a: Certs; b: Certs; dir: string }> = (async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-tls-dial-" });
  const [a, b] = await Promise.all([
    generateCerts(`${dir}/a`, { u: ["g"] }),
    generateCerts(`${dir}/b`, { u: ["g"] }),
  ]);
  return { a, b, dir };
})();

/**
 * A TLS server (certificates `c`) on `hostname` answering every upgrade with 101 and recording the requests
 * that reached it (none when the client refused its certificate).
 */
function tlsServe(c: Certs, hostname = "127.0.0.1") {
  const l = Deno.listenTls({ hostname, port: 0, cert: c.server.cert, key: c.server.key });
  const got: string[] = [];
  const held: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of l) {
      held.push(conn);
      (async () => {
        const buf = new Uint8Array(4096);
        let req = "";
        while (!req.includes("\r\n\r\n")) {
          const n = await conn.read(buf);
          if (n === null) return;
          req += dec(buf.subarray(0, n));
        }
        got.push(req);
        await conn.write(enc("HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\n\r\n"));
      })().catch(() => {}); // a refused handshake ends here
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    got,
    async close() {
      l.close();
      for (const c of held) c.close();
      await serving.catch(() => {});
    },
  };
}

/** Deno's own calls, each recorded as it is made (the dial under test runs over the real ones). */
function recordingNet(): { calls: string[]; net: TlsNet } {
  const calls: string[] = [];
  const net: TlsNet = {
    async connect(o) {
      calls.push(`connect ${o.hostname}`);
      const c = await DENO_NET.connect(o);
      const set = c.setNoDelay.bind(c);
      c.setNoDelay = (v) => {
        calls.push(`setNoDelay ${v}`);
        set(v);
      };
      return c;
    },
    startTls(c, o) {
      calls.push(`startTls ${o.hostname} ca=${o.caCerts?.length ?? 0}`);
      return DENO_NET.startTls(c, o);
    },
    connectTls(o) {
      calls.push(`connectTls ${o.hostname} ca=${o.caCerts?.length ?? 0} cert=${!!o.cert && !!o.key}`);
      return DENO_NET.connectTls(o);
    },
  };
  return { calls, net };
}

/** Write an upgrade over `c` and read the answer's first line. */
async function roundTrip(c: Deno.Conn): Promise<string> {
  await c.write(upgradeRequest(new URL("https://127.0.0.1/x"), {}, ["v4.channel.k8s.io"]));
  const buf = new Uint8Array(256);
  const n = await c.read(buf);
  return dec(buf.subarray(0, n ?? 0)).split("\r\n")[0];
}

Deno.test("tls dial: no client certificate: TCP_NODELAY set on the TCP connection before startTls", async () => {
  const { a } = await certs;
  const s = tlsServe(a);
  try {
    const { calls, net } = recordingNet();
    const held: Deno.Conn[] = [];
    const c = await dialTls("127.0.0.1", s.port, { ca: a.ca.cert }, (x) => held.push(x), net);
    try {
      assertEquals(calls, ["connect 127.0.0.1", "setNoDelay true", "startTls 127.0.0.1 ca=1"]);
      assertEquals(
        held.length,
        1,
        "the TCP connection is handed over before the handshake (a stop closes it)",
      );
      assertEquals(await roundTrip(c), "HTTP/1.1 101 Switching Protocols");
    } finally {
      c.close();
    }
  } finally {
    await s.close();
  }
});

Deno.test("tls dial: a client certificate: connectTls with it (startTls takes none)", async () => {
  const { a } = await certs;
  const s = tlsServe(a);
  try {
    const { calls, net } = recordingNet();
    const tls = { ca: a.ca.cert, cert: a.clients.u.cert, key: a.clients.u.key };
    const c = await dialTls("127.0.0.1", s.port, tls, undefined, net);
    try {
      assertEquals(calls, ["connectTls 127.0.0.1 ca=1 cert=true"]);
      assertEquals(await roundTrip(c), "HTTP/1.1 101 Switching Protocols");
    } finally {
      c.close();
    }
  } finally {
    await s.close();
  }
});

Deno.test("tls dial: a stop during the dial closes the TCP connection and ends the dial with its error", async () => {
  const { a } = await certs;
  const s = tlsServe(a);
  try {
    const { calls, net } = recordingNet();
    let tcp: Deno.Conn | undefined;
    const stop = (c: Deno.Conn) => {
      tcp = c;
      throw new Error("cancelled");
    };
    await assertRejects(() => dialTls("127.0.0.1", s.port, { ca: a.ca.cert }, stop, net), "cancelled");
    assertEquals(calls, ["connect 127.0.0.1"], "no handshake after a stop");
    const closed = await assertRejects(() => tcp!.write(enc("x")));
    assert(closed instanceof Deno.errors.BadResource, `the TCP connection is closed: ${closed}`);
  } finally {
    await s.close();
  }
});

Deno.test("tls dial: a token kubeconfig's material goes without Nagle; a client certificate's does not", async () => {
  const { a } = await certs;
  const server = "https://127.0.0.1:6443";
  const token = parseKubeConfig(buildKubeconfig(server, a, [{ name: "dev", token: "t0k3n" }]));
  const cert = parseKubeConfig(buildKubeconfig(server, a, [{ name: "u" }]));
  const t = (await wsTarget(token)).native!;
  assertEquals(t.headers.Authorization, "Bearer t0k3n");
  assertEquals(noDelayTls(t.tls), true);
  assertEquals(t.tls.ca, a.ca.cert, "the kubeconfig's CA is still the one trusted");
  const c = (await wsTarget(cert)).native!;
  assertEquals(noDelayTls(c.tls), false);
  assert(c.tls.cert && c.tls.key);
});

/** The ways a kubeconfig's material dials: a token's (startTls) and a client certificate's (connectTls). */
const WAYS: [string, (c: Certs, ca: string) => NativeTls][] = [
  ["token (startTls)", (_c, ca) => ({ ca })],
  ["client certificate (connectTls)", (c, ca) => ({ ca, cert: c.clients.u.cert, key: c.clients.u.key })],
];

for (const [way, material] of WAYS) {
  Deno.test(`tls dial, ${way}: the right CA and name upgrade; a wrong CA or name is refused before the request`, async () => {
    const { a, b } = await certs;
    const s = tlsServe(a);
    const other = tlsServe(a, "127.0.0.2"); // the same certificate, reached by a name it does not hold
    try {
      const up = await nativeSpdyUpgrade(`https://127.0.0.1:${s.port}/x`, material(a, a.ca.cert), {
        Authorization: "Bearer t",
      }, ["v4.channel.k8s.io"]);
      up.socket.destroy();
      assertEquals(s.got.length, 1, "the control: the right CA and name upgrade");
      const wrongCa = await assertRejects(() =>
        nativeSpdyUpgrade(`https://127.0.0.1:${s.port}/x`, material(a, b.ca.cert), {
          Authorization: "Bearer t",
        }, ["v4.channel.k8s.io"])
      );
      assertMatch((wrongCa as Error).message, /invalid peer certificate/);
      const wrongName = await assertRejects(() =>
        nativeSpdyUpgrade(`https://127.0.0.2:${other.port}/x`, material(a, a.ca.cert), {
          Authorization: "Bearer t",
        }, ["v4.channel.k8s.io"])
      );
      assertMatch((wrongName as Error).message, /not valid for name "127\.0\.0\.2"/);
      const noCa = await assertRejects(() =>
        nativeSpdyUpgrade(`https://127.0.0.1:${s.port}/x`, { ...material(a, ""), ca: undefined }, {
          Authorization: "Bearer t",
        }, ["v4.channel.k8s.io"])
      );
      assertMatch((noCa as Error).message, /UnknownIssuer/, "the system roots do not hold a test CA");
      assertEquals(
        s.got.length + other.got.length,
        1,
        "no refused handshake carried the request (its token)",
      );
    } finally {
      await s.close();
      await other.close();
    }
  });

  Deno.test(`tls dial, ${way}: a server that never does the handshake fails with the limit's error, or on abort`, async () => {
    const { a } = await certs;
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of l) held.push(c);
    })();
    try {
      const url = `https://127.0.0.1:${(l.addr as Deno.NetAddr).port}/exec`;
      await assertRejects(
        () =>
          nativeSpdyUpgrade(url, material(a, a.ca.cert), {}, ["v4.channel.k8s.io"], undefined, {
            ms: 200,
            error: () => new Error("took too long"),
          }),
        "took too long",
      );
      const ac = new AbortController();
      const p = nativeSpdyUpgrade(url, material(a, a.ca.cert), {}, ["v4.channel.k8s.io"], ac.signal);
      ac.abort();
      await assertRejects(() => p, "cancelled");
    } finally {
      l.close();
      for (const c of held) c.close();
      await accepting.catch(() => {});
    }
  });
}

Deno.test("tls dial: the certificates' directory goes away", async () => {
  await Deno.remove((await certs).dir, { recursive: true });
});
