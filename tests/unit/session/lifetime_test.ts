/** Idle stop and expiry settings (session/lifecycle/lifetime.ts): parsing, limits, and the watchdog's shape. */
import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { KodamaError } from "../../../src/base/errors.ts";
import {
  IDLE_IGNORE_MARK,
  IDLE_MESSAGE,
  IDLE_STATE,
  idleGrace,
  idleTick,
  resolveIdleStop,
  resolveTtl,
  SYNC_WATCHER_MARK,
  TERMINATION_LOG,
  WATCHDOG,
  watchdogArgs,
} from "../../../src/session/lifecycle/lifetime.ts";
import { expiresText, statusText } from "../../../src/session/state/list.ts";
import { EXEC_HOLDER_MARK } from "../../../src/kube/execmark.ts";
import { formatDuration } from "../../../src/base/duration.ts";
import type { SessionView } from "../../../src/session/state/status.ts";

const usage = (fn: () => unknown, re: RegExp) => {
  const e = assertThrows(fn) as KodamaError;
  assert(e instanceof KodamaError, String(e));
  assertEquals(e.code, 2);
  assert(re.test(e.message), e.message);
};

Deno.test("resolveIdleStop: durations in seconds, 0 is off, under 10s and bad text are exit 2", () => {
  assertEquals(resolveIdleStop(undefined, "--idle-stop"), undefined);
  assertEquals(resolveIdleStop("30m", "--idle-stop"), 1800);
  assertEquals(resolveIdleStop("2d", "--idle-stop"), 172800);
  assertEquals(resolveIdleStop("10s", "--idle-stop"), 10);
  assertEquals(resolveIdleStop(60, "defaults.idleStop"), 60);
  assertEquals(resolveIdleStop("0", "--idle-stop"), undefined);
  usage(() => resolveIdleStop("9s", "--idle-stop"), /at least 10s/);
  usage(() => resolveIdleStop("soon", "--idle-stop"), /invalid --idle-stop "soon"/);
  usage(() => resolveIdleStop("-5m", "--idle-stop"), /invalid --idle-stop "-5m"/);
});

Deno.test("resolveTtl: a duration from now or a future time; zero, past or bad is exit 2", () => {
  const now = new Date("2026-11-23T12:00:00Z");
  assertEquals(resolveTtl("8h", "--ttl", now), "2026-11-23T20:00:00Z");
  assertEquals(resolveTtl("2026-12-01T18:00:00Z", "--ttl", now), "2026-12-01T18:00:00Z");
  assertEquals(resolveTtl(undefined, "--ttl", now), undefined);
  usage(() => resolveTtl("0", "--ttl", now), /must be longer than 0/);
  usage(() => resolveTtl("2026-11-23T11:00:00Z", "--ttl", now), /that time has passed/);
  usage(() => resolveTtl("2026-99-01T00:00:00Z", "--ttl", now), /not a time/);
  usage(() => resolveTtl("tomorrow", "--ttl", now), /invalid --ttl "tomorrow"/);
});

Deno.test("watchdog: POSIX sh with no $$ (Kubernetes would turn it into $), its tick bounded", () => {
  const text = WATCHDOG;
  assert(!text.includes("$$"), text);
  assert(!/grep -[a-zA-Z]*F/.test(text), "busybox grep -F stops at an environ file's first NUL");
  // what TypeScript and the pod agree on are literals in pod/watchdog.sh: the marks (as patterns that do not
  // match themselves), the files, the message
  const self = (m: string) => `${m.slice(0, -1)}[${m.slice(-1)}]`;
  assert(text.includes(`grep -q "${self(SYNC_WATCHER_MARK)}"`));
  assert(text.includes(`grep -q "${self(EXEC_HOLDER_MARK)}"`));
  assert(text.includes(`grep -q "${IDLE_IGNORE_MARK}"`));
  assert(text.includes(`\${KODAMA_IDLE_STATE:-${IDLE_STATE}}`));
  assert(text.includes(`\${KODAMA_TERMINATION_LOG:-${TERMINATION_LOG}}`));
  assert(text.includes(`idle_for="${IDLE_MESSAGE} for $4"`));
  assertEquals(watchdogArgs(1800), ["1800", "60", "30", formatDuration(1_800_000)]);
  assertEquals(watchdogArgs(100, 20), ["100", "10", "20", formatDuration(100_000)]);
  assertEquals(idleTick(10), 2);
  assertEquals(idleTick(1800), 60);
  assertEquals(idleTick(300), 30);
  // the wait for a connected sync's flush: a quarter of the idle time, 15 s to 30 s
  assertEquals(idleGrace(10), 15);
  assertEquals(idleGrace(100), 25);
  assertEquals(idleGrace(1800), 30);
});

Deno.test("list: STATUS says why and when a session stopped itself; EXPIRES counts both ways", () => {
  const now = Date.parse("2026-11-23T12:00:00Z");
  const v = {
    name: "a",
    namespace: "dev",
    status: "Stopped",
    reason: "idle",
    stoppedAt: "2026-11-23T11:55:00Z",
    pvcs: [],
    spec: { expiresAt: "2026-11-23T10:00:00Z" },
  } as unknown as SessionView;
  assertEquals(statusText(v, now), "Stopped (idle, 5m ago)");
  assertEquals(expiresText(v, now), "expired 120m ago");
  assertEquals(
    expiresText({ ...v, spec: { expiresAt: "2026-11-23T15:00:00Z" } } as SessionView, now),
    "in 3h",
  );
  assertEquals(expiresText({ ...v, spec: undefined } as SessionView, now), "<none>");
  assertEquals(
    statusText({ ...v, status: "Running", reason: undefined, stoppedAt: undefined }, now),
    "Running",
  );
});
