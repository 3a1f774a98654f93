import { assert, assertEquals } from "@kodama/test-assert";
import zlib from "node:zlib";
import { Buffer } from "node:buffer";
import {
  controlFrame,
  dataFrame,
  encodeHeaderBlock,
  FLAG_FIN,
  type Frame,
  FrameParser,
  HeaderCompressor,
  parseHeaderBlock,
  PING,
  SPDY3_DICTIONARY,
  SpdyConnection,
  type SpdyStream,
  SYN_REPLY,
  SYN_STREAM,
} from "../../cluster/streams/spdy.ts";
import { waitUntil } from "../../cluster/harness.ts";

/** A peer-side compressor like Go's: one zlib stream with the dictionary, sync-flushed per block. */
function peerCompressor() {
  const d = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  const out: Buffer[] = [];
  d.on("data", (c: Buffer) => out.push(c));
  return (block: Buffer) =>
    new Promise<Buffer>((resolve) => {
      d.write(block);
      d.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(out.splice(0))));
    });
}

function synStream(id: number, compressed: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(id, 0);
  return controlFrame(SYN_STREAM, flags, Buffer.concat([head, compressed]));
}

Deno.test("spdy: the SPDY/3 dictionary has its published size and checksum", () => {
  assertEquals(SPDY3_DICTIONARY.length, 1423);
  // peers check the dictionary's Adler-32 (the zlib dictionary id); this is the well-known SPDY/3 one
  let a = 1, b = 0;
  for (const x of SPDY3_DICTIONARY) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  assertEquals(((b << 16 | a) >>> 0).toString(16), "e3c6a7c2");
});

Deno.test("spdy: frame parser splits frames across arbitrary chunk boundaries", () => {
  const bytes = Buffer.concat([
    dataFrame(1, FLAG_FIN, Buffer.from("hello")),
    controlFrame(PING, 0, Buffer.from([0, 0, 0, 1])),
  ]);
  const p = new FrameParser();
  const frames: Frame[] = [];
  for (const b of bytes) frames.push(...p.push(Buffer.from([b])));
  assertEquals(frames.length, 2);
  assertEquals(frames[0], { control: false, streamId: 1, flags: FLAG_FIN, data: Buffer.from("hello") });
  assertEquals(frames[1].control && frames[1].type, PING);
});

Deno.test("spdy: our stored-block header stream inflates with a standard zlib inflater", () => {
  const c = new HeaderCompressor();
  const blocks = [encodeHeaderBlock([]), encodeHeaderBlock([["Port", "8080"], ["streamtype", "data"]])];
  const stream = Buffer.concat(blocks.map((b) => c.compress(b)));
  const plain = zlib.inflateSync(stream, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assertEquals(plain, Buffer.concat(blocks));
  const h = parseHeaderBlock(blocks[1]);
  assertEquals([...h], [["port", "8080"], ["streamtype", "data"]]);
});

Deno.test("spdy: a connection replies to SYN_STREAMs, delivers data, echoes pings", async () => {
  const sent: Buffer[] = [];
  const streams: SpdyStream[] = [];
  const got: string[] = [];
  const conn = new SpdyConnection((b) => sent.push(b), (s) => {
    streams.push(s);
    s.onData = (d) => got.push(d.toString());
    s.onFin = () => got.push("<fin>");
  }, () => {});
  const compress = peerCompressor();
  conn.feed(
    synStream(
      1,
      await compress(encodeHeaderBlock([["streamtype", "error"], ["port", "80"], ["requestid", "0"]])),
    ),
  );
  conn.feed(
    synStream(
      3,
      await compress(encodeHeaderBlock([["streamtype", "data"], ["port", "80"], ["requestid", "0"]])),
    ),
  );
  conn.feed(Buffer.concat([dataFrame(3, 0, Buffer.from("GET /")), dataFrame(3, FLAG_FIN, Buffer.alloc(0))]));
  conn.feed(controlFrame(PING, 0, Buffer.from([0, 0, 0, 7])));
  // frames are handled in order (header blocks inflate asynchronously): once the ping, fed last, is
  // echoed, everything before it has been handled
  const pingEchoed = () =>
    new FrameParser().push(Buffer.concat(sent)).some((f) =>
      f.control && f.type === PING && f.data.readUInt32BE(0) === 7
    );
  await waitUntil(pingEchoed, 10_000, "the ping's echo");
  assertEquals(streams.map((s) => [s.id, s.headers.get("streamtype")]), [[1, "error"], [3, "data"]]);
  assertEquals(got, ["GET /", "<fin>"]);
  const frames = new FrameParser().push(Buffer.concat(sent));
  const replies = frames.filter((f) => f.control && f.type === SYN_REPLY);
  assertEquals(replies.map((f) => f.data.readUInt32BE(0)), [1, 3]);
  // the reply header blocks form one valid zlib stream
  const hdrs = Buffer.concat(replies.map((f) => f.data.subarray(4)));
  assertEquals(zlib.inflateSync(hdrs, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).length, 8);
  assert(frames.some((f) => f.control && f.type === PING && f.data.readUInt32BE(0) === 7), "ping echoed");
  streams[1].write(Buffer.from("HTTP/1.1 200 OK"));
  streams[1].end();
  const out = new FrameParser().push(Buffer.concat(sent)).filter((f) => !f.control);
  assertEquals(out.map((f) => [f.data.toString(), f.flags]), [["HTTP/1.1 200 OK", 0], ["", FLAG_FIN]]);
  conn.close();
});
