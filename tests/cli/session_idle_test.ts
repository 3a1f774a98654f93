/**
 * Idle stop (issue 34): a session started with `--idle-stop` ends its own pod after that long without
 * activity — the watchdog in the pod, no controller — and comes back with its files; a running command
 * and fresh writes keep it up. list/get show `Stopped (idle, …)`; attach without a terminal names
 * `--resume`, and `attach --resume` brings it back. Bad durations are one line and exit 2. The two long
 * tests wait on the idle clock for most of their minute: they run side by side (tests/_side_by_side.ts).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { hasStackTrace } from "./_run.ts";
import { onRealCluster, waitUntil } from "../cluster/harness.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { sessionJson, stoppedIdle } from "./_idle.ts";
import { SideBySide } from "../_side_by_side.ts";

const family = new SideBySide("idle stop (side by side)", 360_000);

withSessionWorld(
  "idle stop: an idle session stops by itself, list/get say so, attach --resume brings it back with its files",
  { family },
  async (_t, w) => {
    try {
      const s = await w.k(["start", "pool-idl", "--image", SESSION_IMAGE, "--no-sync", "--idle-stop", "10s"]);
      assertEquals(s.code, 0, s.stderr);
      const put = await w.sh("pool-idl", "echo kept > /workspace/f.txt");
      assertEquals(put.code, 0, put.stderr);
      const st = await stoppedIdle(w, "pool-idl");
      assert(typeof st.stoppedAt === "string", JSON.stringify(st));
      // no background sync watches it: it stopped without waiting for a flush
      const said = (await w.kc(["logs", await podOf(w, "pool-idl"), "-c", "session"])).stdout;
      assertStringIncludes(said, "no write under the workspace): stopping\n");
      assert(!said.includes("waiting up to"), said);
      // the pod ended cleanly: phase Succeeded, restartPolicy Never; volumes and the Secret stay
      const pod = await w.kc(["get", "pod", await podOf(w, "pool-idl"), "-o", "jsonpath={.status.phase}"]);
      assertEquals(pod.stdout, "Succeeded");
      const kept = await w.kc(["get", "pvc,secret", "-l", "kodama.dev/session=pool-idl", "-o", "name"]);
      assertStringIncludes(kept.stdout, "persistentvolumeclaim/kodama-workspace-pool-idl");
      assertStringIncludes(kept.stdout, "secret/kodama-env-pool-idl");
      const list = await w.k(["list"]);
      assertMatch(list.stdout, /pool-idl\s+dev\s+Stopped \(idle, \S+ ago\)/);
      const get = await w.k(["session", "get", "pool-idl"]);
      assertMatch(get.stdout, /Status:\s+Stopped \(idle\) since \S+ \(\S+ ago\)/);
      // no terminal: a clear error naming --resume, nothing changed
      const a = await w.k(["attach", "pool-idl", "--command", "cat /workspace/f.txt"]);
      assertEquals(a.code, 1, a.stderr);
      assertMatch(a.stderr, /session pool-idl is stopped \(idle, since /);
      assertStringIncludes(a.stderr, "--resume");
      assert(!hasStackTrace(a.stderr));
      // --resume: a new pod on the same volumes, then the command
      const r = await w.k(["attach", "pool-idl", "--resume", "--command", "cat /workspace/f.txt"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "kept\n");
      assertMatch(r.stderr, /ready/);
      assertEquals((await sessionJson(w, "pool-idl")).status.phase, "Running");
      // and it stops again when left alone: resume keeps the setting (it is in the recorded settings)
      await stoppedIdle(w, "pool-idl");
      const res = await w.k(["resume", "pool-idl"]);
      assertEquals(res.code, 0, res.stderr);
      const again = await w.sh("pool-idl", "cat /workspace/f.txt");
      assertEquals(again.stdout, "kept\n");
    } finally {
      await purge(w, "pool-idl");
    }
  },
);

withSessionWorld(
  "idle stop and ttl: bad durations are one line and exit 2, before any request",
  {},
  async (_t, w) => {
    const cases: [string[], RegExp][] = [
      [["--idle-stop", "soon"], /invalid --idle-stop "soon"/],
      [["--idle-stop", "5s"], /invalid --idle-stop "5s": at least 10s/],
      [["--ttl", "-1h"], /invalid --ttl "-1h"/],
      [["--ttl", "0"], /invalid --ttl "0": must be longer than 0/],
      [["--ttl", "2020-01-01T00:00:00Z"], /invalid --ttl "2020-01-01T00:00:00Z": that time has passed/],
      [["--ttl", "2099-13-45T00:00:00Z"], /invalid --ttl "2099-13-45T00:00:00Z": not a time/],
    ];
    for (const [args, re] of cases) {
      const r = await w.k(["start", "bad", "--image", SESSION_IMAGE, "--no-sync", ...args]);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertMatch(r.stderr, re);
      assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
      assert(!hasStackTrace(r.stderr));
    }
    const left = await w.kc(["get", "pods,pvc,secrets", "-l", "kodama.dev/session=bad", "-o", "name"]);
    assertEquals(left.stdout.trim(), "");
  },
);

withSessionWorld(
  "idle stop: a running command keeps the session up, and so do fresh writes into the workspace",
  {
    family,
    // the writes come from outside the pod's processes, straight into the test server's volume directory
    ignore: onRealCluster,
  },
  async (_t, w) => {
    try {
      const s = await w.k(["start", "busy", "--image", SESSION_IMAGE, "--no-sync", "--idle-stop", "10s"]);
      assertEquals(s.code, 0, s.stderr);
      // a command running three times the idle time ends normally: the pod was up all along (an idle stop
      // would have ended the pod, and the command with it: restartPolicy Never)
      const cmd = await w.sh("busy", "sleep 30; echo done");
      assertEquals(cmd.code, 0, cmd.stderr);
      assertEquals(cmd.stdout, "done\n");
      const uid =
        (await w.kc(["get", "pod", await podOf(w, "busy"), "-o", "jsonpath={.metadata.uid}"])).stdout;
      // writes under the workspace from no process of the pod (another writer of the volume), every 2 s
      // for three times the idle time: checked while they go on, the same pod is still Running
      const dir = `${w.c.testServer!.stateDir}/pvcs/dev/kodama-workspace-busy`;
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          await Deno.writeTextFile(`${dir}/w${i % 3}.txt`, `${Date.now()}\n`);
          await new Promise((r) => setTimeout(r, 2000));
        }
      })();
      const t0 = Date.now();
      await waitUntil(() => Date.now() - t0 > 30_000, 60_000, "30 s of writes");
      const pod = await w.kc([
        "get",
        "pod",
        await podOf(w, "busy"),
        "-o",
        "jsonpath={.metadata.uid} {.status.phase}",
      ]);
      writing = false;
      await writer;
      assertEquals(pod.stdout, `${uid} Running`);
      // left alone, it stops
      await stoppedIdle(w, "busy");
    } finally {
      await purge(w, "busy");
    }
  },
);
