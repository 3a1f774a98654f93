/** A workflow's port-forward step keeps each connection's lines out of the run's output (issue 52.10). */
import { assertEquals } from "@kodama/test-assert";
import { perConnection } from "../../../src/workflow/steps/port_forward.ts";

Deno.test("port-forward step: per-connection events are dropped, the forward's own news is kept", () => {
  assertEquals(perConnection("Handling connection for 8080"), true);
  assertEquals(perConnection("Closed connection for 8080 (12 B in, 40 B out)"), true);
  assertEquals(perConnection("pod api-0 is gone; reconnecting to api-1"), false);
  assertEquals(perConnection("error: connection refused by the pod on port 80"), false);
});
