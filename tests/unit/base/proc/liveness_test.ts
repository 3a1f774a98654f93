/**
 * src/base/proc/liveness.ts: alive exactly while the lock is held, whatever happens to pids. A real second
 * process holds the claim (the OS drops its locks when it is SIGKILLed), and a process that merely
 * has the pid a record names is never signalled.
 */
import { assert, assertEquals } from "../../../_assert.ts";
import {
  claim,
  holderPid,
  isHeld,
  signalHolder,
  stopHolder,
  sweepClaims,
} from "../../../../src/base/proc/liveness.ts";
import { bystander } from "../../../_bystander.ts";

const LIVENESS = new URL("../../../../src/base/proc/liveness.ts", import.meta.url).href;

/** A deno process that claims dir/stem, says "ready", and waits (SIGTERM or the stop file end it). */
async function holder(dir: string, stem: string) {
  const code = `
    import { claim } from ${JSON.stringify(LIVENESS)};
    const c = await claim(${JSON.stringify(dir)}, ${JSON.stringify(stem)});
    if (!c) { console.log("taken"); Deno.exit(3); }
    const done = () => { Deno.writeTextFileSync(${
    JSON.stringify(`${dir}/cleaned`)
  }, "yes"); c.release(); Deno.exit(0); };
    Deno.addSignalListener("SIGTERM", done);
    c.stopRequested.addEventListener("abort", done);
    console.log("ready");
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return { child, said: (value ?? "").trim() };
}

Deno.test("claim: held while claimed, one holder at a time, gone after release", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(isHeld(dir, "x"), false);
    const c = await claim(dir, "x");
    assert(c);
    assertEquals(isHeld(dir, "x"), true);
    assertEquals(holderPid(dir, "x"), Deno.pid);
    assertEquals(await claim(dir, "x"), undefined, "a second claim while the first holds");
    c.release();
    assertEquals(isHeld(dir, "x"), false);
    assertEquals(holderPid(dir, "x"), undefined);
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
        n.includes(".lock.") || /\.\d+\.lock$/.test(n)
      ),
      [],
    );
    const again = await claim(dir, "x");
    assert(again, "claimable again");
    again.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a SIGKILLed holder is not alive; its pid, now another process's, is never signalled", async () => {
  const dir = await Deno.makeTempDir();
  const got = `${dir}/bystander-signals`;
  let other: Deno.ChildProcess | undefined;
  try {
    const h = await holder(dir, "daemon");
    assertEquals(h.said, "ready");
    assertEquals(isHeld(dir, "daemon"), true);
    assertEquals(holderPid(dir, "daemon"), h.child.pid);
    h.child.kill("SIGKILL");
    await h.child.status;
    assertEquals(isHeld(dir, "daemon"), false, "the OS dropped the lock");
    // pid reuse, made to happen: the dead holder's leftover lock file now names a live, unrelated process
    other = await bystander(got);
    for (const e of Deno.readDirSync(dir)) {
      if (/^daemon\.\d+\.lock$/.test(e.name)) {
        Deno.renameSync(`${dir}/${e.name}`, `${dir}/daemon.${other.pid}.lock`);
      }
    }
    assertEquals(holderPid(dir, "daemon"), undefined);
    assertEquals(signalHolder(dir, "daemon", "SIGTERM"), false);
    assertEquals(await stopHolder(dir, "daemon", { graceMs: 200 }), "none");
    // fixed: proves nothing happens for 300 ms (a signal that is not sent has no event to wait on)
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(await Deno.readTextFile(got).catch(() => ""), "", "the unrelated process got no signal");
    // and the name is free for a new holder
    const h2 = await holder(dir, "daemon");
    assertEquals(h2.said, "ready");
    assertEquals(holderPid(dir, "daemon"), h2.child.pid);
    assertEquals(await stopHolder(dir, "daemon", { graceMs: 5000 }), "stopped");
    await h2.child.status;
    assertEquals(await Deno.readTextFile(`${dir}/cleaned`), "yes");
  } finally {
    if (other) {
      other.kill("SIGKILL");
      await other.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stop on Windows: no SIGTERM (it would be TerminateProcess); the stop file lets the holder clean up", async () => {
  const { platformFor } = await import("../../../../src/base/platform.ts");
  const dir = await Deno.makeTempDir();
  try {
    const h = await holder(dir, "fwd");
    assertEquals(h.said, "ready");
    const r = await stopHolder(dir, "fwd", { graceMs: 5000, platform: platformFor("windows") });
    assertEquals(r, "stopped");
    assertEquals((await h.child.status).code, 0);
    assertEquals(await Deno.readTextFile(`${dir}/cleaned`), "yes", "it ran its cleanup");
    assertEquals(isHeld(dir, "fwd"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a holder that ignores the stop request is killed after the grace period", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const code = `
      import { claim } from ${JSON.stringify(LIVENESS)};
      await claim(${JSON.stringify(dir)}, "stubborn");
      Deno.addSignalListener("SIGTERM", () => {});
      console.log("ready");
      setInterval(() => {}, 1000);
    `;
    const child = new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped" }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assertEquals((await reader.read()).value?.trim(), "ready");
    reader.releaseLock();
    assertEquals(await stopHolder(dir, "stubborn", { graceMs: 300 }), "killed");
    assertEquals((await child.status).signal, "SIGKILL");
    await child.stdout.cancel().catch(() => {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("forgetClaim: a dead holder's files go; a live holder's stay", async () => {
  const { forgetClaim } = await import("../../../../src/base/proc/liveness.ts");
  const dir = await Deno.makeTempDir();
  try {
    for (
      const n of ["dead.lock", "dead.4242.lock", "dead.4243.lock.tmp", "dead.stop", "dead.json", "deadx.lock"]
    ) {
      await Deno.writeTextFile(`${dir}/${n}`, "");
    }
    forgetClaim(dir, "dead");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["dead.json", "deadx.lock"]);
    const c = await claim(dir, "live");
    assert(c);
    forgetClaim(dir, "live");
    assertEquals(isHeld(dir, "live"), true);
    assertEquals(holderPid(dir, "live"), Deno.pid);
    c.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("release removes every file its claim made, STEM.lock included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await claim(dir, "fwd");
    assert(c);
    c.release();
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [], "nothing left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a claim that opened STEM.lock before its holder released it holds the new file, alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await claim(dir, "fwd");
    assert(first);
    // the second claim opens STEM.lock and waits for its lock; the holder releases (removing the file) meanwhile.
    // claim() opens the file before its first await, so it is open once the call returns: no pause needed
    // (whether its first tryLock runs before or after the release, it then holds a file that is gone)
    const waiting = claim(dir, "fwd");
    first.release();
    const second = await waiting;
    assert(second, "claimed once the first let go");
    assertEquals(isHeld(dir, "fwd"), true, "held on the file that is STEM.lock now");
    assertEquals(await claim(dir, "fwd"), undefined, "a third claim sees the second");
    second.release();
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sweepClaims removes what a killed holder left and nothing of a live one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dead = await holder(dir, "dead");
    assertEquals(dead.said, "ready");
    dead.child.kill("SIGKILL");
    await dead.child.status;
    const live = await claim(dir, "live");
    assert(live);
    const names = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert(names().some((n) => n.startsWith("dead.")), "the killed holder's files are there");
    sweepClaims(dir);
    assertEquals(names(), [`live.${Deno.pid}.lock`, "live.lock"]);
    assertEquals(isHeld(dir, "live"), true);
    live.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
