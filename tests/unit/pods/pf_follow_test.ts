/**
 * What a port-forward does when its pod goes away, in-process: the follower (src/pods/pf_follow.ts) against
 * the in-memory cluster (tests/cluster/memcluster.ts) on a manual clock (tests/_clock.ts), with the real
 * re-resolution of `--reconnect` (`reresolver`). The back-off is exact and takes no real time. The same
 * through the CLI, with listeners and streams, against the HTTPS server: tests/integration/portforward*_test.ts.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { PodFollower, RERESOLVE_BACKOFF } from "../../../src/pods/pf_follow.ts";
import { type ForwardTarget, reresolver } from "../../../src/pods/portforward.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { ManualClock } from "../../_clock.ts";
import { movedLine } from "../../../src/session/state/replaced.ts";

const NS = "default";

/** A follower of pod `name` (as read now), its events, and its end when it has no `reconnect`. */
async function follow(
  mem: MemCluster,
  name: string,
  o: { target?: ForwardTarget; clock?: ManualClock; moved?: (from: V1Pod, to: V1Pod) => string } = {},
) {
  const events: string[] = [];
  const lost = Promise.withResolvers<KodamaError>();
  const attempts = { n: 0 };
  const resolve = o.target ? reresolver(mem, o.target) : undefined;
  const pod = await mem.getObject<V1Pod>("pods", NS, name);
  const f = new PodFollower(mem, NS, { pod }, {
    onEvent: (e) => events.push(e),
    onLost: (e) => lost.resolve(e),
    reconnect: resolve && (() => (attempts.n++, resolve())),
    moved: o.moved,
    clock: o.clock,
  });
  return { f, events, lost: lost.promise, attempts };
}

function readyPod(mem: MemCluster, name: string, labels: Record<string, string> = { app: "api" }) {
  mem.addPod(name, { labels });
  mem.podReady(name);
}

Deno.test("port-forward follow: without --reconnect the pod's deletion ends it once, in kubectl's words", async () => {
  using mem = new MemCluster();
  readyPod(mem, "api-0");
  const { f, events, lost } = await follow(mem, "api-0");
  f.watchPod();
  await mem.whenWatching("pods");
  await mem.deleteObject("pods", NS, "api-0");
  const e = await lost;
  assertEquals(e.message, "lost connection to pod: pod api-0 is terminating");
  assertEquals(e.code, ExitCode.FAILED);
  assertEquals(e.hint, "use --reconnect to follow the target to a new pod");
  assertEquals(
    events,
    ["lost connection to pod: pod api-0 is terminating"],
    "the DELETED after it says nothing",
  );
  assert(f.closed);
  assertEquals(mem.watching("pods"), 0, "the watch is closed");
});

Deno.test("port-forward follow: a deletion between reading the pod and watching it is not missed", async () => {
  using mem = new MemCluster();
  readyPod(mem, "api-0");
  const { f, lost } = await follow(mem, "api-0"); // the pod as read before the deletion
  await mem.deleteObject("pods", NS, "api-0");
  f.watchPod(); // from the pod's resourceVersion: the deletion is replayed
  assertEquals((await lost).message, "lost connection to pod: pod api-0 is terminating");
});

Deno.test("port-forward follow: a finished pod ends the forward ('has succeeded')", async () => {
  using mem = new MemCluster();
  readyPod(mem, "job-0");
  const { f, lost } = await follow(mem, "job-0");
  f.watchPod();
  await mem.whenWatching("pods");
  mem.setPodStatus("job-0", { phase: "Succeeded" });
  assertEquals((await lost).message, "lost connection to pod: pod job-0 has succeeded");
});

Deno.test("port-forward follow: --reconnect backs off 250 ms doubling to 5 s, then follows the next ready pod", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  readyPod(mem, "api-0");
  const target: ForwardTarget = { kind: "select", flags: { namespace: NS, selector: "app=api" } };
  const { f, events, attempts } = await follow(mem, "api-0", { target, clock });
  f.watchPod();
  await mem.whenWatching("pods");
  await mem.deleteObject("pods", NS, "api-0");
  await clock.whenArmed(1); // the first attempt found no pod and waits
  assert(f.resolving);
  assertEquals(attempts.n, 1);
  assertEquals(events, [
    "pod api-0 is terminating; looking for a new pod",
    "waiting for a pod: no pods matched (namespace default, labels app=api, Running only)",
  ]);
  // each wait is exact: one attempt at the end of each, none before
  let expected = RERESOLVE_BACKOFF.firstMs;
  for (let i = 2; i <= 8; i++) {
    await clock.advance(expected - 1);
    assertEquals(attempts.n, i - 1, `attempt ${i} waits ${expected} ms`);
    await clock.advance(1);
    await clock.whenArmed(1);
    assertEquals(attempts.n, i);
    expected = Math.min(expected * 2, RERESOLVE_BACKOFF.maxMs);
  }
  assertEquals(expected, 5_000, "capped");
  assertEquals(events.length, 2, "the same reason is said once");
  // a connection arriving now waits for the pod
  const waiting = f.settled();
  readyPod(mem, "api-1");
  await clock.advance(expected);
  await waiting;
  assertEquals(f.resolving, false);
  assertEquals(f.current.pod.metadata?.name, "api-1");
  assertEquals(f.reconnects, 1);
  assertEquals(events.at(-1), "forwarding to pod/api-1 (was pod/api-0)");
  assertEquals(clock.armed, 0, "no wait left behind");
  // the watch moved: the new pod's going away starts it over
  await mem.whenWatching("pods");
  await mem.deleteObject("pods", NS, "api-1");
  await clock.whenArmed(1);
  assertEquals(events.at(-2), "pod api-1 is terminating; looking for a new pod");
  await f.close();
  await clock.advance(5_000);
  assertEquals(clock.armed, 0, "closed: no more attempts");
  assertEquals(mem.watching("pods"), 0);
});

Deno.test("port-forward follow: a connection waits at most its limit for a pod, then fails in one line", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  readyPod(mem, "api-0");
  const target: ForwardTarget = { kind: "select", flags: { namespace: NS, selector: "app=api" } };
  const { f } = await follow(mem, "api-0", { target, clock });
  f.watchPod();
  await mem.whenWatching("pods");
  await mem.deleteObject("pods", NS, "api-0");
  await clock.whenArmed(1);
  const waiting = f.settled(30_000);
  waiting.catch(() => {});
  await clock.advance(29_999);
  assert(f.resolving);
  await clock.advance(1);
  const e = await assertRejects(() => waiting);
  assert(e instanceof KodamaError);
  assertEquals(e.message, "no pod to forward to after 30s");
  assert(f.resolving, "the forward itself keeps looking");
  await f.close();
});

Deno.test("port-forward follow: a new pod under the same name is 'replaced', and taken once it is ready", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  readyPod(mem, "web-0", { app: "web" });
  const target: ForwardTarget = { kind: "pod", namespace: NS, name: "web-0" };
  const { f, events } = await follow(mem, "web-0", { target, clock });
  const oldUid = f.current.pod.metadata?.uid;
  f.watchPod();
  await mem.whenWatching("pods");
  // the watch misses the deletion (a stalled connection) and sees the StatefulSet's new pod
  mem.dropWatchEvents = true;
  await mem.deleteObject("pods", NS, "web-0");
  mem.dropWatchEvents = false;
  mem.addPod("web-0", { labels: { app: "web" } });
  await clock.whenArmed(1); // not ready yet: waiting
  assertEquals(events[0], "pod web-0 was replaced; looking for a new pod");
  assert(events[1].startsWith("waiting for a pod: "), events[1]);
  mem.podReady("web-0");
  await clock.advance(RERESOLVE_BACKOFF.firstMs);
  await f.settled();
  assert(f.current.pod.metadata?.uid !== oldUid, "the new pod");
  assertEquals(events.at(-1), "forwarding to pod/web-0 (was pod/web-0)");
  await f.close();
});

Deno.test("port-forward follow: a session's pod replaced says once what the cluster said of the old one", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  readyPod(mem, "kodama-fix-aaaaa", { "kodama.dev/session": "fix" });
  const target: ForwardTarget = {
    kind: "select",
    flags: { namespace: NS, selector: "kodama.dev/session=fix" },
  };
  const seen: Array<[V1Pod, V1Pod]> = [];
  const { f, events } = await follow(mem, "kodama-fix-aaaaa", {
    target,
    clock,
    moved: (from, to) => {
      seen.push([from, to]);
      return movedLine("fix", from, to, 0);
    },
  });
  f.watchPod();
  await mem.whenWatching("pods");
  await mem.deleteObject("pods", NS, "kodama-fix-aaaaa");
  await clock.whenArmed(1);
  readyPod(mem, "kodama-fix-bbbbb", { "kodama.dev/session": "fix" });
  await clock.advance(RERESOLVE_BACKOFF.firstMs);
  await f.settled();
  assertEquals(seen.length, 1);
  // the old pod as the watch last saw it: being deleted (a plain delete)
  assert(seen[0][0].metadata?.deletionTimestamp, "the old pod's last state");
  assertEquals(seen[0][1].metadata?.name, "kodama-fix-bbbbb");
  assertEquals(
    events.filter((e) => /^session fix: pod deleted; back in/.test(e)).length,
    1,
    events.join("\n"),
  );
  await f.close();
});
