/**
 * What kodama prints from a pod goes through one function (src/base/text/escape.ts terminalText, which
 * `stripControl` is): terminal sequences and C0/C1 controls but \t and \n dropped, and every format
 * character — bidi overrides and isolates, zero-width marks, U+FEFF, tags — and U+2028/U+2029 made visible,
 * so a pod cannot reorder or hide what `agent logs`, `agent status`, `compare`, `sync pull` or `cp` show.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { terminalJson, terminalText } from "../../../../src/base/text/escape.ts";
import { safeLine, stripControl } from "../../../../src/ui/color.ts";
import { renderLog } from "../../../../src/agent/outcome/render.ts";
import { logSink } from "../../../../src/agent/outcome/render.ts";
import { formatItems } from "../../../../src/session/sync/pull.ts";

const FORMAT = [
  "\u200b",
  "\u200c",
  "\u200d",
  "\u200e",
  "\u200f",
  "\u202a",
  "\u202b",
  "\u202c",
  "\u202d",
  "\u202e",
  "\u2066",
  "\u2067",
  "\u2068",
  "\u2069",
  "\u2060",
  "\ufeff",
  "\u00ad",
  "\u2028",
  "\u2029",
  "\u{e0041}",
];

/** no character of the class and no C0/C1 control but \t and \n is left */
function clean(s: string): boolean {
  // deno-lint-ignore no-control-regex
  return !/[\p{Cf}\p{Zl}\p{Zp}\x00-\x08\x0b-\x1f\x7f-\x9f]/u.test(s);
}

Deno.test("terminalText: format characters shown escaped, controls dropped, \\t and \\n kept", () => {
  for (const c of FORMAT) {
    const out = terminalText(`a${c}b`);
    assert(clean(out), JSON.stringify(out));
    const n = c.codePointAt(0)!;
    assertEquals(out, n <= 0xff ? `a\\x${n.toString(16)}b` : `a\\u{${n.toString(16)}}b`);
  }
  assertEquals(terminalText("x\x1b[31mred\x1b[0m\ty\r\nz\x07\x85\r"), "xred\ty\nz");
  assertEquals(stripControl("evil\u202etxt.exe"), "evil\\u{202e}txt.exe");
  assertEquals(safeLine("a\u2066b\nc"), "a\\u{2066}b c");
});

Deno.test("agent logs: text and json output carry no bidi or format character from the pod", () => {
  const line = JSON.stringify({
    type: "assistant",
    message: { content: [{ type: "text", text: "all good \u202eexe.txt\u202c done\u200b" }] },
  });
  const text = renderLog(`${line}\nplain \u2067from the pod\u2069\n`);
  assert(clean(text), JSON.stringify(text));
  assert(text.includes("\\u{202e}exe.txt\\u{202c}"), text);
  let out = "";
  const { sink, end } = logSink("json", { write: (c) => out += typeof c === "string" ? c : "" });
  sink.write(`${line}\n`);
  end();
  assert(clean(out), JSON.stringify(out));
  // still the same JSON value
  const parsed = JSON.parse(out.trim().split("\n")[0]);
  assert(JSON.stringify(parsed).includes("\u202eexe.txt"), out);
  assertEquals(JSON.parse(terminalJson(JSON.stringify("a\u{e0041}\u2028b"))), "a\u{e0041}\u2028b");
});

Deno.test("sync pull's listing shows a pod's name with its format characters escaped", () => {
  const out = formatItems([
    { path: "docs/\u202egpj.exe", change: "added", conflict: false },
    { path: ".gitignore\u200b", change: "modified", conflict: false, refused: "it is an ignore file" },
  ]);
  assert(clean(out), JSON.stringify(out));
  assert(out.includes("docs/\\u{202e}gpj.exe"), out);
});
