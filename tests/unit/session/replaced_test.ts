/**
 * Issue 80: a follower of a session's pod (sync, `agent logs -f`, …) follows the pod the cluster made in
 * place of the one it took away, and says once what happened and how long the pod was away. The line and
 * the tracking are pure: views of the session as `requireSession` gives them.
 */
import { assertEquals } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { isReplacedLine, movedLine, PodTracker, replacedLine } from "../../../src/session/state/replaced.ts";
import type { SessionView } from "../../../src/session/state/status.ts";

Deno.test("replacedLine: the cause as the cluster said it, and the seconds away", () => {
  assertEquals(
    replacedLine("fix", { cause: "evicted", detail: "node memory pressure" }, 9_000),
    "session fix: pod evicted (node memory pressure); back in 9 s",
  );
  assertEquals(
    replacedLine("fix", { cause: "evicted", detail: "drained or evicted" }, 400),
    "session fix: pod evicted; back in 0 s",
  );
  assertEquals(
    replacedLine("a", { cause: "preempted" }, 12_400),
    "session a: pod preempted by a higher-priority pod; back in 12 s",
  );
  assertEquals(
    replacedLine("a", { cause: "node-lost" }, 125_000),
    "session a: pod lost with its node; back in 2 min 5 s",
  );
  assertEquals(
    replacedLine("a", { cause: "oom-killed" }, 60_000),
    "session a: pod killed (out of memory); back in 1 min",
  );
  assertEquals(replacedLine("a", undefined, -5), "session a: pod deleted; back in 0 s");
});

const pod = (
  name: string,
  uid: string,
  o: { ready?: string; deleting?: string; phase?: string } = {},
): V1Pod => ({
  metadata: { name, uid, ...(o.deleting ? { deletionTimestamp: o.deleting as unknown as Date } : {}) },
  status: {
    phase: o.phase ?? "Running",
    conditions: o.ready
      ? [{ type: "Ready", status: "True", lastTransitionTime: o.ready as unknown as Date }]
      : [],
  },
});

const view = (p: V1Pod | undefined, more: Partial<SessionView> = {}): SessionView =>
  ({ name: "fix", namespace: "dev", status: "Running", pod: p, pvcs: [], ...more }) as SessionView;

Deno.test("PodTracker: waits while restarting, then the new pod and one line timed by the cluster", () => {
  const old = pod("kodama-fix-aaaaa", "u1", { ready: "2026-01-01T00:00:00Z" });
  const t = new PodTracker("fix", old);
  assertEquals(t.see(view(old)).kind, "same");
  const going = pod("kodama-fix-aaaaa", "u1", { deleting: "2026-01-01T00:01:30Z" });
  const restart = { cause: "evicted" as const, detail: "node memory pressure", at: "2026-01-01T00:01:00Z" };
  assertEquals(t.see(view(going, { status: "Pending", restart })).kind, "waiting");
  const starting = pod("kodama-fix-bbbbb", "u2", { phase: "Pending" });
  // the restart's cause stays the first one the cluster gave (a later view may say less)
  assertEquals(t.see(view(starting, { status: "Pending", restart: {} })).kind, "waiting");
  const fresh = pod("kodama-fix-bbbbb", "u2", { ready: "2026-01-01T00:01:09Z" });
  const step = t.see(view(fresh));
  assertEquals(step.kind, "moved");
  if (step.kind === "moved") {
    assertEquals(step.line, "session fix: pod evicted (node memory pressure); back in 9 s");
    assertEquals(step.pod.metadata?.uid, "u2");
  }
  assertEquals(t.pod.metadata?.uid, "u2");
  // said once: the next look is the same pod
  assertEquals(t.see(view(fresh)).kind, "same");
});

Deno.test("PodTracker: a replacement found late is told from what the old pod said, else deleted", () => {
  const old = pod("kodama-fix-aaaaa", "u1");
  const t = new PodTracker("fix", old);
  const fresh = pod("kodama-fix-ccccc", "u3", { ready: "2026-01-01T00:00:20Z" });
  const step = t.see(view(fresh), Date.parse("2026-01-01T00:00:30Z"), {
    cause: "node-lost",
    at: "2026-01-01T00:00:05Z",
  });
  assertEquals(step.kind === "moved" && step.line, "session fix: pod lost with its node; back in 15 s");
  const t2 = new PodTracker("fix", old);
  t2.noticed(Date.parse("2026-01-01T00:00:17Z"));
  const s2 = t2.see(view(fresh), Date.parse("2026-01-01T00:00:30Z"));
  assertEquals(s2.kind === "moved" && s2.line, "session fix: pod deleted; back in 3 s");
});

Deno.test("PodTracker: a stopped or failed session is not a replacement; a resume is followed silently", () => {
  const old = pod("kodama-fix-aaaaa", "u1");
  const t = new PodTracker("fix", old);
  assertEquals(t.see(view(undefined, { status: "Stopped" })).kind, "same");
  const other = pod("kodama-fix-ddddd", "u4", { phase: "Failed" });
  assertEquals(t.see(view(other, { status: "Failed" })).kind, "other");
  const resumed = pod("kodama-fix-eeeee", "u5", { ready: "2026-01-01T00:00:20Z" });
  t.reset(resumed);
  assertEquals(t.see(view(resumed)).kind, "same");
});

Deno.test("isReplacedLine: the follower's line, with or without kodama's prefix, and nothing else", () => {
  for (const ms of [0, 9_000, 60_000, 125_000]) {
    const l = replacedLine("fix", { cause: "evicted", detail: "node memory pressure" }, ms);
    assertEquals(isReplacedLine(l), true, l);
    assertEquals(isReplacedLine(`kodama: ${l}\n`), true, l);
  }
  assertEquals(isReplacedLine("kodama: the log stream was cut (x); trying again for up to 2 minutes"), false);
  assertEquals(isReplacedLine("session fix: pod deleted; back in 4 s; and more"), false);
  assertEquals(isReplacedLine("an agent's own line: session x: pod deleted; back in 4 s"), false);
});

Deno.test("movedLine: the old pod's last state says why (its DisruptionTarget condition), timed to the new one's readiness", () => {
  const old: V1Pod = {
    metadata: {
      name: "kodama-fix-aaaaa",
      uid: "u1",
      deletionTimestamp: "2026-01-01T00:00:40Z" as unknown as Date,
    },
    status: {
      phase: "Running",
      conditions: [{
        type: "DisruptionTarget",
        status: "True",
        reason: "PreemptionByScheduler",
        lastTransitionTime: "2026-01-01T00:00:10Z" as unknown as Date,
      }],
    },
  };
  const fresh = pod("kodama-fix-bbbbb", "u2", { ready: "2026-01-01T00:00:24Z" });
  assertEquals(
    movedLine("fix", old, fresh),
    "session fix: pod preempted by a higher-priority pod; back in 14 s",
  );
  // a pod that said nothing: deleted, timed from now
  assertEquals(movedLine("fix", pod("x", "u3"), pod("y", "u4"), 5), "session fix: pod deleted; back in 0 s");
});
