/** Helpers of the idle-stop tests (session_idle_test.ts). */
import { assertEquals } from "@kodama/test-assert";
import { waitUntil } from "../cluster/harness.ts";
import type { SessionWorld } from "./_session.ts";

export async function sessionJson(w: SessionWorld, name: string) {
  const g = await w.k(["session", "get", name, "-o", "json"]);
  assertEquals(g.code, 0, g.stderr);
  return JSON.parse(g.stdout);
}

/** Wait (generously: the watchdog looks every 2 s, the machine may be loaded) until it stopped itself. */
export async function stoppedIdle(w: SessionWorld, name: string) {
  let last: Record<string, unknown> = {};
  await waitUntil(
    async () => {
      last = await w.status(name);
      return last.phase === "Stopped" && last.reason === "idle";
    },
    120_000,
    `session ${name} stopped idle`,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`);
  });
  return last;
}
