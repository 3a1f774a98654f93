/**
 * Idle stop (issue 34), the long wait of its own file so it runs beside the others (`deno test --parallel`
 * runs files side by side, a file's tests one after the other): a running command and fresh writes keep a
 * session with `--idle-stop` up; left alone, it stops.
 */
import { assertEquals } from "@std/assert";
import { onRealCluster, waitUntil } from "../cluster/harness.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { stoppedIdle } from "./_idle.ts";

withSessionWorld(
  "idle stop: a running command keeps the session up, and so do fresh writes into the workspace",
  {
    seed: "demo",
    timeoutMs: 300_000,
    // the writes come from outside the pod's processes, straight into the test server's volume directory
    ignore: onRealCluster,
  },
  async (_t, w) => {
    try {
      const s = await w.k(["start", "busy", "--image", SESSION_IMAGE, "--no-sync", "--idle-stop", "10s"]);
      assertEquals(s.code, 0, s.stderr);
      // a command running three times the idle time ends normally: the pod was up all along (an idle stop
      // would have ended the pod, and the command with it: restartPolicy Never)
      const cmd = await w.k(["attach", "busy", "--command", "sleep 30; echo done"]);
      assertEquals(cmd.code, 0, cmd.stderr);
      assertEquals(cmd.stdout, "done\n");
      const uid = (await w.kc(["get", "pod", "kodama-busy", "-o", "jsonpath={.metadata.uid}"])).stdout;
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
      const pod = await w.kc(["get", "pod", "kodama-busy", "-o", "jsonpath={.metadata.uid} {.status.phase}"]);
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
