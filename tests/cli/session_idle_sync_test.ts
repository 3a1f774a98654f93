/**
 * Idle stop with the background sync (issue 34): the watchdog announces the stop, the connected sync
 * flushes both ways and acknowledges, and only then does the pod end; activity during that grace cancels
 * the stop (from every machine that syncs the session); a local edit made after it waits (`sync status` says
 * paused) and goes up on `resume`, or by itself once the pod runs when a resume stops short. An agent
 * run is activity: it is never cut off. The real daemon throughout; it is frozen (SIGSTOP) to make it lag
 * behind the pod, as a busy or sleeping laptop does.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { waitUntil } from "../cluster/harness.ts";
import { podOf, purge, SESSION_IMAGE, type SessionWorld, withSessionWorld } from "./_session.ts";
import { SideBySide } from "../_side_by_side.ts";

const LONG = 120_000;

/**
 * The scenarios below wait on the idle clock (10 s idle, then up to 15 s of grace) for most of their
 * minute each: they run side by side, each with its own cluster and session name.
 */
const family = new SideBySide("idle stop with sync (side by side)", 420_000);

// `session get -o json` and `sync status -o json` are polled in this process (w.status, w.syncStatus): the
// commands keep their black-box tests in session_state_test and sync_test (#63: a process each poll)
const sessionStatus = (w: SessionWorld, name: string) => w.status(name);
const syncStatus = (w: SessionWorld, name: string) => w.syncStatus(name);

const syncLog = (w: SessionWorld, name: string) =>
  Deno.readTextFile(join(w.home, "sync", name, "sync.log")).catch(() => "(no log)");

/** Wait (generously: the machine may be loaded) until the session stopped itself. */
async function stoppedIdle(w: SessionWorld, name: string): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  await waitUntil(
    async () => {
      last = await sessionStatus(w, name);
      return last.phase === "Stopped" && last.reason === "idle";
    },
    LONG,
    `session ${name} stopped idle`,
  ).catch(async (e) => {
    throw new Error(
      `${(e as Error).message}: ${JSON.stringify(last)}\n${(await syncLog(w, name)).slice(-3000)}`,
    );
  });
  return last;
}

/**
 * The announced deadline in the pod, or "" (read by a process marked as not activity, so looking does
 * not cancel the stop it looks for).
 */
async function announced(w: SessionWorld, name: string): Promise<string> {
  const r = await w.sh(name, "cat /tmp/kodama-idle.stopping 2>/dev/null; exit 0 # kodama-idle-ignore");
  return r.code === 0 ? r.stdout.trim() : "";
}

async function podLog(w: SessionWorld, name: string): Promise<string> {
  return (await w.kc(["logs", await podOf(w, name), "-c", "session"])).stdout;
}

async function startSynced(w: SessionWorld, name: string, root: string, idle = "10s"): Promise<number> {
  const s = await w.k(["start", name, "--image", SESSION_IMAGE, "--sync", root, "--idle-stop", idle]);
  assertEquals(s.code, 0, s.stderr);
  let pid = 0;
  await waitUntil(
    async () => {
      const st = await syncStatus(w, name);
      pid = Number(st.pid ?? 0);
      return st.state === "watching" && pid > 0;
    },
    60_000,
    "the background sync watching",
  );
  return pid;
}

withSessionWorld(
  "idle stop with sync: a pod edit is flushed down before the stop; a local edit after it goes up on resume",
  { family },
  async (_t, w) => {
    const name = "flush-a";
    const root = join(w.cwd, "proj");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "a.txt"), "a\n");
    try {
      const pid = await startSynced(w, name, root);
      // the sync lags behind the pod: its process is frozen while the pod is edited and goes idle
      Deno.kill(pid, "SIGSTOP");
      let deadline = "";
      try {
        const e = await w.sh(name, "echo from-pod > /workspace/p.txt");
        assertEquals(e.code, 0, e.stderr);
        await waitUntil(async () => !!(deadline = await announced(w, name)), LONG, "the stop announced");
        assertMatch(deadline, /^\d+$/);
        // not fetched yet: only the flush can bring it down before the pod ends
        assertEquals(await Deno.readTextFile(join(root, "p.txt")).catch(() => undefined), undefined);
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      const st = await stoppedIdle(w, name);
      // flushed before the stop: here without any resume
      assertEquals(await Deno.readTextFile(join(root, "p.txt")), "from-pod\n");
      assertStringIncludes(await syncLog(w, name), "flushed before the idle stop");
      const log = await podLog(w, name);
      assertStringIncludes(log, "waiting up to 15s for 1 background sync(s) to flush");
      assertStringIncludes(log, "stopping (the background sync flushed first)");
      // the sync says it is paused, and why; list's SYNC column too; no busy retrying meanwhile
      await waitUntil(
        async () => (await syncStatus(w, name)).state === "paused",
        60_000,
        "the sync paused",
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${(await syncLog(w, name)).slice(-3000)}`);
      });
      const text = (await w.k(["sync", "status", name])).stdout;
      assertMatch(text, /State:\s+paused \(pid \d+\): session stopped \(idle\) since /);
      assertStringIncludes(text, `kodama resume ${name}`);
      assertEquals((await syncStatus(w, name)).pausedSince, st.stoppedAt);
      assertMatch((await w.k(["list"])).stdout, new RegExp(`${name}\\s+dev\\s+Stopped \\(idle, .*Paused`));
      assertMatch(await syncLog(w, name), /paused: session flush-a stopped \(idle\) since /);
      // a local edit now waits, counted as pending
      await Deno.writeTextFile(join(root, "l.txt"), "from-laptop\n");
      await waitUntil(
        async () => Number((await syncStatus(w, name)).pendingToPod) >= 1,
        60_000,
        "the local edit pending",
      );
      assertEquals((await syncStatus(w, name)).state, "paused");
      // resume: the local edit goes up (three-way), the background sync runs again
      const r = await w.k(["resume", name]);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stderr, /synced changes since the last sync: 1 to the pod, 0 back/);
      const cat = await w.sh(name, "cat /workspace/l.txt /workspace/p.txt");
      assertEquals(cat.stdout, "from-laptop\nfrom-pod\n");
      await waitUntil(
        async () => (await syncStatus(w, name)).state === "watching",
        60_000,
        "the sync watching again",
      );
    } finally {
      await purge(w, name);
    }
  },
);

withSessionWorld(
  "idle stop with sync: activity while the sync flushes cancels the stop; the session stops later",
  { family },
  async (_t, w) => {
    const name = "flush-b";
    const root = join(w.cwd, "proj");
    await Deno.mkdir(root);
    try {
      const pid = await startSynced(w, name, root);
      const uid = (await w.kc(["get", "pod", await podOf(w, name), "-o", "jsonpath={.metadata.uid}"])).stdout;
      // frozen, the sync never acknowledges: the grace lasts, and activity comes in during it
      Deno.kill(pid, "SIGSTOP");
      try {
        await waitUntil(async () => !!(await announced(w, name)), LONG, "the stop announced");
        const e = await w.sh(name, "echo busy > /workspace/b.txt");
        assertEquals(e.code, 0, `${e.stderr}\n${await podLog(w, name)}`);
        await waitUntil(async () => !(await announced(w, name)), LONG, "the announcement withdrawn");
        // the same pod, still running
        const pod = await w.kc([
          "get",
          "pod",
          await podOf(w, name),
          "-o",
          "jsonpath={.metadata.uid} {.status.phase}",
        ]);
        assertEquals(pod.stdout, `${uid} Running`);
        assertStringIncludes(
          await podLog(w, name),
          "activity while the background sync flushed: not stopping",
        );
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      // left alone, it stops; what the pod wrote came down
      await stoppedIdle(w, name);
      assertEquals(await Deno.readTextFile(join(root, "b.txt")), "busy\n");
      assertStringIncludes(await podLog(w, name), "stopping (the background sync flushed first)");
      // paused, the sync watches the pod: resumed from another machine, it wakes by itself and sends
      // what was edited here meanwhile
      await waitUntil(async () => (await syncStatus(w, name)).state === "paused", 60_000, "the sync paused");
      await Deno.writeTextFile(join(root, "later.txt"), "edited while stopped\n");
      const other = await Deno.makeTempDir({ prefix: "kodama-home-" });
      try {
        const r = await w.k(["resume", name], { home: other });
        assertEquals(r.code, 0, r.stderr);
      } finally {
        await Deno.remove(other, { recursive: true });
      }
      await waitUntil(
        async () =>
          (await w.sh(name, "cat /workspace/later.txt 2>/dev/null; exit 0"))
            .stdout ===
            "edited while stopped\n",
        LONG,
        "the local edit in the resumed pod",
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${(await syncLog(w, name)).slice(-3000)}`);
      });
      assertStringIncludes(await syncLog(w, name), `session ${name} runs again: reconciling both sides`);
    } finally {
      await purge(w, name);
    }
  },
);

/** Stopped idle with the sync paused, a local edit pending: the state a resume finds after an idle stop. */
async function pausedWithEdit(w: SessionWorld, name: string, root: string, file: string): Promise<void> {
  await stoppedIdle(w, name);
  await waitUntil(async () => (await syncStatus(w, name)).state === "paused", 60_000, "the sync paused");
  await Deno.writeTextFile(join(root, file), `${file}\n`);
  await waitUntil(
    async () => Number((await syncStatus(w, name)).pendingToPod) >= 1,
    60_000,
    `${file} pending`,
  );
}

/** The file arrived in the pod (sent by the background sync, not by resume). */
async function inPod(w: SessionWorld, name: string, file: string): Promise<void> {
  await waitUntil(
    async () =>
      (await w.sh(name, `cat /workspace/${file} 2>/dev/null; exit 0`)).stdout ===
        `${file}\n`,
    LONG,
    `${file} in the resumed pod`,
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${(await syncLog(w, name)).slice(-3000)}`);
  });
}

withSessionWorld(
  "idle stop with sync: a resume that does not finish here (a timeout, --no-wait) leaves the sync running",
  { family },
  async (_t, w) => {
    const name = "flush-c";
    const root = join(w.cwd, "proj");
    await Deno.mkdir(root);
    try {
      await startSynced(w, name, root);
      // resume ends the paused sync first; the pod is made, but the wait gives up: the sync comes back
      // and, once the pod runs, wakes and sends what was edited here
      await pausedWithEdit(w, name, root, "one.txt");
      const r = await w.k(["resume", name, "--timeout", "1ms"]);
      assertEquals(r.code, 5, r.stderr);
      assertMatch(
        r.stderr,
        /the background sync of flush-c runs again \(pid \d+\): it wakes when the pod runs/,
      );
      await inPod(w, name, "one.txt");
      // the same for a resume that does not wait at all
      await pausedWithEdit(w, name, root, "two.txt");
      const n = await w.k(["resume", name, "--no-wait"]);
      assertEquals(n.code, 0, n.stderr);
      assertStringIncludes(n.stderr, "the background sync of flush-c runs again");
      await inPod(w, name, "two.txt");
      // sent by the background sync, which then goes on watching (it may still be ending its cycle)
      await waitUntil(
        async () => (await syncStatus(w, name)).state === "watching",
        LONG,
        "the sync watching",
      );
    } finally {
      await purge(w, name);
    }
  },
);

withSessionWorld(
  "idle stop with sync on two machines: the pod waits for both to flush, and each gets the pod's edit",
  { family },
  async (_t, w) => {
    const name = "flush-d";
    const rootA = join(w.cwd, "proj");
    const rootB = join(w.cwd, "other-proj");
    await Deno.mkdir(rootA);
    await Deno.mkdir(rootB);
    await Deno.writeTextFile(join(rootA, "a.txt"), "a\n");
    const homeB = await Deno.makeTempDir({ prefix: "kodama-home-b-" });
    try {
      // a second machine's sync takes a while to start on a loaded runner: the session must not stop first
      const pidA = await startSynced(w, name, rootA, "30s");
      // the second machine syncs the same session into a directory of its own
      const s = await w.k(["sync", "start", name, rootB], { home: homeB });
      assertEquals(s.code, 0, s.stderr);
      let pidB = 0;
      await waitUntil(
        async () => {
          const st = JSON.parse((await w.k(["sync", "status", name, "-o", "json"], { home: homeB })).stdout);
          pidB = Number(st.pid ?? 0);
          return st.state === "watching" && pidB > 0;
        },
        60_000,
        "the second machine's sync watching",
      );
      await waitUntil(
        async () => await Deno.readTextFile(join(rootB, "a.txt")).catch(() => "") === "a\n",
        LONG,
        "the first machine's file on the second",
      );
      // both lag behind the pod: only their flush can bring the pod's edit down before it ends
      Deno.kill(pidA, "SIGSTOP");
      Deno.kill(pidB, "SIGSTOP");
      try {
        const e = await w.sh(name, "echo from-pod > /workspace/p.txt");
        assertEquals(e.code, 0, e.stderr);
        await waitUntil(async () => !!(await announced(w, name)), LONG, "the stop announced");
      } finally {
        Deno.kill(pidA, "SIGCONT");
        Deno.kill(pidB, "SIGCONT");
      }
      await stoppedIdle(w, name);
      const log = await podLog(w, name);
      assertStringIncludes(log, "waiting up to 15s for 2 background sync(s) to flush");
      assertStringIncludes(log, "stopping (the background sync flushed first)");
      assertEquals(await Deno.readTextFile(join(rootA, "p.txt")), "from-pod\n");
      assertEquals(await Deno.readTextFile(join(rootB, "p.txt")), "from-pod\n");
    } finally {
      await w.k(["sync", "stop", name], { home: homeB });
      await Deno.remove(homeB, { recursive: true }).catch(() => {});
      await purge(w, name);
    }
  },
);

withSessionWorld(
  "idle stop: an agent run is activity, the session stays up while it works and stops after",
  { family },
  async (_t, w) => {
    const name = "flush-ag";
    // an agent that works (reads nothing, writes nothing) until told to finish
    const agent = `while [ ! -f /workspace/.go ]; do sleep 1; done; echo agent-done > /workspace/out.txt`;
    await Deno.writeTextFile(
      join(w.cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(agent)}]\n`,
    );
    try {
      const s = await w.k(["start", name, "--image", SESSION_IMAGE, "--no-sync", "--idle-stop", "10s"]);
      assertEquals(s.code, 0, s.stderr);
      const r = await w.k(["agent", "run", name, "--prompt", "work"]);
      assertEquals(r.code, 0, r.stderr);
      const uid = (await w.kc(["get", "pod", await podOf(w, name), "-o", "jsonpath={.metadata.uid}"])).stdout;
      // three times the idle time with the agent running and nothing else going on: the same pod runs
      const t0 = Date.now();
      await waitUntil(() => Date.now() - t0 > 30_000, 60_000, "30 s of an agent run");
      const pod = await w.kc([
        "get",
        "pod",
        await podOf(w, name),
        "-o",
        "jsonpath={.metadata.uid} {.status.phase}",
      ]);
      assertEquals(pod.stdout, `${uid} Running`);
      assertMatch((await w.k(["agent", "status", name])).stdout, /^1\s+running\s+/m);
      // told to finish, it finishes (it was not cut off), and then the session stops
      assertEquals((await w.sh(name, "touch /workspace/.go")).code, 0);
      await waitUntil(
        async () => /^1\s+succeeded\s+0\s+/m.test((await w.k(["agent", "status", name])).stdout),
        LONG,
        "the run succeeded",
      );
      await stoppedIdle(w, name);
      assertEquals(
        (await w.k(["attach", name, "--resume", "--command", "cat /workspace/out.txt"])).stdout,
        "agent-done\n",
      );
    } finally {
      await purge(w, name);
    }
  },
);
