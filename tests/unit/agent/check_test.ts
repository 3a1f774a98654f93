/** agent check's pure core (src/agent/credentials/check.ts): the real APIs' request shapes, the SSE facts, the verdicts. */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  checkPlan,
  judge,
  type Probe,
  sseFacts,
  tokensPerSecond,
  VERDICT_EXIT,
} from "../../../src/agent/credentials/check.ts";
import { credentialProblem } from "../../../src/agent/credentials/preflight.ts";

Deno.test("check: each preset's smallest streaming request, the key by variable name only", () => {
  const c = checkPlan("claude", "claude-sonnet-4-5");
  assertEquals(c.path, "/v1/messages");
  assertEquals(c.headers["anthropic-version"], "2023-06-01");
  assertEquals((c.body as { max_tokens: number; stream: boolean }).max_tokens, 1);
  assertEquals((c.body as { stream: boolean }).stream, true);
  assertEquals(c.keys.map((k) => k.variable), [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
  ]);
  const o = checkPlan("codex", "gpt-5-codex");
  assertEquals([o.baseVar, o.defaultBase, o.path], [
    "OPENAI_BASE_URL",
    "https://api.openai.com/v1",
    "/responses",
  ]);
  assertEquals((o.body as { max_output_tokens: number }).max_output_tokens, 16);
  const g = checkPlan("gemini", "gemini-2.5-pro", 8);
  assertEquals(g.path, "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
  assertEquals(g.keys[0].header, "x-goog-api-key");
  assertEquals(
    (g.body as { generationConfig: { maxOutputTokens: number } }).generationConfig.maxOutputTokens,
    8,
  );
  // no plan carries a secret: it is what goes to a pod's check program on stdin
  for (const p of [c, o, g]) assert(!JSON.stringify(p).includes("sk-"));
});

Deno.test("check: the three streams' first content, usage and error events", () => {
  assertEquals(sseFacts('data: {"type":"content_block_delta","delta":{"text":"o"}}'), { content: true });
  assertEquals(sseFacts('data: {"type":"message_delta","usage":{"output_tokens":1}}'), { outputTokens: 1 });
  assertEquals(sseFacts('data: {"type":"response.output_text.delta","delta":"ok"}'), { content: true });
  assertEquals(sseFacts('data: {"type":"response.completed","response":{"usage":{"output_tokens":5}}}'), {
    outputTokens: 5,
  });
  assertEquals(sseFacts('data: {"candidates":[{}],"usageMetadata":{"candidatesTokenCount":3}}'), {
    content: true,
    outputTokens: 3,
  });
  assertEquals(
    sseFacts('data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}').error,
    "Overloaded",
  );
  assertEquals(sseFacts("event: ping"), {});
  assertEquals(sseFacts("data: [DONE]"), {});
});

const probe = (p: Partial<Probe>): Probe => ({
  keyVar: "ANTHROPIC_API_KEY",
  baseUrl: "http://x",
  headers: {},
  ...p,
});

Deno.test("check: verdicts and their exit codes (4 auth, 3 model, 1 transient, 5 no answer)", () => {
  const v = (p: Partial<Probe>) => judge(probe(p)).verdict;
  assertEquals(v({ status: 200 }), "ok");
  assertEquals(judge({ baseUrl: "x", headers: {} }).verdict, "no-key");
  assertEquals(v({ status: 401, body: '{"error":{"message":"invalid x-api-key"}}' }), "auth");
  assertEquals(v({ status: 403 }), "auth");
  assertEquals(
    v({ status: 400, body: '[{"error":{"message":"API key not valid","status":"INVALID_ARGUMENT"}}]' }),
    "auth",
  );
  assertEquals(v({ status: 404 }), "model");
  assertEquals(v({ status: 400, body: '{"error":{"code":"model_not_found"}}' }), "model");
  assertEquals(v({ status: 429, headers: { "retry-after": "15" } }), "rate-limited");
  assert(judge(probe({ status: 429, headers: { "retry-after": "15" } })).message.includes("retry after 15s"));
  assertEquals(v({ status: 529 }), "overloaded");
  assertEquals(v({ status: 503 }), "overloaded");
  assertEquals(v({ error: "connection refused" }), "unreachable");
  assertEquals(v({ error: "no answer in 5s" }), "timeout");
  assertEquals(v({ status: 200, streamError: "Overloaded" }), "overloaded");
  assertEquals(v({ status: 418 }), "failed");
  assertEquals(
    [
      VERDICT_EXIT.ok,
      VERDICT_EXIT.auth,
      VERDICT_EXIT["no-key"],
      VERDICT_EXIT.model,
      VERDICT_EXIT["rate-limited"],
      VERDICT_EXIT.timeout,
    ],
    [0, 4, 4, 3, 1, 5],
  );
  assertEquals(tokensPerSecond(probe({ outputTokens: 11, firstTokenMs: 100, doneMs: 1100 })), 10);
  assertEquals(tokensPerSecond(probe({ outputTokens: 1, firstTokenMs: 100, doneMs: 110 })), undefined);
});

Deno.test("preflight: the plan's credential variables, a key in the wrong one named", () => {
  const agent = { preset: "claude", command: ["claude"], continueArgs: [] };
  assertEquals(credentialProblem({ agent, envVars: ["ANTHROPIC_BASE_URL"] }, {}), {
    missing: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"],
  });
  assertEquals(
    credentialProblem({ agent, envVars: ["CLAUDE_CODE_OAUTH_TOKEN"] }, { CLAUDE_CODE_OAUTH_TOKEN: "t" }),
    undefined,
  );
  assertEquals(
    credentialProblem({ agent, envVars: ["ANTHROPIC_API_KEY"] }, { ANTHROPIC_API_KEY: "sk-proj-abc" }),
    { wrong: "this is an OpenAI key in ANTHROPIC_API_KEY (it belongs in OPENAI_API_KEY)" },
  );
  // a custom command's credentials are its own business
  assertEquals(credentialProblem({ agent: { ...agent, preset: "custom" }, envVars: [] }, {}), undefined);
  assertEquals(credentialProblem({ envVars: [] }, {}), undefined);
});
