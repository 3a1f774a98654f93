/**
 * agent_run's `fromPr` (`agent run --continue --from-pr`): the caller turns it on and gives nothing else of
 * the forge — no token, no forge or API URL, no host; those stay the user's (their config, their
 * environment). The server's schema is strict, so such an argument is refused, not ignored.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { z } from "zod";
import { TOOLS } from "../../../src/mcp/tools.ts";

const FORGE_ONLY_USER = /token|secret|password|apiurl|api_url|apibase|forge(url|host)?$|^url$|^host$|budget/i;

Deno.test("mcp agent_run: fromPr is a switch; no argument of any tool names a forge token, URL or API base", () => {
  const run = TOOLS.find((t) => t.name === "agent_run")!;
  assert("fromPr" in run.input);
  for (const t of TOOLS) {
    for (const k of Object.keys(t.input)) assert(!FORGE_ONLY_USER.test(k), `${t.name}.${k}`);
  }
  const schema = z.strictObject(run.input);
  assertEquals(schema.safeParse({ name: "s", fromPr: true }).success, true);
  for (
    const extra of [
      { token: "ghp_x" },
      { apiUrl: "http://evil.example/api/v3" },
      { forgeUrl: "https://evil.example/o/r" },
      { hosts: { "evil.example": { type: "github" } } },
    ]
  ) {
    assertEquals(
      schema.safeParse({ name: "s", fromPr: true, ...extra }).success,
      false,
      JSON.stringify(extra),
    );
  }
  assertEquals(schema.safeParse({ name: "s", fromPr: "yes" }).success, false);
});
