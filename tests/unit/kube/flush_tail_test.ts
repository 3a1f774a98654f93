/**
 * src/kube/exec.ts `flushTail`: after the last send on a native WebSocket, empty messages push out what
 * Deno's TLS layer may still hold (denoland/deno#36862), at growing intervals, for a bounded time, never
 * while sends keep coming, and ended with the stream (the process is not kept alive). On a manual clock
 * (tests/_clock.ts): the exact times, with no real-clock window to miss on a loaded machine.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { flushTail } from "../../../src/kube/exec.ts";
import { ManualClock } from "../../_clock.ts";
import { fileURLToPath } from "node:url";

/** What was sent, as "length@ms since the start". */
function recorder(clock: ManualClock) {
  const sent: string[] = [];
  const t0 = clock.now();
  return { sent, send: (b: Uint8Array) => void sent.push(`${b.length}@${clock.now() - t0}`) };
}

Deno.test("flushTail: after a send, empty messages follow at each step while the stream stays quiet", async () => {
  const clock = new ManualClock(0);
  const r = recorder(clock);
  let open = true;
  const { send } = flushTail(r.send, () => open, [30, 60, 120], 120_000, clock);
  send(new Uint8Array(5));
  await clock.advance(450);
  // 30, +60, +120, then +120 again (the last step repeats) until closed
  assertEquals(r.sent, ["5@0", "0@30", "0@90", "0@210", "0@330", "0@450"]);
  open = false;
  await clock.advance(1000);
  assertEquals(r.sent.length, 6, "nothing is sent once the stream is closed");
  assertEquals(clock.armed, 0);
});

Deno.test("flushTail: sends that keep coming get no empty message between them", async () => {
  const clock = new ManualClock(0);
  const r = recorder(clock);
  const { send } = flushTail(r.send, () => true, [80, 80], 120_000, clock);
  for (let i = 0; i < 8; i++) {
    send(new Uint8Array(1));
    await clock.advance(79);
  }
  assertEquals(r.sent.filter((s) => s.startsWith("0@")), [], r.sent.join(" "));
  // the last send was at 7 * 79 = 553: its empty message comes 80 ms after it, not after the first
  await clock.advance(1);
  assertEquals(r.sent.at(-1), "0@633");
});

Deno.test("flushTail: a stream quiet for longer than the limit gets no more", async () => {
  const clock = new ManualClock(0);
  const r = recorder(clock);
  const { send } = flushTail(r.send, () => true, [20], 100, clock);
  send(new Uint8Array(1));
  await clock.advance(1000);
  assertEquals(r.sent, ["1@0", "0@20", "0@40", "0@60", "0@80", "0@100"]);
  assertEquals(clock.armed, 0, "no timer left");
});

Deno.test("flushTail: stop ends it at once, and then the process is not kept alive", async () => {
  const clock = new ManualClock(0);
  const r = recorder(clock);
  const t = flushTail(r.send, () => true, [30], 120_000, clock);
  t.send(new Uint8Array(1));
  t.stop();
  t.send(new Uint8Array(1));
  assertEquals(clock.armed, 0);
  await clock.advance(120);
  assertEquals(r.sent, ["1@0", "1@0"], "no empty message after stop");
  // on the real clock, a process whose stream ended (stop) exits at once, though the next step was seconds away
  const mod = fileURLToPath(new URL("../../../src/kube/exec.ts", import.meta.url));
  const code = `import { flushTail } from ${JSON.stringify(mod)};
    const t = flushTail(() => {}, () => true, [5_000], 60_000);
    t.send(new Uint8Array(1));
    t.stop();`;
  const t0 = Date.now();
  const p = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(p.code, 0, new TextDecoder().decode(p.stderr));
  assert(Date.now() - t0 < 4_000, `the process lived ${Date.now() - t0} ms`);
});
