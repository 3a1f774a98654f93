import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import {
  compileLineFilter,
  compilePattern,
  cutLineEnding,
  highlight,
  HIGHLIGHT_OFF,
  HIGHLIGHT_ON,
  keepLine,
  patternError,
  renderLine,
  resolveOutput,
} from "../../../src/pods/log_filter.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { formatProblem, parseWorkflowText } from "../../../src/workflow/load.ts";
import { stripAnsi } from "../../../src/ui/color.ts";

/** `fn` throws a KodamaError (returned). */
function usageErr(fn: () => unknown): KodamaError {
  const e = assertThrows(fn);
  assert(e instanceof KodamaError, String(e));
  return e;
}

const H = (s: string) => `${HIGHLIGHT_ON}${s}${HIGHLIGHT_OFF}`;
const src = { namespace: "dev", pod: "web-1", container: "main" };

Deno.test("log filter: include any, exclude wins, no filter keeps all", () => {
  const f = compileLineFilter(["error", "warn"], ["healthz"])!;
  assertEquals(keepLine("GET /api error 500", f), true);
  assertEquals(keepLine("warn: disk 91%", f), true);
  assertEquals(keepLine("info: started", f), false);
  assertEquals(keepLine("error in /healthz", f), false);
  const onlyExclude = compileLineFilter([], ["^DEBUG"])!;
  assertEquals(keepLine("DEBUG x", onlyExclude), false);
  assertEquals(keepLine("INFO x", onlyExclude), true);
  assertEquals(compileLineFilter([], []), undefined);
  assertEquals(keepLine("anything", undefined), true);
  // anchors see the whole line without its ending
  const anchored = compileLineFilter(["^tick \\d+$"])!;
  const { message } = cutLineEnding("tick 12\r\n");
  assertEquals(keepLine(message, anchored), true);
});

Deno.test("log filter: multi-byte lines match and highlight whole characters", () => {
  const f = compileLineFilter(["ü.b"])!;
  assertEquals(keepLine("grüße aus müsbach", f), true);
  // `.` is one character (unicode mode), also outside the BMP
  const emoji = compilePattern("a.b");
  assert(emoji.test("a😀b"));
  assertEquals(highlight("x a😀b y", [emoji]), `x ${H("a😀b")} y`);
  assertEquals(highlight("grüße aus müsbach", f.include), `grüße aus m${H("üsb")}ach`);
});

Deno.test("log filter: a bad pattern is a usage error naming the flag and the regex error", () => {
  const e = usageErr(() => compileLineFilter(["ok", "x("], []));
  assertEquals(e.code, 2);
  assertEquals(e.message, '--include "x(" is not a valid regular expression: Unterminated group');
  assert(!e.message.includes("\n"));
  const e2 = usageErr(() => compileLineFilter([], ["[a-"]));
  assert(e2.message.startsWith('--exclude "[a-" is not a valid regular expression: '), e2.message);
  const e3 = usageErr(() => compileLineFilter(["*"], [], { include: "include", exclude: "exclude" }));
  assert(e3.message.startsWith('include "*" is not'), e3.message);
  assertEquals(patternError("fine|good"), undefined);
  assertEquals(patternError("(a"), "Unterminated group");
  // Go-style escapes of punctuation that unicode mode refuses still compile
  assertEquals(patternError("a\\:b"), undefined);
  assert(compilePattern("a\\:b").test("a:b"));
});

Deno.test("log filter: highlight every match of every include, merged, empty matches ignored", () => {
  const re = compileLineFilter(["err", "rr", "o*"])!.include;
  assertEquals(highlight("error or err", re), `${H("erro")}r ${H("o")}r ${H("err")}`);
  // adjacent matches merge into one highlight
  assertEquals(highlight("nothing", [compilePattern("x*")]), "nothing");
  assertEquals(highlight("aaa", [compilePattern("a"), compilePattern("aa")]), H("aaa"));
  assertEquals(stripAnsi(highlight("an error here", re)), "an error here");
  // a sticky/global pattern object keeps no state between lines
  const g = [compilePattern("b")];
  assertEquals(highlight("ab", g), `a${H("b")}`);
  assertEquals(highlight("ab", g), `a${H("b")}`);
  assertEquals(keepLine("ab", { include: g, exclude: [] }), true);
  assertEquals(keepLine("ab", { include: g, exclude: [] }), true);
});

Deno.test("log output: default, raw, json; timestamps; highlight only when asked, never in json", () => {
  const ts = "2026-11-21T08:00:00.123456789Z";
  const line = { ts, message: 'say "hi" ✓', eol: "\n" };
  const base = { prefix: "web-1 | ", timestamps: false };
  assertEquals(renderLine(src, line, { ...base, output: "default" }), 'web-1 | say "hi" ✓\n');
  assertEquals(renderLine(src, line, { ...base, output: "raw" }), 'say "hi" ✓\n');
  assertEquals(
    renderLine(src, line, { ...base, output: "default", timestamps: true }),
    `web-1 | ${ts} say "hi" ✓\n`,
  );
  assertEquals(renderLine(src, { ...line, eol: "\r\n" }, { ...base, output: "raw" }), 'say "hi" ✓\r\n');
  const hl = [compilePattern("hi")];
  assertEquals(
    renderLine(src, line, { ...base, output: "default", highlight: hl }),
    `web-1 | say "${H("hi")}" ✓\n`,
  );
  const j = renderLine(src, line, { ...base, output: "json", highlight: hl });
  assert(j.endsWith("\n") && !j.slice(0, -1).includes("\n"));
  assertEquals(JSON.parse(j), { namespace: "dev", pod: "web-1", container: "main", message: 'say "hi" ✓' });
  assertEquals(
    JSON.parse(renderLine(src, line, { ...base, output: "json", timestamps: true })),
    { namespace: "dev", pod: "web-1", container: "main", message: 'say "hi" ✓', timestamp: ts },
  );
  // a line the API sent without a timestamp: no timestamp field even with timestamps on
  assertEquals(
    JSON.parse(renderLine(src, { message: "x", eol: "\n" }, { ...base, output: "json", timestamps: true })),
    { namespace: "dev", pod: "web-1", container: "main", message: "x" },
  );
  assertEquals(cutLineEnding("a\n"), { message: "a", eol: "\n" });
  assertEquals(cutLineEnding("a"), { message: "a", eol: "" });
});

Deno.test("log output: --no-prefix is raw; contradicting combinations are usage errors", () => {
  assertEquals(resolveOutput(undefined, false), "default");
  assertEquals(resolveOutput(undefined, true), "raw");
  assertEquals(resolveOutput("raw", true), "raw");
  assertEquals(resolveOutput("json", false), "json");
  for (const o of ["json", "default"]) {
    const e = usageErr(() => resolveOutput(o, true));
    assertEquals(e.code, 2);
    assert(e.message.includes("--no-prefix") && e.message.includes(o), e.message);
  }
  assertEquals(usageErr(() => resolveOutput("yaml", false)).code, 2);
});

Deno.test("workflow logs step: valid include/exclude load; a bad one is reported at its list item", () => {
  const ok = parseWorkflowText(
    `targets: { api: { namespace: prod, match: api } }
steps:
  - logs: { target: api, tail: 5, include: ["error|warn", "a\\\\:b"], exclude: [healthz] }
`,
    "ok.yaml",
  );
  assertEquals(ok.problems.map(formatProblem), []);
  const bad = parseWorkflowText(
    `targets: { api: { namespace: prod, match: api } }
steps:
  - logs: { target: api, tail: 5, include: [ok, "[x"] }
`,
    "bad.yaml",
  );
  assertEquals(bad.problems.map(formatProblem), [
    'bad.yaml:3:49: steps[0].logs: include[1] "[x" is not a valid regular expression: Unterminated character class',
  ]);
});
