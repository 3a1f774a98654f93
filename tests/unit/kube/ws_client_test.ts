/**
 * kodama's own WebSocket client (src/kube/ws_client.ts) against a raw server that checks every byte it gets
 * (handshake, masking, frames), and against npm:ws's server, a real implementation.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { WebSocketServer } from "ws";
import { acceptKey, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG } from "../../../src/kube/ws_frames.ts";
import {
  openWsClient,
  type WsClient,
  type WsHandlers,
  WsHandshakeError,
} from "../../../src/kube/ws_client.ts";
import { serverFrame } from "./_ws.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

interface ClientFrame {
  fin: boolean;
  op: number;
  masked: boolean;
  payload: Uint8Array;
}

/** The server's side of one connection: the request's head, then the client's frames, unmasked. */
class Peer {
  private buf = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  private async more(): Promise<boolean> {
    const b = new Uint8Array(256 * 1024);
    const n = await this.conn.read(b).catch(() => null);
    if (n === null) return false;
    const next = new Uint8Array(this.buf.length + n);
    next.set(this.buf);
    next.set(b.subarray(0, n), this.buf.length);
    this.buf = next;
    return true;
  }

  async head(): Promise<{ line: string; headers: Map<string, string[]> }> {
    let end;
    while ((end = dec(this.buf).indexOf("\r\n\r\n")) < 0) {
      if (!(await this.more())) throw new Error("no head");
    }
    const [line, ...rest] = dec(this.buf.subarray(0, end)).split("\r\n");
    this.buf = this.buf.slice(end + 4);
    const headers = new Map<string, string[]>();
    for (const l of rest) {
      const c = l.indexOf(":");
      const k = l.slice(0, c).toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), l.slice(c + 1).trim()]);
    }
    return { line, headers };
  }

  /** The next client frame, or undefined at the connection's end. */
  async frame(): Promise<ClientFrame | undefined> {
    while (true) {
      const b = this.buf;
      if (b.length >= 2) {
        const l7 = b[1] & 0x7f;
        const hl = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0);
        const masked = (b[1] & 0x80) !== 0;
        if (b.length >= hl + 4) {
          const n = l7 < 126
            ? l7
            : l7 === 126
            ? (b[2] << 8) | b[3]
            : (((b[6] << 24) | (b[7] << 16) | (b[8] << 8) | b[9]) >>> 0);
          const at = hl + (masked ? 4 : 0);
          if (b.length >= at + n) {
            const key = b.slice(hl, hl + 4);
            const payload = b.slice(at, at + n).map((x, i) => masked ? x ^ key[i & 3] : x);
            this.buf = b.slice(at + n);
            return { fin: (b[0] & 0x80) !== 0, op: b[0] & 0x0f, masked, payload };
          }
        }
      }
      if (!(await this.more())) return undefined;
    }
  }

  write(b: Uint8Array) {
    return this.conn.write(b);
  }
}

/** A server on a free port: `answer` gets each connection's request head and answers it. */
function server(answer: (p: Peer, head: { line: string; headers: Map<string, string[]> }) => Promise<void>) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peers: Peer[] = [];
  const done = (async () => {
    const c = await l.accept();
    const p = new Peer(c);
    peers.push(p);
    await answer(p, await p.head());
    return p;
  })();
  return {
    url: `ws://127.0.0.1:${(l.addr as Deno.NetAddr).port}/api/v1/namespaces/n/pods/p/exec?command=x`,
    done,
    close() {
      l.close();
      for (const p of peers) {
        try {
          p.conn.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** A 101 answer to the request's key, with `protocol` (omitted when undefined). */
async function switching(h: Map<string, string[]>, protocol?: string, extra = ""): Promise<string> {
  const accept = await acceptKey(h.get("sec-websocket-key")![0]);
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${accept}\r\n` + (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : "") +
    extra + "\r\n";
}

/** Handlers that record what they get. */
function recorder() {
  const got = { messages: [] as number[][], errors: [] as string[], closed: Promise.withResolvers<void>() };
  const h: WsHandlers = {
    message: (d) => got.messages.push(Array.from(d)),
    error: (m) => got.errors.push(m),
    close: () => got.closed.resolve(),
  };
  return { got, h };
}

Deno.test("ws client: the upgrade is a WebSocket GET with the key, version, protocols and the caller's headers", async () => {
  const s = server(async (p, { line, headers }) => {
    assertEquals(line, "GET /api/v1/namespaces/n/pods/p/exec?command=x HTTP/1.1");
    assertEquals(headers.get("upgrade"), ["websocket"]);
    assertEquals(headers.get("connection"), ["Upgrade"]);
    assertEquals(headers.get("sec-websocket-version"), ["13"]);
    assertEquals(atob(headers.get("sec-websocket-key")![0]).length, 16);
    assertEquals(headers.get("sec-websocket-protocol"), ["v5.channel.k8s.io, v4.channel.k8s.io"]);
    assertEquals(headers.get("authorization"), ["Bearer t"]);
    assertEquals(headers.get("host"), [new URL(s.url).host]);
    await p.write(enc(await switching(headers, "v4.channel.k8s.io")));
  });
  const { h } = recorder();
  try {
    const c = await openWsClient(s.url, {}, { Authorization: "Bearer t" }, PROTOCOLS, h);
    assertEquals(c.protocol, "v4.channel.k8s.io");
    c.terminate();
    await s.done;
  } finally {
    s.close();
  }
});

Deno.test("ws client: a handshake that is not a valid answer to ours is refused", async () => {
  const cases: [string, (h: Map<string, string[]>) => Promise<string>, string][] = [
    [
      "a wrong accept",
      async (h) => (await switching(h, PROTOCOLS[0])).replace(/Accept: \S+/, "Accept: AAAA"),
      "Accept",
    ],
    ["a protocol not offered", (h) => switching(h, "v3.channel.k8s.io"), "not offered"],
    [
      "not websocket",
      async (h) => (await switching(h, PROTOCOLS[0])).replace("Upgrade: websocket", "Upgrade: h2c"),
      "Upgrade",
    ],
    [
      "an extension",
      (h) => switching(h, PROTOCOLS[0], "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
      "extension",
    ],
  ];
  for (const [what, answer, says] of cases) {
    const s = server(async (p, { headers }) => void (await p.write(enc(await answer(headers)))));
    try {
      const e = await assertRejects(() => openWsClient(s.url, {}, {}, PROTOCOLS, recorder().h));
      assert(e instanceof WsHandshakeError && e.statusCode === undefined, what);
      assertStringIncludes(e.message, says, what);
    } finally {
      s.close();
    }
  }
  // a refusal: the status and the body, for exec's error (a kubelet without v5: 403, no body)
  const s = server(async (p) => {
    const body = '{"kind":"Status","message":"forbidden"}';
    await p.write(enc(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
  });
  try {
    const e = await assertRejects(() => openWsClient(s.url, {}, {}, PROTOCOLS, recorder().h));
    assert(e instanceof WsHandshakeError);
    assertEquals([e.statusCode, e.body], [403, '{"kind":"Status","message":"forbidden"}']);
  } finally {
    s.close();
  }
});

Deno.test("ws client: frames that came with the 101 wait for start(); fragments joined; a ping gets its pong", async () => {
  let peer!: Peer;
  const s = server(async (p, { headers }) => {
    peer = p;
    // the answer and the first frames in one write, as a fast command's output may come
    const first = new Uint8Array([
      ...enc(await switching(headers, PROTOCOLS[0])),
      ...serverFrame(OP_BINARY, new Uint8Array([1, 104, 105])),
      ...serverFrame(OP_BINARY, new Uint8Array([2, 7]), { fin: false }),
      ...serverFrame(OP_PING, new Uint8Array([5, 6, 7])),
      ...serverFrame(OP_CONT, new Uint8Array([8, 9])),
    ]);
    await p.write(first);
  });
  const { got, h } = recorder();
  try {
    const c = await openWsClient(s.url, {}, {}, PROTOCOLS, h);
    await s.done;
    assertEquals(got.messages, [], "nothing before start()");
    c.start();
    assertEquals(got.messages, [[1, 104, 105], [2, 7, 8, 9]]);
    const pong = await peer.frame();
    assertEquals(pong?.op, OP_PONG);
    assert(pong?.masked, "every client frame is masked");
    assertEquals(Array.from(pong!.payload), [5, 6, 7]);
    // the server's close: answered with the same code, then the connection ends
    await peer.write(serverFrame(OP_CLOSE, new Uint8Array([0x03, 0xe9])));
    const close = await peer.frame();
    assertEquals([close?.op, ...close!.payload], [OP_CLOSE, 0x03, 0xe9]);
    await got.closed.promise;
    assertEquals(await peer.frame(), undefined);
    assertEquals(got.errors, []);
    assertEquals(c.isOpen(), false);
  } finally {
    s.close();
  }
});

/** A reader over `data` that hands out at most `step` bytes a read (a pipe's short reads). */
function reader(data: Uint8Array, step: number) {
  let at = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (at >= data.length) return Promise.resolve(null);
      const n = Math.min(step, p.length, data.length - at);
      p.set(data.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

/** Gather the client's binary frames until `bytes` stdin bytes came; checks each is masked, channel 0. */
/** A client opened against a server that answers the upgrade and then leaves the wire to `fn` (closed after). */
async function withOpened(
  fn: (o: { peer: Peer; c: WsClient; got: ReturnType<typeof recorder>["got"] }) => Promise<void>,
): Promise<void> {
  let peer!: Peer;
  const s = server(async (p, { headers }) => {
    peer = p;
    await p.write(enc(await switching(headers, PROTOCOLS[0])));
  });
  const { got, h } = recorder();
  try {
    const c = await openWsClient(s.url, {}, {}, PROTOCOLS, h);
    await s.done;
    c.start();
    await fn({ peer, c, got });
  } finally {
    s.close();
  }
}

async function stdinFrames(peer: Peer, bytes: number): Promise<{ data: Uint8Array; sizes: number[] }> {
  const data = new Uint8Array(bytes);
  const sizes: number[] = [];
  let at = 0;
  while (at < bytes) {
    const f = await peer.frame();
    if (!f) throw new Error(`the connection ended after ${at} bytes`);
    assert(f.masked && f.fin && f.op === OP_BINARY, `frame ${sizes.length}`);
    assertEquals(f.payload[0], 0, "the stdin channel");
    data.set(f.payload.subarray(1), at);
    at += f.payload.length - 1;
    sizes.push(f.payload.length - 1);
  }
  return { data, sizes };
}

Deno.test("ws client: stdin read into the frames arrives whole, masked, in frames of at most 4 MiB", async () => {
  await withOpened(async ({ peer, c, got }) => {
    const input = Uint8Array.from({ length: 9 * 1024 * 1024 + 13 }, (_, i) => (i * 7 + (i >> 12)) & 0xff);
    // a file's reads fill the frame; a pipe's are short
    const [whole, sent] = await Promise.all([
      stdinFrames(peer, input.length),
      c.pumpReader(reader(input, 1 << 30)),
    ]);
    assertEquals(sent, true);
    assertEquals(whole.sizes, [4 * 1024 * 1024, 4 * 1024 * 1024, 1024 * 1024 + 13]);
    assert(whole.data.every((b, i) => b === input[i]), "the bytes the server got are the input");
    const [short] = await Promise.all([
      stdinFrames(peer, 100_000),
      c.pumpReader(reader(input.subarray(0, 100_000), 30_000)),
    ]);
    assertEquals(short.sizes, [30_000, 30_000, 30_000, 10_000]);
    assert(short.data.every((b, i) => b === input[i]));
    // sendStdin copies (the caller's buffer may be rewritten at once); small messages go as they are
    const chunk = input.slice(0, 5 * 1024 * 1024);
    c.sendStdin(chunk);
    chunk.fill(0);
    const copied = await stdinFrames(peer, 5 * 1024 * 1024);
    assertEquals(copied.sizes, [4 * 1024 * 1024, 1024 * 1024]);
    assert(copied.data.every((b, i) => b === input[i]));
    c.send(new Uint8Array([255, 0]));
    const end = await peer.frame();
    assertEquals([end?.op, ...end!.payload], [OP_BINARY, 255, 0]);
    // our close: code 1000; the connection ends when the server answers
    c.terminate();
    assertEquals(c.isOpen(), false);
    const close = await peer.frame();
    assertEquals([close?.op, ...close!.payload], [OP_CLOSE, 0x03, 0xe8]);
    await peer.write(serverFrame(OP_CLOSE, new Uint8Array([0x03, 0xe8])));
    await got.closed.promise;
    assertEquals(got.errors, []);
  });
});

Deno.test("ws client: a masked server frame is a protocol error: reported, closed with 1002", async () => {
  await withOpened(async ({ peer, got }) => {
    await peer.write(serverFrame(OP_BINARY, new Uint8Array([1, 2]), { key: new Uint8Array([1, 2, 3, 4]) }));
    const close = await peer.frame();
    assertEquals([close?.op, ...close!.payload], [OP_CLOSE, 0x03, 0xea]);
    await got.closed.promise;
    assertEquals(got.messages, []);
    assertStringIncludes(got.errors.join(), "masked");
  });
});

Deno.test("ws client: a server that drops the connection mid-stream ends it; the stdin pump stops", async () => {
  await withOpened(async ({ peer, c, got }) => {
    // a stdin that never ends, read slowly
    const endless = { read: (p: Uint8Array) => Promise.resolve(p.length > 1000 ? 1000 : p.length) };
    const pumping = c.pumpReader(endless);
    await peer.frame();
    peer.conn.close();
    assertEquals(await pumping, false);
    await got.closed.promise;
    assertEquals(c.isOpen(), false);
  });
});

Deno.test("ws client: npm:ws's server takes our handshake and frames; its fragments and pings come through", async () => {
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    handleProtocols: (ps: Set<string>) => [...ps][0],
  });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const port = (wss.address() as { port: number }).port;
  const received: Uint8Array[] = [];
  const pongs: number[][] = [];
  const serverClosed = Promise.withResolvers<number>();
  const allIn = Promise.withResolvers<void>();
  let total = 0;
  const input = Uint8Array.from({ length: 6 * 1024 * 1024 }, (_, i) => (i * 13) & 0xff);
  wss.on("connection", (ws) => {
    ws.on("pong", (d: Uint8Array) => pongs.push(Array.from(d)));
    ws.on("message", (d: Uint8Array) => {
      received.push(new Uint8Array(d));
      total += d.length - 1;
      if (total >= input.length) allIn.resolve();
    });
    ws.on("close", (code: number) => serverClosed.resolve(code));
    ws.ping(new Uint8Array([4, 2]));
    ws.send(new Uint8Array([1, 1]), { fin: false, binary: true });
    ws.send(new Uint8Array([2, 2]), { fin: true, binary: true });
  });
  const { got, h } = recorder();
  try {
    const c = await openWsClient(`ws://127.0.0.1:${port}/x`, {}, {}, PROTOCOLS, h);
    assertEquals(c.protocol, "v5.channel.k8s.io");
    c.start();
    assertEquals(await c.pumpReader(reader(input, 1 << 30)), true);
    await allIn.promise;
    const joined = new Uint8Array(input.length);
    let at = 0;
    for (const m of received) {
      assertEquals(m[0], 0);
      joined.set(m.subarray(1), at);
      at += m.length - 1;
    }
    assert(joined.every((b, i) => b === input[i]), "npm:ws unmasked our frames to the input");
    assertEquals(pongs, [[4, 2]]);
    assertEquals(got.messages, [[1, 1, 2, 2]]);
    c.terminate();
    assertEquals(await serverClosed.promise, 1000);
    await got.closed.promise;
    assertEquals(got.errors, []);
  } finally {
    await new Promise((r) => wss.close(r));
  }
});

Deno.test("ws client: a server that never answers our close cannot hold the connection", async () => {
  await withOpened(async ({ peer, c, got }) => {
    c.terminate();
    const close = await peer.frame();
    assertEquals([close?.op, ...close!.payload], [OP_CLOSE, 0x03, 0xe8]);
    // no answer: the client closes the connection itself (CLOSE_WAIT_MS, 2 s), and says so
    assertEquals(await peer.frame(), undefined);
    await got.closed.promise;
    assertEquals(got.errors, []);
  });
});
