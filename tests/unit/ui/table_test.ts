import { assertEquals } from "@kodama/test-assert";
import { formatAge, renderTable } from "../../../src/ui/table.ts";
import { colorFor, stripAnsi } from "../../../src/ui/color.ts";

Deno.test("renderTable aligns like kubectl (3 spaces, ANSI-aware)", () => {
  const out = renderTable(["NAME", "AGE"], [["\x1b[1ma\x1b[22m", "1s"], ["long-name", "2m"]]);
  assertEquals(stripAnsi(out), "NAME        AGE\na           1s\nlong-name   2m\n");
});

Deno.test("formatAge buckets", () => {
  const now = Date.parse("2026-01-10T00:00:00Z");
  const ago = (s: number) => new Date(now - s * 1000);
  assertEquals(formatAge(ago(5), now), "5s");
  assertEquals(formatAge(ago(150), now), "2m30s");
  assertEquals(formatAge(ago(3600), now), "60m");
  assertEquals(formatAge(ago(3 * 3600 + 600), now), "3h10m");
  assertEquals(formatAge(ago(30 * 3600), now), "30h");
  assertEquals(formatAge(ago(3 * 86400), now), "3d");
  assertEquals(formatAge(undefined, now), "<unknown>");
});

Deno.test("colorFor is stable per name", () => {
  assertEquals(colorFor("api-1")("x"), colorFor("api-1")("x"));
  assertEquals(stripAnsi(colorFor("api-1")("x")), "x");
});
