import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import {
  acceptKey,
  headerLength,
  OP_BINARY,
  OP_CLOSE,
  OP_CONT,
  OP_PING,
  OP_TEXT,
  writeHeader,
  type WsEvent,
  WsFrameReader,
  WsProtocolError,
} from "../../../src/kube/ws_frames.ts";
import { serverFrame } from "./_ws.ts";

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const data = (ev: WsEvent) => ("data" in ev ? Array.from(ev.data) : undefined);

Deno.test("ws frames: a client header has the right length form, FIN, the mask bit and the key last", () => {
  const key = new Uint8Array([1, 2, 3, 4]);
  for (const n of [0, 1, 125, 126, 65535, 65536, 4 * 1024 * 1024 + 1, 2 ** 32 + 5]) {
    const b = new Uint8Array(32);
    const at = writeHeader(b, 20, OP_BINARY, n, key);
    const h = b.subarray(at, 20);
    assertEquals(h.length, headerLength(n));
    assertEquals(h[0], 0x82);
    assert(h[1] & 0x80, "masked");
    const l7 = h[1] & 0x7f;
    const len = l7 < 126
      ? l7
      : l7 === 126
      ? (h[2] << 8) | h[3]
      : (((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0) * 2 ** 32 +
        (((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0);
    assertEquals(len, n, `length ${n}`);
    assertEquals(l7, n < 126 ? n : n < 65536 ? 126 : 127);
    assertEquals(Array.from(h.subarray(h.length - 4)), [1, 2, 3, 4]);
  }
});

Deno.test("ws frames: the accept key is RFC 6455's example", async () => {
  assertEquals(await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("ws frames: messages come out whole, however the bytes are cut", () => {
  const big = bytes(70_000);
  const stream = new Uint8Array([
    ...serverFrame(OP_BINARY, bytes(5)),
    ...serverFrame(OP_BINARY, big),
    ...serverFrame(OP_BINARY, new Uint8Array()),
    ...serverFrame(OP_TEXT, new TextEncoder().encode("hi")),
    ...serverFrame(OP_BINARY, bytes(300, 7)),
  ]);
  const want = [bytes(5), big, new Uint8Array(), new TextEncoder().encode("hi"), bytes(300, 7)].map((b) =>
    Array.from(b)
  );
  for (const cut of [1, 2, 3, 7, 100, 4096, stream.length]) {
    const r = new WsFrameReader(1 << 20);
    const out: WsEvent[] = [];
    for (let at = 0; at < stream.length; at += cut) out.push(...r.push(stream.subarray(at, at + cut)));
    assertEquals(out.map((e) => e.kind), ["binary", "binary", "binary", "text", "binary"], `cut ${cut}`);
    assertEquals(out.map(data), want, `cut ${cut}`);
  }
});

Deno.test("ws frames: a fragmented message is joined, with a ping between its fragments", () => {
  const r = new WsFrameReader(1 << 20);
  const out = r.push(
    new Uint8Array([
      ...serverFrame(OP_BINARY, bytes(3, 1), { fin: false }),
      ...serverFrame(OP_PING, new Uint8Array([9, 9])),
      ...serverFrame(OP_CONT, bytes(4, 2), { fin: false }),
      ...serverFrame(OP_CONT, bytes(2, 3)),
      ...serverFrame(OP_CLOSE, new Uint8Array([0x03, 0xe8, 0x6f, 0x6b])),
    ]),
  );
  assertEquals(out.map((e) => e.kind), ["ping", "binary", "close"]);
  assertEquals(data(out[0]), [9, 9]);
  assertEquals(data(out[1]), [...bytes(3, 1), ...bytes(4, 2), ...bytes(2, 3)]);
  assertEquals(out[2], { kind: "close", code: 1000, reason: "ok" });
});

Deno.test("ws frames: what breaks the protocol is refused", () => {
  const bad: [string, Uint8Array[], string][] = [
    ["masked", [serverFrame(OP_BINARY, bytes(4), { key: new Uint8Array([1, 2, 3, 4]) })], "masked"],
    ["reserved bit", [serverFrame(OP_BINARY, bytes(4), { rsv: 0x40 })], "reserved"],
    ["unknown opcode", [serverFrame(3, bytes(4))], "opcode"],
    ["unknown control opcode", [serverFrame(11, bytes(1))], "opcode"],
    ["fragmented ping", [serverFrame(OP_PING, bytes(1), { fin: false })], "control"],
    ["long ping", [serverFrame(OP_PING, bytes(126))], "control"],
    ["continuation alone", [serverFrame(OP_CONT, bytes(1))], "continuation"],
    ["message in a message", [
      serverFrame(OP_BINARY, bytes(1), { fin: false }),
      serverFrame(OP_BINARY, bytes(1)),
    ], "inside"],
    ["close of one byte", [serverFrame(OP_CLOSE, bytes(1))], "one byte"],
  ];
  for (const [what, frames, says] of bad) {
    const r = new WsFrameReader(1 << 20);
    const e = assertThrows(() => frames.forEach((f) => r.push(f)), says);
    assert(e instanceof WsProtocolError && e.code === 1002, what);
  }
});

Deno.test("ws frames: a message over the limit is refused at its header, fragments counted together", () => {
  const r = new WsFrameReader(100);
  assertEquals(r.push(serverFrame(OP_BINARY, bytes(100))).length, 1);
  // the header alone says it: the payload is never gathered
  const e = assertThrows(() => r.push(serverFrame(OP_BINARY, bytes(101)).subarray(0, 4)), "frame too large");
  assert(e instanceof WsProtocolError && e.code === 1009);
  const f = new WsFrameReader(100);
  f.push(serverFrame(OP_BINARY, bytes(60), { fin: false }));
  assertThrows(() => f.push(serverFrame(OP_CONT, bytes(41))), "frame too large");
});

Deno.test("ws frames: a small message is its own copy, a big one a view of the read", () => {
  const read = new Uint8Array(64 * 1024);
  read.set(serverFrame(OP_BINARY, bytes(10)));
  const [small] = new WsFrameReader(1 << 20).push(read.subarray(0, 12));
  assert(small.kind === "binary" && small.data.buffer !== read.buffer && small.data.buffer.byteLength === 10);
  const bigFrame = serverFrame(OP_BINARY, bytes(40_000));
  read.set(bigFrame);
  const [big] = new WsFrameReader(1 << 20).push(read.subarray(0, bigFrame.length));
  assert(big.kind === "binary" && big.data.buffer === read.buffer);
});
