/**
 * Issue 80, black-box: a session's pod belongs to its Job, so a pod the cluster takes away (here a plain
 * `kubectl delete pod`, what a lost node's GC or a preemption amount to) comes back by itself on the same
 * volumes, with a new name, and every kodama command finds the new one by the session's labels; `stop` tells
 * the pod it is a stop (the mark on the home volume names the stopped pod) and leaves no Job behind.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { waitUntil } from "../cluster/harness.ts";
import { podOf, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

withSessionWorld(
  "session job: a deleted pod comes back by itself; stop leaves a stop mark and no Job",
  {},
  async (t, w) => {
    let first = "", uid = "";
    await t.step("start: a Job owns the pod; a file in the workspace", async () => {
      const r = await w.k(["start", "j", "--image", SESSION_IMAGE, "--no-sync"]);
      assertEquals(r.code, 0, r.stderr);
      first = await podOf(w, "j");
      assert(first.startsWith("kodama-j-"), first);
      uid = (await w.kc(["get", "pod", first, "-o", "jsonpath={.metadata.uid}"])).stdout;
      const kept = await w.k(["attach", "j", "--command", "echo kept > /workspace/k.txt"]);
      assertEquals(kept.code, 0, kept.stderr);
    });

    await t.step(
      "the pod deleted: the cluster makes a new one; attach reaches it with the file",
      async () => {
        assertEquals((await w.kc(["delete", "pod", first, "--wait=false"])).code, 0);
        // while it comes back, list never says Stopped: Restarting (Pending), Starting, then Running
        const seen = new Set<string>();
        await waitUntil(
          async () => {
            const r = await w.k(["list", "-o", "json"]);
            const s = JSON.parse(r.stdout).items[0]?.status ?? {};
            seen.add(s.phase);
            // Running and no longer restarting (a real node reports the new pod Running before it is Ready)
            return s.phase === "Running" && !s.restarting && (await podOf(w, "j")) !== first;
          },
          120_000,
          "the replacement pod Running",
        );
        assert(!seen.has("Stopped"), [...seen].join(","));
        const r = await w.k(["attach", "j", "--command", "cat /workspace/k.txt; echo $HOSTNAME"]);
        assertEquals(r.code, 0, r.stderr);
        const fresh = await podOf(w, "j");
        assertEquals(r.stdout, `kept\n${fresh}\n`);
        assert(fresh !== first);
      },
    );

    await t.step(
      "stop: the mark names the stopped pod, the Job and its pods are gone; resume brings it back",
      async () => {
        const pod = await podOf(w, "j");
        const stoppedUid = (await w.kc(["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"])).stdout;
        assert(stoppedUid && stoppedUid !== uid);
        const s = await w.k(["stop", "j"]);
        assertEquals(s.code, 0, s.stderr);
        assertEquals((await w.kc(["get", "job", "kodama-j"])).code, 1);
        assertEquals(
          (await w.kc(["get", "pods", "-l", "kodama.dev/session=j", "-o", "name"])).stdout.trim(),
          "",
        );
        const r = await w.k(["resume", "j"]);
        assertEquals(r.code, 0, r.stderr);
        const mark = await w.k(["attach", "j", "--command", "cat $HOME/.kodama/stopped"]);
        assertEquals(mark.code, 0, mark.stderr);
        assertStringIncludes(mark.stdout, `pod=${stoppedUid}\n`);
      },
    );

    await t.step("kubectl get jobs,pods -l kodama.dev/session=j shows the Job and its pod", async () => {
      const r = await w.kc(["get", "jobs,pods", "-l", "kodama.dev/session=j", "-o", "name"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "job.batch/kodama-j\n");
      assertStringIncludes(r.stdout, `pod/${await podOf(w, "j")}`);
      assertEquals((await w.k(["delete", "j", "--force", "--purge"])).code, 0);
    });
  },
);
