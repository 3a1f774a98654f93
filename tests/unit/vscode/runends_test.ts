/**
 * The VS Code extension tells when a run of a session it knows ends (editors/vscode/src/runends.ts): from
 * one `kodama list -o json` to the next, a latest run that was `running…` and now has an outcome.
 */
import { assertEquals } from "@kodama/test-assert";
import { type ListedSession, runEndMessage, RunEndTracker } from "../../../editors/vscode/src/runends.ts";

const s = (name: string, agentOutcome?: string, namespace = "dev"): ListedSession => ({
  metadata: { name, namespace },
  status: { phase: "Running", ...(agentOutcome !== undefined ? { agentOutcome } : {}) },
});

Deno.test("vscode run ends: running → an outcome is told once; the first look only learns", () => {
  const t = new RunEndTracker();
  // already ended before the extension looked: not news
  assertEquals(t.look([s("a", "running"), s("b", "succeeded"), s("c")]), []);
  assertEquals(t.anyRunning(), true);
  assertEquals(t.look([s("a", "running (429, retry 2/10 in 5s)"), s("b", "succeeded"), s("c")]), []);
  const ended = t.look([
    s("a", "failed: invalid API key; Invalid API key \x1b[2J"),
    s("b", "succeeded"),
    s("c"),
  ]);
  assertEquals(ended, [{
    name: "a",
    namespace: "dev",
    outcome: "failed: invalid API key; Invalid API key  [2J",
    failed: true,
  }]);
  assertEquals(
    runEndMessage(ended[0]),
    "kodama: a's agent run failed: invalid API key; Invalid API key  [2J",
  );
  // told once
  assertEquals(t.look([s("a", "failed: invalid API key"), s("b", "succeeded")]), []);
  assertEquals(t.anyRunning(), false);
});

Deno.test("vscode run ends: a new run that succeeds is news; a session that appears is learnt first", () => {
  const t = new RunEndTracker();
  t.look([s("a", "succeeded")]);
  assertEquals(t.look([s("a", "running"), s("new", "running")]), []);
  assertEquals(t.look([s("a", "succeeded (no changes)"), s("new", "succeeded")]), [
    { name: "a", namespace: "dev", outcome: "succeeded (no changes)", failed: false },
    { name: "new", namespace: "dev", outcome: "succeeded", failed: false },
  ]);
  // the same name in another namespace is another session
  t.look([s("x", "running", "one"), s("x", "succeeded", "two")]);
  assertEquals(t.look([s("x", "stopped", "one"), s("x", "succeeded", "two")]).map((e) => e.namespace), [
    "one",
  ]);
});
