// The outcome classifier (src/agent/pod/outcome.js, shared by the pod's runner and kodama) on recorded
// lines of the real CLIs: Claude Code 2.1's stream-json (result's is_error / api_error_status /
// terminal_reason, system/api_retry, rate_limit_event, system/model_fallback), Codex's --json
// (turn.failed, error items), the Gemini CLI's stream-json (result.error, exit codes 41/42/53).
import { assert, assertEquals } from "@kodama/test-assert";
import { classify, factsOf, outcomeText, waitingText } from "../../../src/agent/outcome/outcome.ts";

const fixture = (n: string) =>
  Deno.readTextFileSync(new URL(`../../fixtures/agents/${n}.jsonl`, import.meta.url));

const claudeResult = (o: Record<string, unknown>) =>
  JSON.stringify({
    type: "result",
    subtype: "success",
    is_error: true,
    num_turns: 1,
    total_cost_usd: 0,
    api_error_status: null,
    terminal_reason: "api_error",
    ...o,
  });
const INIT = `{"type":"system","subtype":"init","model":"claude-opus-5-5","session_id":"s"}`;
const retry = (status: number | null, attempt: number, delay = 15000) =>
  JSON.stringify({
    type: "system",
    subtype: "api_retry",
    attempt,
    max_retries: 10,
    retry_delay_ms: delay,
    error_status: status,
    error: status === 529 ? "overloaded" : status === 429 ? "rate_limit" : "unknown",
  });

const failedEnd = { state: "failed", exitCode: 1 };

Deno.test("outcome: Claude Code's result says the class, never its subtype alone", () => {
  const cases: [string, string, boolean][] = [
    [
      claudeResult({
        api_error_status: 529,
        result: 'API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}',
      }),
      "overloaded",
      true,
    ],
    [
      claudeResult({ api_error_status: 429, result: "API Error: Request rejected (429)" }),
      "rate-limited",
      true,
    ],
    [
      claudeResult({ api_error_status: 401, result: "Invalid API key · Fix external API key" }),
      "auth",
      false,
    ],
    [claudeResult({ api_error_status: null, result: "Not logged in · Please run /login" }), "auth", false],
    [
      claudeResult({ api_error_status: 404, result: "API Error: 404 model: claude-nope not found" }),
      "model",
      false,
    ],
    [
      claudeResult({
        api_error_status: 400,
        result: "Your credit balance is too low to access the Anthropic API",
      }),
      "quota",
      false,
    ],
    [
      claudeResult({ subtype: "error_max_turns", terminal_reason: "max_turns", result: undefined }),
      "budget",
      false,
    ],
  ];
  for (const [line, cls, retryable] of cases) {
    const o = classify(factsOf([INIT, line].join("\n")), failedEnd);
    assertEquals([o.class, o.retryable], [cls, retryable], line);
  }
  // the recorded unreachable run: subtype "success" with is_error, api_error connection_failed
  const o = classify(factsOf(fixture("claude-unreachable")), failedEnd);
  assertEquals([o.class, o.retryable], ["unreachable", true]);
  assertEquals(outcomeText(o), "failed: model API unreachable (retryable)");
  const key = classify(
    factsOf(claudeResult({ api_error_status: 401, result: "Invalid API key" })),
    failedEnd,
  );
  assertEquals(outcomeText(key), "failed: invalid API key");
});

Deno.test("outcome: retries on the way are counted; a run that got through says it", () => {
  const log = [INIT, retry(529, 1), retry(529, 2), fixture("claude-commit").split("\n").slice(1).join("\n")]
    .join(
      "\n",
    );
  const f = factsOf(log);
  assertEquals([f.apiRetries, f.overloads], [2, 2]);
  assertEquals(f.models, ["claude-opus-5-5"]);
  // the init's context-window tag (`[1m]`) is the same model as the messages' plain name
  const tagged = factsOf(log.replace('"model":"claude-opus-5-5"', '"model":"claude-opus-5-5[1m]"'));
  assertEquals(tagged.models, ["claude-opus-5-5"]);
  const o = classify(f, { state: "succeeded", exitCode: 0 });
  assertEquals(o.class, "succeeded");
  assertEquals(outcomeText(o, f), "succeeded (after 2 overloads)");
  assertEquals(f.waiting, undefined, "the retries are over");
  // no changes, denied
  assertEquals(classify(f, { state: "succeeded", exitCode: 0, changed: false }).class, "no-changes");
  assertEquals(classify(f, { state: "succeeded", exitCode: 0, changed: false, denied: 2 }).class, "denied");
});

Deno.test("outcome: a wait in progress is known from the log's tail: reason, until, attempt", () => {
  const now = Date.parse("2026-11-26T16:00:00Z");
  const f = factsOf([INIT, retry(429, 3, 15000)].join("\n"), now);
  assertEquals(f.waiting, { reason: "429", until: "2026-11-26T16:00:15.000Z", attempt: 3, of: 10 });
  assertEquals(waitingText(f.waiting, now), "running (429, retry 3/10 in 15s)");
  assertEquals(waitingText(undefined), "running");
  // past its time the retry is on its way
  assertEquals(waitingText(f.waiting, Date.parse(f.waiting!.until!) + 2000), "running (429, retrying 3/10)");
  // a rate limit's reset time is the retry time
  const rl = factsOf(
    [
      INIT,
      `{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1788441600,"rateLimitType":"five_hour"}}`,
      claudeResult({ api_error_status: 429, result: "API Error: rate limited" }),
    ].join("\n"),
  );
  const o = classify(rl, failedEnd);
  assertEquals([o.class, o.retryAt], ["rate-limited", new Date(1788441600 * 1000).toISOString()]);
});

Deno.test("outcome: a model fallback names every model that answered", () => {
  const f = factsOf([
    INIT,
    `{"type":"system","subtype":"model_fallback","trigger":"overloaded","original_model":"claude-opus-5-5","fallback_model":"claude-sonnet-5"}`,
    `{"type":"assistant","message":{"id":"m1","model":"claude-sonnet-5","content":[{"type":"text","text":"hi"}]}}`,
  ].join("\n"));
  assertEquals(f.models, ["claude-opus-5-5", "claude-sonnet-5"]);
});

Deno.test("outcome: Codex ends with turn.failed; its other error items are not the end", () => {
  const base = `{"type":"thread.started","thread_id":"t"}\n{"type":"turn.started"}\n`;
  const c = (msg: string) =>
    classify(factsOf(base + JSON.stringify({ type: "turn.failed", error: { message: msg } })), failedEnd)
      .class;
  assertEquals(c("exceeded retry limit, last status: 429 Too Many Requests"), "rate-limited");
  assertEquals(c("You've hit your usage limit. Upgrade to Pro or try again later."), "quota");
  assertEquals(c("unexpected status 401 Unauthorized: Incorrect API key provided"), "auth");
  assertEquals(c("unexpected status 503 Service Unavailable"), "overloaded");
  assertEquals(c("The model `gpt-nope` does not exist or you do not have access to it."), "model");
  assertEquals(classify(factsOf(fixture("codex-unreachable")), failedEnd).class, "unreachable");
  // a Reconnecting error is a retry, not the end
  const f = factsOf(fixture("codex-unreachable"));
  assert(f.apiRetries >= 2 && f.netRetries >= 2);
});

Deno.test("outcome: Gemini's result.error and its exit codes 41 (auth), 53 (turn limit)", () => {
  assertEquals(classify(factsOf(fixture("gemini-unreachable")), failedEnd).class, "unreachable");
  const init = `{"type":"init","model":"gemini-2.5-pro","session_id":"g"}`;
  assertEquals(classify(factsOf(init), { state: "failed", exitCode: 41 }).class, "auth");
  assertEquals(classify(factsOf(init), { state: "failed", exitCode: 53 }).class, "budget");
  const quota =
    `{"type":"result","status":"error","error":{"type":"api_error","message":"[API Error: 429 Resource has been exhausted (e.g. check quota).]"},"stats":{}}`;
  assertEquals(classify(factsOf(init + "\n" + quota), failedEnd).class, "quota");
});

Deno.test("outcome: kodama's own end and state: stalled, budget, stopped, interrupted, a plain failure", () => {
  const f = factsOf(INIT);
  assertEquals(classify(f, { state: "failed", exitCode: 124, endedBy: "stalled" }).class, "stalled");
  assertEquals(classify(f, { state: "failed", exitCode: 143, endedBy: "budget" }).class, "budget");
  assertEquals(classify(f, { state: "stopped" }).class, "interrupted");
  assertEquals(outcomeText(classify(f, { state: "stopped" })), "stopped");
  assertEquals(classify(f, { state: "interrupted" }).class, "interrupted");
  const plain = classify(factsOf("some text\n"), { state: "failed", exitCode: 3 });
  assertEquals([plain.class, plain.message, outcomeText(plain)], ["failed", "some text", "failed"]);
  // a custom command's last line of text says the cause
  assertEquals(
    classify(factsOf("working\nAPI Error: 529 overloaded\n"), { state: "failed", exitCode: 1 }).class,
    "overloaded",
  );
  assertEquals(classify(factsOf(""), { state: "failed", exitCode: 3 }).message, "exited 3");
  // a continuation marker: the earlier end no longer counts, the later one does
  const cont = factsOf([
    INIT,
    claudeResult({ api_error_status: 529, result: "API Error: 529 overloaded" }),
    `{"type":"kodama","event":"continue","reason":"overloaded","attempt":1,"of":6}`,
    fixture("claude-commit").split("\n").slice(1).join("\n"),
  ].join("\n"));
  assertEquals(cont.continuations, 1);
  const o = classify(cont, { state: "succeeded", exitCode: 0 });
  assertEquals([o.class, outcomeText(o, cont)], ["succeeded", "succeeded (after 1 overload)"]);
});

Deno.test("a failed run's note leaves out the words its outcome already says", async () => {
  const { beyond, runNotes } = await import("../../../src/agent/outcome/runtruth.ts");
  assertEquals(
    beyond("invalid API key (HTTP 401 authentication_failed)", "failed: invalid API key"),
    "HTTP 401 authentication_failed",
  );
  assertEquals(beyond("Invalid API key", "failed: invalid API key"), "");
  // anything else is kept whole: another error, or an outcome that names no reason
  assertEquals(
    beyond("Error: Invalid API key · Fix", "failed: invalid API key"),
    "Error: Invalid API key · Fix",
  );
  assertEquals(beyond("failed to reach the API", "failed"), "failed to reach the API");
  const run = {
    state: "failed" as const,
    exitCode: 1,
    truth: {
      error: "invalid API key (HTTP 401 authentication_failed)",
      outcome: {
        class: "auth" as const,
        retryable: false,
        message: "invalid API key (HTTP 401 authentication_failed)",
      },
    },
  };
  assertEquals(runNotes(run as Parameters<typeof runNotes>[0]), ["HTTP 401 authentication_failed"]);
  // no error from the agent: the outcome's own message is the note, held to the same rule
  const ended = { ...run, truth: { outcome: run.truth.outcome } };
  assertEquals(runNotes(ended as Parameters<typeof runNotes>[0]), ["HTTP 401 authentication_failed"]);
});

Deno.test("outcome and stream: one rule names the agent of every real CLI's log (pod/outcome.js's agentOfLine)", async () => {
  const { parseStream } = await import("../../../src/agent/outcome/stream.ts");
  const dir = new URL("../../fixtures/agents/", import.meta.url);
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(new URL(e.name, dir));
    const want = e.name.split("-")[0];
    assertEquals(factsOf(text).agent, want, `${e.name}: the classifier`);
    const init = parseStream(text).find((x) => x.kind === "init");
    assertEquals(init?.kind === "init" ? init.agent : undefined, want, `${e.name}: the stream parser`);
    n++;
  }
  assert(n >= 6, `${n} fixtures`);
});
