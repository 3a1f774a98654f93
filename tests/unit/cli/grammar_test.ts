/**
 * The words of the command-line grammar (src/cli/grammar.ts) every reader shares: what is a flag, a
 * `--flag=value`, a `-abc` group, a negative number, the end of options.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  END_OF_OPTIONS,
  isNegativeNumber,
  looksLikeFlag,
  splitAssign,
  splitGroup,
} from "../../../src/cli/grammar.ts";

Deno.test("looksLikeFlag: a dash and more; `-` alone is an operand (stdin)", () => {
  for (const w of ["-n", "--all", "-abc", "--", "-1"]) assert(looksLikeFlag(w), w);
  for (const w of ["-", "pods", "", "a-b"]) assert(!looksLikeFlag(w), w);
  assertEquals(END_OF_OPTIONS, "--");
});

Deno.test("splitAssign: --flag=value at the first =, the value may be empty or hold =", () => {
  assertEquals(splitAssign("--since=5m"), { flag: "--since", value: "5m" });
  assertEquals(splitAssign("--selector=a=b,c!=d"), { flag: "--selector", value: "a=b,c!=d" });
  assertEquals(splitAssign("--query="), { flag: "--query", value: "" });
  for (const w of ["--since", "-n=x", "--=x", "pods"]) assertEquals(splitAssign(w), undefined, w);
});

Deno.test("splitGroup: -abc as its first flag and the rest; not --long, not a lone -a", () => {
  assertEquals(splitGroup("-it"), { flag: "-i", rest: "t" });
  assertEquals(splitGroup("-nprod"), { flag: "-n", rest: "prod" });
  for (const w of ["-i", "--tty", "-", "x"]) assertEquals(splitGroup(w), undefined, w);
});

Deno.test("isNegativeNumber: commander's numbers only", () => {
  for (const w of ["-1", "-10", "-.5", "-1.5", "-2e3", "-2E-3"]) assert(isNegativeNumber(w), w);
  for (const w of ["-e", "-1x", "--1", "-", "1"]) assert(!isNegativeNumber(w), w);
});
