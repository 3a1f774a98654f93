/**
 * src/kube/exec.ts `flushTail`: after the last send on a native WebSocket, empty messages push out what
 * Deno's TLS layer may still hold (denoland/deno#36862), at growing intervals, for a bounded time, never
 * while sends keep coming, and ended with the stream (the process is not kept alive).
 */
import { assert, assertEquals } from "../../_assert.ts";
import { flushTail } from "../../../src/kube/exec.ts";
import { fileURLToPath } from "node:url";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const sent: { at: number; len: number }[] = [];
  const t0 = Date.now();
  return { sent, send: (b: Uint8Array) => void sent.push({ at: Date.now() - t0, len: b.length }) };
}

Deno.test("flushTail: after a send, empty messages follow at each step while the stream stays quiet", async () => {
  const r = recorder();
  let open = true;
  const { send } = flushTail(r.send, () => open, [30, 60, 120]);
  send(new Uint8Array(5));
  await sleep(450);
  open = false;
  const empties = r.sent.filter((s) => s.len === 0);
  assertEquals(r.sent[0].len, 5);
  // 30, +60, +120, +120 ... until closed: at least 4 in 450 ms, each later than the one before
  assert(empties.length >= 4 && empties.length <= 6, JSON.stringify(r.sent));
  assert(empties[0].at >= 25, JSON.stringify(empties));
  assert(empties[1].at - empties[0].at >= 55, JSON.stringify(empties));
  assert(empties[2].at - empties[1].at >= 115, JSON.stringify(empties));
  const n = r.sent.length;
  await sleep(300);
  assertEquals(r.sent.length, n, "nothing is sent once the stream is closed");
});

Deno.test("flushTail: sends that keep coming get no empty message between them", async () => {
  const r = recorder();
  const { send } = flushTail(r.send, () => true, [80, 80]);
  for (let i = 0; i < 8; i++) {
    send(new Uint8Array(1));
    await sleep(20);
  }
  assertEquals(r.sent.filter((s) => s.len === 0).length, 0, JSON.stringify(r.sent));
  await sleep(150);
  assert(r.sent.filter((s) => s.len === 0).length >= 1, "an empty message once the sends stopped");
});

Deno.test("flushTail: a stream quiet for longer than the limit gets no more", async () => {
  const r = recorder();
  const { send } = flushTail(r.send, () => true, [20], 100);
  send(new Uint8Array(1));
  await sleep(250);
  const n = r.sent.length;
  assert(n >= 3 && n <= 7, JSON.stringify(r.sent));
  await sleep(150);
  assertEquals(r.sent.length, n);
});

Deno.test("flushTail: stop ends it at once, and then the process is not kept alive", async () => {
  const r = recorder();
  const t = flushTail(r.send, () => true, [30]);
  t.send(new Uint8Array(1));
  t.stop();
  t.send(new Uint8Array(1));
  await sleep(120);
  assertEquals(r.sent.map((s) => s.len), [1, 1], "no empty message after stop");
  // a process whose stream ended (stop) exits at once, though the next step was seconds away
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
