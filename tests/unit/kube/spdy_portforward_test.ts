/**
 * The SPDY port-forward client against the test server's SPDY/3.1 server side (the same code kubectl's
 * plain-SPDY port-forward is proven against): headers the server's dictionary inflater reads, several
 * connections on one session, half-close in both directions, errors on the error stream, RST.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import { SpdyConnection, type SpdyStream } from "../../cluster/streams/spdy.ts";
import { FrameReader, SpdyPortForwardSession, SpdyUpgradeError } from "../../../src/kube/spdy_portforward.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** An HTTP server whose upgrades speak SPDY; each (error, data) pair is handled by `serve`. */
async function spdyServer(
  serve: (port: number, data: SpdyStream, error: SpdyStream) => void,
): Promise<{ url: string; headers: Map<string, string>[]; close(): Promise<void> }> {
  const headers: Map<string, string>[] = [];
  const upgraded = new Set<Duplex>();
  const srv = http.createServer((_req, res) => {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", code: 404, message: 'pods "x" not found' }));
  });
  srv.on("upgrade", (req, socket: Duplex) => {
    if (req.url?.includes("/pods/gone/")) {
      socket.end(
        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n" +
          JSON.stringify({ kind: "Status", code: 404, message: 'pods "gone" not found' }),
      );
      return;
    }
    upgraded.add(socket);
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
        "X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n",
    );
    const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
    const conn = new SpdyConnection((b) => socket.write(b), (s) => {
      headers.push(s.headers);
      const id = s.headers.get("requestid")!;
      const pair = pairs.get(id) ?? {};
      if (s.headers.get("streamtype") === "error") pair.error = s;
      else pair.data = s;
      pairs.set(id, pair);
      if (pair.error && pair.data) serve(Number(s.headers.get("port")), pair.data, pair.error);
    }, () => socket.end());
    socket.on("data", (b: Buffer) => conn.feed(b));
    socket.on("error", () => {});
    socket.on("close", () => conn.close());
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/api/v1/namespaces/prod/pods/api-1/portforward`,
    headers,
    close: () =>
      new Promise<void>((r) => {
        for (const u of upgraded) u.destroy();
        srv.close(() => r());
      }),
  };
}

function readAll(d: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    d.on("data", (c: Buffer) => s += c.toString());
    d.on("end", () => resolve(s));
    d.on("error", reject);
  });
}

Deno.test(
  "SPDY port-forward: streams per connection on one session, half-close both ways",
  opts,
  async () => {
    const seen: string[] = [];
    const server = await spdyServer((port, data, error) => {
      if (port === 9) {
        error.write(Buffer.from("dial tcp4 10.0.0.1:9: connect: connection refused"));
        error.end();
        data.reset();
        return;
      }
      let got = "";
      data.onData = (b) => (got += b.toString());
      // the client's half-close arrives as FIN: answer, then close our side
      data.onFin = () => {
        seen.push(got);
        data.write(Buffer.from(`${port}:${got.toUpperCase()}`));
        data.end();
        error.end();
      };
    });
    const s = await SpdyPortForwardSession.open(server.url, {}, (m) => new Error(`stream: ${m}`));
    try {
      const a = s.dial(8080);
      const b = s.dial(9090);
      const ra = readAll(a), rb = readAll(b);
      a.end("hello");
      b.end("world");
      assertEquals(await ra, "8080:HELLO");
      assertEquals(await rb, "9090:WORLD");
      assertEquals(seen.sort(), ["hello", "world"]);
      // headers as kubectl sends them, read by a dictionary inflater: an error then a data stream per request
      assertEquals(
        server.headers.map((h) => [h.get("streamtype"), h.get("port"), h.get("requestid")]),
        [["error", "8080", "0"], ["data", "8080", "0"], ["error", "9090", "1"], ["data", "9090", "1"]],
      );
      // the server's error for one connection destroys that connection only
      const c = s.dial(9);
      const err = await readAll(c).then(() => undefined, (e) => e as Error);
      assertEquals(err?.message, "stream: dial tcp4 10.0.0.1:9: connect: connection refused");
      assert(s.usable);
      const d = s.dial(8080);
      const rd = readAll(d);
      d.end("again");
      assertEquals(await rd, "8080:AGAIN");
    } finally {
      s.close();
      await server.close();
    }
  },
);

Deno.test("SPDY port-forward: a refused upgrade carries the server's status and body", opts, async () => {
  const server = await spdyServer(() => {});
  try {
    const e = await SpdyPortForwardSession.open(server.url.replace("api-1", "gone"), {}, (m) => new Error(m))
      .then(() => undefined, (x) => x);
    assert(e instanceof SpdyUpgradeError, String(e));
    assertEquals(e.statusCode, 404);
    assertEquals(JSON.parse(e.body).message, 'pods "gone" not found');
  } finally {
    await server.close();
  }
});

Deno.test("FrameReader: frames split across chunks and several in one", () => {
  const data = (id: number, flags: number, s: string) => {
    const b = Buffer.alloc(8 + s.length);
    b.writeUInt32BE(id, 0);
    b.writeUInt32BE((flags << 24) | s.length, 4);
    b.write(s, 8);
    return b;
  };
  const all = Buffer.concat([data(1, 0, "abc"), data(3, 1, "defgh")]);
  const r = new FrameReader();
  const got = [...r.push(all.subarray(0, 5)), ...r.push(all.subarray(5, 13)), ...r.push(all.subarray(13))];
  assertEquals(
    got.map((f) => (f.control ? "ctl" : `${f.streamId}:${f.flags}:${f.data.toString()}`)),
    ["1:0:abc", "3:1:defgh"],
  );
});
