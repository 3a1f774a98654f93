/** Command words in templates and flags follow the same rules as `config set` (issue 52, point 1). */
import { assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { parseSidecarFlag, templateSchema } from "../../../src/session/spec/template.ts";
import { parseParamFlags } from "../../../src/workflow/params.ts";
import type { KodamaError } from "../../../src/base/errors.ts";

Deno.test("a template's agent.command and a sidecar's command/args: a string is split as a shell splits it", () => {
  const t = templateSchema.parse({
    agent: { command: `claude -p --model "opus 4"` },
    sidecars: [{
      name: "db",
      image: "postgres:16",
      command: "postgres -c 'max_connections=5'",
      args: ["-d"],
    }],
  });
  assertEquals(t.agent?.command, ["claude", "-p", "--model", "opus 4"]);
  assertEquals(t.sidecars?.[0].command, ["postgres", "-c", "max_connections=5"]);
  assertEquals(t.sidecars?.[0].args, ["-d"]);
  const bad = templateSchema.safeParse({ agent: { command: `claude "-p` } });
  assertEquals(bad.success, false);
  assertStringIncludes(JSON.stringify(bad.error?.issues), "unterminated");
  assertEquals(templateSchema.safeParse({ agent: { command: "" } }).success, false);
});

Deno.test("--sidecar: a comma only separates its options; anything else is refused with the flag's form", () => {
  assertEquals(parseSidecarFlag("db=postgres:16,port=5432").ports, [5432]);
  const e = assertThrows(() => parseSidecarFlag("db=postgres:16,redis:7")) as KodamaError;
  assertStringIncludes(e.message, 'unknown option "redis:7"');
  assertStringIncludes(e.hint ?? "", "--sidecar db=postgres:16,port=5432");
});

Deno.test("--param: a value is one string, a comma never splits it", () => {
  assertEquals(parseParamFlags(["match=api,web", "cmd=a=b"]), { match: "api,web", cmd: "a=b" });
});
