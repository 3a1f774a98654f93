// The outcome classifier (src/agent/pod/outcome.js) on the errors of kodama's gateway (src/agent/pod/gateway.js),
// which come in the provider's own error shape: a budget (400), an unreachable upstream (502), a denied host.
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { causeOf, classify, factsOf } from "../../../src/agent/outcome/outcome.ts";

const INIT = `{"type":"system","subtype":"init","model":"claude-sonnet-4-5","session_id":"s"}`;
const result = (status: number, message: string) =>
  JSON.stringify({
    type: "result",
    subtype: "success",
    is_error: true,
    api_error_status: status,
    terminal_reason: "api_error",
    result: `API Error: ${status} ${
      JSON.stringify({ type: "error", error: { type: "invalid_request_error", message } })
    }`,
  });
const failed = { state: "failed", exitCode: 1 };

Deno.test("outcome: the gateway's budget error is the class budget, not a bad request or a quota", () => {
  const log = [INIT, result(400, "kodama-gateway: budget of $0.01 for session s1 is spent ($0.0123)")];
  const o = classify(factsOf(log.join("\n")), failed);
  assertEquals(o.class, "budget");
  assertEquals(o.retryable, false);
  assertStringIncludes(o.message, "kodama-gateway: budget");
});

Deno.test("outcome: the gateway's upstream error is unreachable (retryable), not overloaded", () => {
  const log = [INIT, result(502, "kodama-gateway: upstream api.anthropic.com unreachable (ECONNREFUSED)")];
  const o = classify(factsOf(log.join("\n")), failed);
  assertEquals(o.class, "unreachable");
  assertEquals(o.retryable, true);
  assertEquals(causeOf(502, undefined, "kodama-gateway: upstream x unreachable"), "unreachable");
  // without the gateway's words a 502 stays what it was
  assertEquals(causeOf(502, undefined, "Bad Gateway"), "overloaded");
});

Deno.test("outcome: a host the gateway denied is named in a failed run's message", () => {
  const tool = JSON.stringify({
    type: "user",
    message: {
      content: [{
        type: "tool_result",
        content:
          "curl: (56) CONNECT tunnel failed, response 403\nkodama-gateway: host evil.example is not in session s1's egress allow-list",
      }],
    },
  });
  const f = factsOf([INIT, tool, result(500, "Internal server error")].join("\n"));
  assertEquals(f.deniedHosts, ["evil.example"]);
  const o = classify(f, failed);
  assertStringIncludes(o.message, "the gateway denied egress to evil.example");
  // a run that never met the gateway says nothing of it
  const plain = classify(factsOf([INIT, result(500, "Internal server error")].join("\n")), failed);
  assertEquals(plain.message.includes("gateway"), false);
});

Deno.test("outcome: a gateway that is away (restarting) refuses or resets: unreachable, retried, in each CLI's words", () => {
  // what each CLI says when its base URL (the gateway's Service) refuses or resets the connection
  const words = [
    "API Error: Connection error.", // Claude Code
    "API Error: connect ECONNREFUSED 10.96.0.12:8080",
    "API Error: read ECONNRESET",
    "API Error: socket hang up",
    "stream disconnected before completion: error sending request for url (http://10.96.0.12:8080/p/openai/v1/responses)", // Codex
    "TypeError: fetch failed", // Gemini CLI
  ];
  for (const m of words) {
    const line = JSON.stringify({
      type: "result",
      subtype: "success",
      is_error: true,
      terminal_reason: "api_error",
      result: m,
    });
    const o = classify(factsOf([INIT, line].join("\n")), failed);
    assertEquals([o.class, o.retryable], ["unreachable", true], m);
  }
});
