import { assertEquals } from "@std/assert";
import {
  passedReplicas,
  session,
  sessionArgv,
  type SessionSpec,
} from "../../../src/workflow/steps/session.ts";

Deno.test("session step: each verb is one kodama command line; the prompt is never in it", () => {
  assertEquals(
    sessionArgv({
      start: {
        name: "fix",
        replicas: 3,
        repo: "./r",
        prompt: "secret task",
        check: "npm test",
        variants: { "2": "claude -p --model opus" },
        timeout: 90,
      },
    }, { repo: "/abs/r" }),
    [
      "start",
      "fix",
      "--replicas",
      "3",
      "--repo",
      "/abs/r",
      "--prompt-file",
      "-",
      "--check",
      "npm test",
      "--agent-variant",
      "2=claude -p --model opus",
      "--timeout",
      "90s",
    ],
  );
  assertEquals(sessionArgv({ wait: "fix" }, {}, 60_000), [
    "compare",
    "fix",
    "--wait",
    "--timeout",
    "60s",
    "-o",
    "json",
  ]);
  assertEquals(sessionArgv({ wait: "fix", timeout: "10m" }, {}), [
    "compare",
    "fix",
    "--wait",
    "--timeout",
    "10m",
    "-o",
    "json",
  ]);
  assertEquals(sessionArgv({ compare: "fix" }, {}), ["compare", "fix", "-o", "json"]);
  assertEquals(sessionArgv({ delete: "fix", keep: ["fix-2"], purge: true }, {}), [
    "delete",
    "fix",
    "--group",
    "--force",
    "--purge",
    "--keep",
    "fix-2",
  ]);
  // an empty keep (no replica passed) spares nothing
  assertEquals(sessionArgv({ delete: "fix", keep: "" }, {}), ["delete", "fix", "--group", "--force"]);
});

Deno.test("session step: exactly one verb; options that belong to another verb are refused", () => {
  const check = (s: SessionSpec) => session.check!(s, {} as never).map((p) => p.message);
  assertEquals(check({ wait: "a", compare: "a" }), [
    "give exactly one of start, wait, compare, delete (got wait, compare)",
  ]);
  assertEquals(check({}), ["give exactly one of start, wait, compare, delete"]);
  assertEquals(check({ compare: "a", keep: "a-1" }), ["keep and purge go with delete"]);
  assertEquals(check({ start: { name: "a", replicas: 2, variants: { "3": "x" } } }), [
    "variant 3: there are replicas 1 to 2",
  ]);
  assertEquals(check({ start: { name: "a", prompt: "x", "prompt-file": "f" } }), [
    "give prompt or prompt-file, not both",
  ]);
  assertEquals(check({ wait: "a", timeout: "5m" }), []);
});

Deno.test("session step: passed replicas are those whose agent succeeded and whose check passed", () => {
  assertEquals(
    passedReplicas([
      { name: "a-1", agent: { state: "succeeded" }, check: { state: "failed" } },
      { name: "a-2", agent: { state: "failed" }, check: { state: "passed" } },
      { name: "a-3", agent: { state: "succeeded" }, check: { state: "passed" } },
      { name: "a-4", agent: { state: "succeeded" } },
      { name: "a-5" },
    ]),
    ["a-3", "a-4"],
  );
});
