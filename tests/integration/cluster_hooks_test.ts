/**
 * A container's postStart hook as a v1.24 kubelet runs it (seen on the real cluster of ../shared/real-cluster):
 * the container's Started event comes first, but until the hook ends the container stays `waiting`
 * (ContainerCreating), the pod Pending and not Ready; a hook that fails is a FailedPostStartHook event
 * (`Exec lifecycle hook ([ARGV]) … exited with N: OUTPUT`), then `Killing: FailedPostStartHook` and the
 * container's stop, whose exit takes the restartPolicy. kodama's sessions copy their editor configs in
 * such a hook, so a session is Ready only once they are there. Runs against a real cluster too.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import {
  KODAMA_TEST_IMAGE,
  kubectl,
  type PodEvent,
  podEvents,
  tempNamespace,
  type TestCluster,
  waitUntil,
} from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";

async function pod(c: TestCluster, ns: string, name: string) {
  const r = await kubectl(c, ["get", "pod", name, "-n", ns, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A hook that fails once the container's TERM handler is set (under load the hook may run first). */
const FAILING = "until [ -e /tmp/trapped ]; do sleep 0.1; done; echo nope >&2; exit 3";
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function manifest(name: string, hook: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 5,
      containers: [{
        name: "c",
        image: KODAMA_TEST_IMAGE,
        imagePullPolicy: "IfNotPresent",
        // /tmp/trapped: its TERM handler is set (a hook that fails waits for it, so the stop's exit is 0)
        command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/trapped; sleep 3600 & wait"],
        lifecycle: { postStart: { exec: { command: ["sh", "-c", hook] } } },
      }],
    },
  });
}

clusterTest("postStart hooks: the container is not running until its hook ends; a failed hook stops it", {
  seed: "none",
}, async (t, c) => {
  const ns = await tempNamespace(c, "fidelity-hooks");
  try {
    await t.step(
      "a hook that has not ended: Started said, the container waiting, the pod Pending, not Ready",
      async () => {
        const r = await kubectl(c, ["apply", "-n", ns.name, "-f", "-"], {
          stdin: manifest("slow", "sleep 3600"),
        });
        assertEquals(r.code, 0, r.stderr);
        await waitUntil(
          async () => (await podEvents(c, ns.name, "slow")).some((e) => e.reason === "Started"),
          120_000,
          "the Started event",
        );
        const p = await pod(c, ns.name, "slow");
        assertEquals(p.status.phase, "Pending");
        assertEquals(p.status.containerStatuses?.[0]?.state?.waiting?.reason, "ContainerCreating");
        assertEquals(p.status.containerStatuses?.[0]?.ready, false);
        assert(
          !p.status.conditions?.some((x: { type: string; status: string }) =>
            x.type === "Ready" && x.status === "True"
          ),
        );
      },
    );

    await t.step("a hook that ends: Running and Ready after it", async () => {
      const r = await kubectl(c, ["apply", "-n", ns.name, "-f", "-"], {
        stdin: manifest("quick", "echo hooked > /tmp/h"),
      });
      assertEquals(r.code, 0, r.stderr);
      const w = await kubectl(c, [
        "wait",
        "-n",
        ns.name,
        "pod/quick",
        "--for=condition=Ready",
        "--timeout=120s",
      ]);
      assertEquals(w.code, 0, w.stderr);
      const x = await kubectl(c, ["exec", "-n", ns.name, "quick", "--", "cat", "/tmp/h"]);
      assertEquals(x.stdout, "hooked\n", x.stderr);
    });

    await t.step(
      "a hook that fails: FailedPostStartHook with its output, Killing, the container stopped",
      async () => {
        const r = await kubectl(c, ["apply", "-n", ns.name, "-f", "-"], {
          stdin: manifest("failing", FAILING),
        });
        assertEquals(r.code, 0, r.stderr);
        await waitUntil(
          async () => ["Succeeded", "Failed"].includes((await pod(c, ns.name, "failing")).status.phase),
          120_000,
          "the pod's end",
        );
        const p = await pod(c, ns.name, "failing");
        // the container's TERM handler ends it: exit 0
        assertEquals(p.status.phase, "Succeeded");
        assertEquals(p.status.containerStatuses[0].state.terminated.exitCode, 0);
        let evs: PodEvent[] = [];
        await waitUntil(
          async () => (evs = await podEvents(c, ns.name, "failing")).some((e) => e.reason === "Killing"),
          30_000,
          "the Killing event",
        ).catch(() => {});
        const failed = evs.find((e) => e.reason === "FailedPostStartHook");
        assertEquals(failed?.type, "Warning");
        assertMatch(
          failed?.message ?? "",
          new RegExp(
            `^Exec lifecycle hook \\(\\[sh -c ${
              re(FAILING)
            }\\]\\) for Container "c" in Pod "failing_fidelity-hooks-[0-9a-f]+\\([0-9a-f-]+\\)" failed - error: command 'sh -c ${
              re(FAILING)
            }' exited with 3: nope\\n, message: "nope\\\\n"$`,
          ),
        );
        assert(
          evs.some((e) =>
            e.type === "Normal" && e.reason === "Killing" && e.message === "FailedPostStartHook"
          ),
        );
      },
    );
  } finally {
    await ns.remove();
  }
});
