/** The tool table: the names, tiers true to the annotations, and docs/mcp.md naming every argument. */
import { assert, assertEquals } from "@kodama/test-assert";
import { offered, TOOLS } from "../../../src/mcp/tools.ts";
import { tiersFor } from "../../../src/mcp/tool.ts";
import { errorText, redactDeep } from "../../../src/mcp/server.ts";
import { addSecret } from "../../../src/base/redact.ts";
import { KodamaError } from "../../../src/base/errors.ts";

Deno.test("mcp tools: exactly the public names, each once in every tier", () => {
  for (const tiers of [["read"], ["read", "write"], ["read", "write", "destructive"]]) {
    const names = offered(TOOLS, tiers).map((t) => t.name);
    assertEquals(names.length, new Set(names).size, tiers.join(","));
  }
  assertEquals([...new Set(TOOLS.map((t) => t.name))].sort(), [
    "adopt",
    "agent_interrupt",
    "agent_logs",
    "agent_run",
    "agent_say",
    "agent_wait",
    "compare",
    "pods_exec",
    "pods_list",
    "pods_logs",
    "session_delete",
    "session_fetch",
    "session_land",
    "session_pr",
    "session_resume",
    "session_start",
    "session_status",
    "session_stop",
    "sessions_list",
    "sync_resolve",
    "sync_status",
    "workflow_run",
    "workflows_list",
  ]);
});

Deno.test("mcp tools: a read tool is read-only and not destructive; a destructive-tier tool is marked so", () => {
  for (const t of TOOLS) {
    assertEquals(t.annotations.readOnlyHint, t.tier === "read", t.name);
    if (t.tier === "read") assertEquals(t.annotations.destructiveHint, false, t.name);
    if (t.tier === "destructive") assertEquals(t.annotations.destructiveHint, true, t.name);
  }
  assertEquals(tiersFor({ readOnly: true }), ["read"]);
  assertEquals(tiersFor({}), ["read", "write"]);
  assertEquals(tiersFor({ allowDestructive: true }), ["read", "write", "destructive"]);
});

Deno.test("mcp tools: adopt may force only with --allow-destructive", () => {
  const adopt = (tiers: string[]) => offered(TOOLS, tiers).find((t) => t.name === "adopt")!;
  assert(!("force" in adopt(["read", "write"]).input));
  assertEquals(adopt(["read", "write"]).annotations.destructiveHint, false);
  assert("force" in adopt(["read", "write", "destructive"]).input);
  assertEquals(adopt(["read", "write", "destructive"]).annotations.destructiveHint, true);
  assertEquals(adopt(["read"]), undefined);
});

Deno.test("mcp tools: no argument can grant trust or skip a question", () => {
  for (const t of TOOLS) {
    for (const k of Object.keys(t.input)) {
      assert(!["trust", "yes"].includes(k), `${t.name}.${k}`);
      if (k === "force") assertEquals(t.tier, "destructive", `${t.name}.force`);
    }
  }
});

Deno.test("docs/mcp.md names every tool and every argument", async () => {
  const doc = await Deno.readTextFile(new URL("../../../docs/mcp.md", import.meta.url));
  for (const t of TOOLS) {
    assert(doc.includes(`\`${t.name}\``), t.name);
    for (const k of Object.keys(t.input)) assert(doc.includes(`\`${k}\``), `${t.name}.${k}`);
  }
});

Deno.test("results and errors are redacted; an error is kodama's line, hint and exit code", () => {
  addSecret("very-secret-token-123");
  assertEquals(redactDeep({ a: ["x very-secret-token-123 y"], n: 1 }), { a: ["x *** y"], n: 1 });
  assertEquals(
    errorText(new KodamaError("no pods matched very-secret-token-123", 3, "check -n")),
    "error: no pods matched *** (exit 3)\n  check -n",
  );
});
