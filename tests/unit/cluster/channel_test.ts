import { assertEquals } from "@kodama/test-assert";
import { Buffer } from "node:buffer";
import {
  codecFor,
  decodeFrame,
  encodeFrame,
  EXEC_PROTOCOLS,
  exitStatus,
  negotiate,
  parseProtocols,
  parseResize,
  portPrefix,
  statusPayload,
} from "../../cluster/streams/channel.ts";

Deno.test("channel: protocol header parsing and negotiation follow the client's order", () => {
  assertEquals(parseProtocols("v5.channel.k8s.io,v4.channel.k8s.io, channel.k8s.io"), [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "channel.k8s.io",
  ]);
  assertEquals(parseProtocols(["a, b", "c"]), ["a", "b", "c"]);
  assertEquals(negotiate(["v4.channel.k8s.io", "v5.channel.k8s.io"], EXEC_PROTOCOLS), "v4.channel.k8s.io");
  assertEquals(negotiate(["nope"], EXEC_PROTOCOLS), "");
});

Deno.test("channel: binary and base64 frames round-trip, v5 close frames decode", () => {
  const bin = codecFor("v5.channel.k8s.io");
  assertEquals([bin.close, bin.status, bin.base64], [true, true, false]);
  const data = Buffer.from([0, 255, 10, 13]);
  const f = encodeFrame(bin, 1, data) as Buffer;
  assertEquals([...f], [1, 0, 255, 10, 13]);
  assertEquals(decodeFrame(bin, f), { channel: 1, data });
  assertEquals(decodeFrame(bin, Buffer.from([255, 0])), { channel: 255, data: Buffer.from([0]) });
  assertEquals(decodeFrame(bin, Buffer.alloc(0)), undefined);

  const b64 = codecFor("base64.channel.k8s.io");
  assertEquals([b64.close, b64.status, b64.base64], [false, false, true]);
  const t = encodeFrame(b64, 2, data);
  assertEquals(t, "2" + data.toString("base64"));
  assertEquals(decodeFrame(b64, t as string), { channel: 2, data });
});

Deno.test("channel: exit status is the kubelet's metav1.Status; old protocols get plain text", () => {
  assertEquals(exitStatus(0, ["true"]), { metadata: {}, status: "Success" });
  const fail = exitStatus(7, ["sh", "-c", "exit 7"]);
  assertEquals(
    JSON.stringify(fail),
    '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 7], exit code 7","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}}',
  );
  assertEquals(statusPayload(codecFor("channel.k8s.io"), exitStatus(0, [])), undefined);
  assertEquals(
    statusPayload(codecFor("channel.k8s.io"), fail)?.toString(),
    "command terminated with non-zero exit code: error executing command [sh -c exit 7], exit code 7",
  );
});

Deno.test("channel: resize messages and port prefixes", () => {
  assertEquals(parseResize(Buffer.from('{"Width":80,"Height":24}\n{"Width":100,"Height":30}\n')), [
    { cols: 80, rows: 24 },
    { cols: 100, rows: 30 },
  ]);
  assertEquals(parseResize(Buffer.from("garbage")), []);
  assertEquals([...portPrefix(8080)], [0x90, 0x1f]);
});
