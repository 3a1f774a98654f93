import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { createDisplay, endLine } from "../../../src/workflow/display.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { stripAnsi } from "../../../src/ui/color.ts";

Deno.test("display (plain): one line at start, one at end, on stderr; step output on stdout", () => {
  const out = memorySink(), err = memorySink();
  const d = createDisplay({ out, err, live: false, color: false });
  d.start("k1", "version", 0);
  d.out.write("WEKA v4\n");
  d.end("k1", "ok", 1234);
  d.start("k2", "inner", 1);
  d.end("k2", "failed", 20, 'denied: read access to "/x" (add it to permissions.read)');
  d.start("k3", "later", 0);
  d.end("k3", "skipped", 0);
  d.close();
  assertEquals(out.text(), "WEKA v4\n");
  assertEquals(
    err.text(),
    '▶ version\n✓ version 1.2s\n  ▶ inner\n  ✗ inner 20ms: denied: read access to "/x" (add it to permissions.read)\n▶ later\n- later skipped\n',
  );
});

Deno.test("display (live): spinner lines are erased before output and replaced by final lines", () => {
  const out = memorySink(), err = memorySink();
  const d = createDisplay({ out, err, live: true, color: true, stdoutIsTty: true });
  d.start("a", "probe", 0);
  d.out.write("partial ");
  assertEquals(out.text(), "", "partial lines wait for their newline");
  d.out.write("line\n");
  d.end("a", "ok", 50);
  d.close();
  assertEquals(out.text(), "partial line\n");
  const e = err.text();
  assertStringIncludes(e, "\x1b[1F\x1b[J"); // the spinner line is cleared
  assert(/⠋ probe/.test(e));
  assertStringIncludes(stripAnsi(e), "✓ probe 50ms");
});

Deno.test("display: end lines", () => {
  assertEquals(endLine("x", "ignored", 1500, "exit code 3", false), "! x 1.5s: exit code 3\n");
  assertEquals(stripAnsi(endLine("x", "failed", 10, "boom", true)), "✗ x 10ms: boom\n");
});
