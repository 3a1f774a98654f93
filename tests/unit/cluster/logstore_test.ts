import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import path from "node:path";
import { Buffer } from "node:buffer";
import {
  ContainerLog,
  type LogLine,
  nowRFC3339Nano,
  parseLog,
  readLog,
  renderLine,
  selectLines,
} from "../../cluster/runtime/logstore.ts";

Deno.test("logstore: RFC3339Nano timestamps are Go-formatted and strictly increasing", () => {
  const a = nowRFC3339Nano();
  const b = nowRFC3339Nano();
  assertMatch(a, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  assert(!/0Z$/.test(a), "trailing zeros are trimmed");
  assert(Math.abs(Date.parse(a) - Date.now()) < 1000);
  assert(a !== b);
});

Deno.test("logstore: CRI lines with stream tags, partial lines, followers and close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = new ContainerLog(path.join(dir, "c.0.log"));
    const seen: string[] = [];
    let ended = false;
    log.follow((l) => seen.push(`${l.stream}:${l.content}${l.partial ? "…" : ""}`), () => (ended = true));
    log.write("stdout", Buffer.from("one\ntw"));
    log.write("stderr", Buffer.from("err\n"));
    log.write("stdout", Buffer.from("o\nthree"));
    log.close();
    assertEquals(seen, ["stdout:one", "stderr:err", "stdout:two", "stdout:three…"]);
    assert(ended, "followers end at close");
    const lines = readLog(log.file);
    assertEquals(lines.map((l) => [l.stream, l.partial, l.content.toString()]), [
      ["stdout", false, "one"],
      ["stderr", false, "err"],
      ["stdout", false, "two"],
      ["stdout", true, "three"],
    ]);
    assertEquals(Buffer.concat(lines.map((l) => renderLine(l, false))).toString(), "one\nerr\ntwo\nthree");
    assertMatch(renderLine(lines[0], true).toString(), /^\S+Z one\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logstore: an unterminated line is held back until its newline, 16 KiB, or the exit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = new ContainerLog(path.join(dir, "c.0.log"));
    log.write("stdout", Buffer.from("held"));
    await new Promise((r) => setTimeout(r, 100)); // no timer lets it out early
    assertEquals(readLog(log.file).length, 0, "nothing written before the newline");
    log.write("stdout", Buffer.from(" back\n"));
    assertEquals(readLog(log.file).map((l) => [l.partial, l.content.toString()]), [[false, "held back"]]);
    log.write("stdout", Buffer.from("x".repeat(16384 + 10)));
    const long = readLog(log.file).slice(1);
    assertEquals(
      long.map((l) => [l.partial, l.content.length]),
      [[true, 16384]],
      "a 16 KiB piece goes out as P",
    );
    log.close();
    assertEquals(readLog(log.file).slice(2).map((l) => [l.partial, l.content.length]), [[true, 10]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logstore: tailLines counts whole lines; sinceMs filters by time", () => {
  const mk = (ms: number, text: string, partial = false): LogLine => ({
    ts: new Date(ms).toISOString(),
    ms,
    stream: "stdout",
    partial,
    content: Buffer.from(text),
  });
  const lines = [mk(1000, "a"), mk(2000, "b1", true), mk(2001, "b2"), mk(3000, "c")];
  assertEquals(selectLines(lines, { tailLines: 2 }).map((l) => l.content.toString()), ["b1", "b2", "c"]);
  assertEquals(selectLines(lines, { tailLines: 0 }), []);
  assertEquals(selectLines(lines, { sinceMs: 2001 }).map((l) => l.content.toString()), ["b2", "c"]);
  assertEquals(parseLog(Buffer.from("garbage\n2024-01-01T00:00:00Z stdout F ok\n")).length, 1);
});
