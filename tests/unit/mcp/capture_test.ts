/** An MCP tool keeps at most its limit of a command's output, and says what it cut (#50 class 5). */
import { assert, assertEquals } from "@kodama/test-assert";
import { capture } from "../../../src/mcp/tool.ts";

Deno.test("capture: output past the limit is counted, not kept, and the text says so", () => {
  const c = capture(10);
  c.write("12345");
  c.write(new TextEncoder().encode("6789abcdef"));
  for (let i = 0; i < 1000; i++) c.write("x".repeat(1000));
  const t = c.text();
  assert(t.startsWith("123456789a\n"), t);
  assertEquals(t.slice(11), "[output cut: 1000005 more characters past the first 10]\n");
  const small = capture(10);
  small.write("hi\n");
  assertEquals(small.text(), "hi\n");
});
