/**
 * The idle watchdog's handshake with a background sync (session/lifecycle/lifetime.ts), run by this machine's dash
 * and busybox sh against its own /proc: no sync connected, it stops without waiting; a sync that
 * acknowledges ends the wait; one that never answers is waited for only as long as the grace; activity
 * during the grace cancels the stop. A "sync" here is a process of the pod (KODAMA_POD_UID) whose command
 * line carries the watcher's marks, as the real watcher's does.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import {
  IDLE_IGNORE_MARK,
  SYNC_WATCHER_MARK,
  WATCHDOG,
  watchdogArgs,
} from "../../../src/session/lifecycle/lifetime.ts";
import { EXEC_HOLDER_MARK } from "../../../src/kube/execmark.ts";
import { SideBySide } from "../../_side_by_side.ts";

const SHELLS: string[][] = [["sh"]];
if (new Deno.Command("busybox", { args: ["true"], stdout: "null", stderr: "null" }).outputSync().success) {
  SHELLS.push(["busybox", "sh"]);
}

interface Pod {
  dir: string;
  env: Record<string, string>;
  state: string;
}

async function pod(): Promise<Pod> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-idle-" });
  await Deno.mkdir(join(dir, "ws"));
  return {
    dir,
    state: join(dir, "idle"),
    env: {
      KODAMA_POD_UID: crypto.randomUUID(),
      KODAMA_WORKSPACE: join(dir, "ws"),
      KODAMA_IDLE_STATE: join(dir, "idle"),
      KODAMA_TERMINATION_LOG: join(dir, "termination-log"),
    },
  };
}

/** The watchdog as the pod's main process runs it (KODAMA_IDLE_IGNORE=1: its own processes). */
function watchdog(sh: string[], p: Pod, idle: number, grace: number): Deno.ChildProcess {
  return new Deno.Command(sh[0], {
    args: [...sh.slice(1), "-c", WATCHDOG, "kodama-idle", ...watchdogArgs(idle, grace)],
    env: { ...p.env, KODAMA_IDLE_IGNORE: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/**
 * A connected sync: looks (marked as not activity) and, when it sees the stop announced, runs `onStop`.
 * `held`: run as kodama runs a command fed through stdin, the child of a shell that waits for it holding its
 * output (src/kube/exec.ts), whose command line carries the watcher's too.
 */
function sync(sh: string[], p: Pod, onStop: string, held = false): Deno.ChildProcess {
  const script = [
    `# ${IDLE_IGNORE_MARK} ${SYNC_WATCHER_MARK}`,
    `export KODAMA_IDLE_IGNORE=1`,
    `while [ ! -f "$KODAMA_IDLE_STATE.stopping" ]; do sleep 0.2; done`,
    `k=$(cat "$KODAMA_IDLE_STATE.stopping")`,
    onStop,
    // stays connected, as a real watcher does, for as long as whoever started it (a held one's holder shell,
    // which the test SIGKILLs: an orphan left looping would outlive the test run)
    `while kill -0 "$PPID" 2>/dev/null; do sleep 1; done`,
  ].join("\n");
  const holder = [...sh.slice(1), "-c", `"$@" & wait $! # ${EXEC_HOLDER_MARK}`, "tag", sh[0], ...sh.slice(1)];
  return new Deno.Command(sh[0], {
    args: [...(held ? holder : sh.slice(1)), "-c", script],
    env: p.env,
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function stderrOf(c: Deno.ChildProcess): Promise<{ code: number; text: string }> {
  const out = await c.output();
  return { code: out.code, text: new TextDecoder().decode(out.stderr) };
}

/** Read a child's stderr until `want` shows up (or it ends); then end it. */
async function until(c: Deno.ChildProcess, want: string): Promise<string> {
  const reader = c.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes(want)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  c.kill("SIGKILL");
  await reader.cancel().catch(() => {});
  await c.status;
  return text;
}

/** Each test waits out an idle time and a grace: they run side by side (own dirs, own pod uid). */
const family = new SideBySide("idle watchdog (side by side)");

for (const sh of SHELLS) {
  family.test(`idle watchdog (${sh.join(" ")}): no sync connected, it stops without waiting`, async () => {
    const p = await pod();
    try {
      const r = await stderrOf(watchdog(sh, p, 2, 30));
      assertEquals(r.code, 0, r.text);
      assertEquals(r.text.includes("waiting up to"), false, r.text);
      assertStringIncludes(r.text, "no write under the workspace): stopping\n");
      assertStringIncludes(await Deno.readTextFile(p.env.KODAMA_TERMINATION_LOG), "kodama: idle for 2s");
    } finally {
      await Deno.remove(p.dir, { recursive: true });
    }
  });

  for (const held of [false, true]) {
    family.test(
      `idle watchdog (${sh.join(" ")}): a sync that acknowledges ends the wait${
        held ? " (run under the shell holding its output: one sync)" : ""
      }`,
      async () => {
        const p = await pod();
        const s = sync(sh, p, `echo "$k" >> "$KODAMA_IDLE_STATE.ack"`, held);
        try {
          // a grace far longer than the test may take: only the acknowledgement can end it (held and counted
          // twice, it would wait out a short one for a second acknowledgement that never comes)
          const grace = held ? 5 : 600;
          const r = await stderrOf(watchdog(sh, p, 2, grace));
          assertEquals(r.code, 0, r.text);
          assertStringIncludes(r.text, `waiting up to ${grace}s for 1 background sync(s) to flush`);
          assertStringIncludes(r.text, ": stopping (the background sync flushed first)\n");
          // the announcement and the acks are cleared
          assertEquals(await Deno.stat(`${p.state}.stopping`).then(() => true, () => false), false);
          assertEquals(await Deno.stat(`${p.state}.ack`).then(() => true, () => false), false);
        } finally {
          s.kill("SIGKILL");
          await s.status;
          await Deno.remove(p.dir, { recursive: true });
        }
      },
    );
  }

  family.test(`idle watchdog (${sh.join(" ")}): a sync that never answers is waited for the grace only`, async () => {
    const p = await pod();
    const s = sync(sh, p, `:`);
    try {
      const r = await stderrOf(watchdog(sh, p, 2, 2));
      assertEquals(r.code, 0, r.text);
      assertStringIncludes(r.text, "waiting up to 2s for 1 background sync(s) to flush");
      assertStringIncludes(
        r.text,
        "stopping (0 of 1 background sync(s) flushed, no answer from the rest in 2s)",
      );
    } finally {
      s.kill("SIGKILL");
      await s.status;
      await Deno.remove(p.dir, { recursive: true });
    }
  });

  family.test(`idle watchdog (${sh.join(" ")}): activity during the grace cancels the stop`, async () => {
    const p = await pod();
    // the flush writes into the workspace (as pushing a local edit does), and never acknowledges
    const s = sync(sh, p, `echo pushed > "$KODAMA_WORKSPACE/edit.txt"`);
    try {
      const w = watchdog(sh, p, 2, 600);
      const text = await until(w, "not stopping");
      assertStringIncludes(text, "activity while the background sync flushed: not stopping");
      assertEquals(text.includes(": stopping"), false, text);
      assertEquals(await Deno.stat(`${p.state}.stopping`).then(() => true, () => false), false);
    } finally {
      s.kill("SIGKILL");
      await s.status;
      await Deno.remove(p.dir, { recursive: true });
    }
  });
}
