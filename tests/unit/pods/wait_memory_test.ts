/**
 * `waitForPods` and `waitForWorkload` in-process: against the in-memory cluster (tests/cluster/memcluster.ts)
 * on a manual clock (tests/_clock.ts), so timeouts, the re-list safety net and polls are exact and take no
 * real time. The same commands against the HTTPS server and through the CLI: tests/integration/wait_test.ts.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { waitForPods, waitForWorkload } from "../../../src/pods/wait.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { ManualClock } from "../../_clock.ts";

const names = (pods: V1Pod[]) => pods.map((p) => p.metadata?.name);

/** The KodamaError `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<KodamaError> {
  const e = await assertRejects(() => p);
  assert(e instanceof KodamaError, `not a KodamaError: ${e}`);
  return e;
}

/** A progress log and a promise of its first line (the wait has listed: its watch is being opened). */
function progressLog() {
  const lines: string[] = [];
  const first = Promise.withResolvers<void>();
  const onProgress = (d: number, n: number, pending: string[]) => {
    lines.push(`${d}/${n} ${pending.join(",")}`);
    first.resolve();
  };
  return { lines, onProgress, started: first.promise };
}

Deno.test("wait (in memory): ready as the watch reports it, without any time passing", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  mem.addPod("api-0", { labels: { app: "api" } });
  mem.addPod("api-1", { labels: { app: "api" } });
  mem.addPod("web-0", { labels: { app: "web" } });
  const log = progressLog();
  const waiting = waitForPods(mem, { selector: "app=api" }, {
    for: "ready",
    timeoutMs: 60_000,
    clock,
    onProgress: log.onProgress,
  });
  await mem.whenWatching("pods");
  mem.podReady("api-0");
  mem.podReady("web-0");
  mem.podReady("api-1", false);
  mem.podReady("api-1");
  assertEquals(names(await waiting), ["api-0", "api-1"]);
  assertEquals(log.lines[0], "0/2 api-0,api-1");
  assertEquals(log.lines.at(-1), "2/2 ");
  assertEquals(clock.armed, 0, "the timeout and the re-list are cancelled");
  assertEquals(mem.watching("pods"), 0, "the watch is closed");
});

Deno.test("wait (in memory): the timeout fires at its time and names only the pods still pending", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  mem.addPod("ok", { labels: { app: "mix" } });
  mem.addPod("never", { labels: { app: "mix" } });
  mem.podReady("ok");
  mem.podReady("never", false);
  const waiting = waitForPods(mem, { selector: "app=mix" }, { for: "ready", timeoutMs: 90_000, clock });
  waiting.catch(() => {});
  await clock.whenArmed(2); // the timeout and the re-list
  await clock.advance(89_999);
  assert(await isPending(waiting), "not before its time");
  await clock.advance(1);
  const e = await failure(waiting);
  assertEquals(e.code, ExitCode.TIMEOUT);
  assertStringIncludes(
    e.message,
    "timed out after 1m30s: 1 of 2 pods not ready: never (Running, not ready: main)",
  );
  assertStringIncludes(e.hint ?? "", "raise --timeout");
});

Deno.test("wait (in memory): a stalled watch is caught up by the re-list, at the re-list period", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  mem.addPod("p");
  const waiting = waitForPods(mem, { pod: "p" }, { for: "ready", timeoutMs: -1, relistMs: 5000, clock });
  await mem.whenWatching("pods");
  mem.dropWatchEvents = true; // the connection stalls: the pod's change never arrives over it
  mem.podReady("p");
  await clock.advance(4999);
  assert(await isPending(waiting), "the watch said nothing");
  await clock.advance(1);
  assertEquals(names(await waiting), ["p"]);
});

Deno.test("wait (in memory): --for deleted sees the pod go; a pod gone before the watch opened, at once", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  mem.addPod("a");
  const log = progressLog();
  const waiting = waitForPods(mem, { pod: "a" }, { for: "deleted", timeoutMs: 30_000, clock, ...log });
  await mem.whenWatching("pods");
  await mem.deleteObject("pods", "default", "a");
  assertEquals(names(await waiting), ["a"]);
  assertEquals([log.lines[0], log.lines.at(-1)], ["0/1 a", "1/1 "]);

  // deleted between the wait's list and its watch: the watch starts from the list's resourceVersion, so
  // the DELETED reaches it with no time passing (it was the 5 s re-list's: every `delete` and `stop` whose
  // pod went in that gap took 5 s more)
  mem.addPod("b");
  const racing = progressLog();
  const late = waitForPods(mem, { pod: "b" }, { for: "deleted", timeoutMs: 30_000, clock, ...racing });
  await racing.started; // listed, the watch not yet open
  await mem.deleteObject("pods", "default", "b");
  await mem.whenWatching("pods");
  assertEquals(names(await late), ["b"]);
  assertEquals(racing.lines.at(-1), "1/1 ");

  // the same through a selector (a list, not a GET of one pod): its resourceVersion is the list's
  mem.addPod("c", { labels: { app: "c" } });
  const listed = progressLog();
  const bySelector = waitForPods(mem, { selector: "app=c" }, {
    for: "deleted",
    timeoutMs: 30_000,
    clock,
    ...listed,
  });
  await listed.started;
  await mem.deleteObject("pods", "default", "c");
  await mem.whenWatching("pods");
  assertEquals(names(await bySelector), ["c"]);
});

Deno.test("wait (in memory): nothing matched is exit 3; --for exists waits for the pod to appear", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  const none = await failure(
    waitForPods(mem, { selector: "app=nobody" }, { for: "ready", timeoutMs: 1000, clock }),
  );
  assertEquals(none.code, ExitCode.NOT_FOUND);
  assertStringIncludes(none.hint ?? none.message, "--for exists");

  const log = progressLog();
  const appearing = waitForPods(mem, { selector: "app=late" }, {
    for: "exists",
    timeoutMs: 30_000,
    clock,
    ...log,
  });
  await log.started;
  mem.addPod("late", { labels: { app: "late" } });
  assertEquals(names(await appearing), ["late"]);
});

Deno.test("wait (in memory): Ctrl-C is exit 130; a cluster gone away is named at the timeout", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  mem.addPod("p");
  const ac = new AbortController();
  const waiting = waitForPods(mem, { pod: "p" }, {
    for: "ready",
    timeoutMs: 10_000,
    clock,
    signal: ac.signal,
  });
  waiting.catch(() => {});
  await mem.whenWatching("pods");
  ac.abort();
  assertEquals((await failure(waiting)).code, ExitCode.INTERRUPTED);

  const cut = waitForPods(mem, { pod: "p" }, { for: "ready", timeoutMs: 10_000, clock });
  cut.catch(() => {});
  await mem.whenWatching("pods");
  mem.reach.down = true;
  await clock.advance(10_000);
  const e = await failure(cut);
  assertEquals(e.code, ExitCode.TIMEOUT);
  assertStringIncludes(e.message, "timed out after 10s: unreachable");
});

Deno.test("wait (in memory): a Deployment's own condition, polled each second until it holds or times out", async () => {
  using mem = new MemCluster();
  const clock = new ManualClock();
  await mem.createObject("deployments", "default", {
    metadata: { name: "api" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "api" } },
      template: {
        metadata: { labels: { app: "api" } },
        spec: { containers: [{ name: "main", image: "busybox" }] },
      },
    },
  });
  const t = { resource: { kind: "deployment" as const, name: "api" } };
  const cond = { kind: "condition" as const, type: "Progressing", status: "Unknown" };
  const lines: string[] = [];
  const waiting = waitForWorkload(mem, t, cond, { timeoutMs: 3000, clock, onProgress: (l) => lines.push(l) });
  waiting.catch(() => {});
  await clock.advance(3000);
  const e = await failure(waiting);
  assertEquals(e.code, ExitCode.TIMEOUT);
  assertStringIncludes(
    e.message,
    "timed out after 3s waiting for deploy/api Progressing=Unknown: Progressing=True",
  );
  assertEquals(lines.length, 1, `one line for an unchanged state: ${lines}`);

  assertEquals(
    await waitForWorkload(mem, t, { ...cond, status: "True" }, { timeoutMs: 3000, clock }),
    "deployment.apps/api",
  );
  const gone = await failure(
    waitForWorkload(mem, { resource: { kind: "deployment", name: "nope" } }, cond, {
      timeoutMs: 1000,
      clock,
    }),
  );
  assertEquals(gone.code, ExitCode.NOT_FOUND);
});

/** Has `p` not settled once everything runnable now has run? */
async function isPending(p: Promise<unknown>): Promise<boolean> {
  const mark = Symbol();
  const r = await Promise.race([
    p.then(() => undefined, () => undefined),
    new Promise((r) => setTimeout(() => r(mark), 0)),
  ]);
  return r === mark;
}
