/**
 * Option values are checked by their kind whenever given (src/cli/optspec.ts valueParser): a `<duration>`
 * or `<n>` flag rejects an empty or malformed value whatever other flags say, and contradicting pod-choice
 * flags (`--all --first`) are a usage error naming both. Listen addresses: src/base/listen.ts.
 */
import { assert, assertEquals } from "@kodama/test-assert";

/** The error `f` throws, checked to be a `cls` (and to mention `text`). */
function assertThrows<E extends Error>(
  f: () => unknown,
  cls: new (...a: never[]) => E,
  text?: string,
  msg?: string,
): E {
  try {
    f();
  } catch (e) {
    assert(e instanceof cls, `${msg ?? ""}: threw ${e}`);
    if (text) assert(e.message.includes(text), e.message);
    return e;
  }
  throw new Error(`${msg ?? "it"} did not throw`);
}
import {
  checkConflicts,
  choiceOption,
  OptionValueError,
  type OptSpec,
  PICKER_OPTIONS,
  positiveCount,
  RECONNECT_OPTION,
  valueParser,
} from "../../../src/cli/optspec.ts";
import { options as logsOptions } from "../../../src/cli/logs.ts";
import { options as execOptions } from "../../../src/cli/exec.ts";
import { options as pfOptions } from "../../../src/cli/portforward.ts";
import { checkListenAddresses, isListenAddress } from "../../../src/base/listen.ts";
import { KodamaError } from "../../../src/base/errors.ts";

const spec = (specs: readonly OptSpec[], long: string) => specs.find((s) => s.flags.includes(long))!;
const parse = (s: OptSpec, v: string) => valueParser(s)!(v, s.default);

Deno.test("every <duration> flag checks its value, empty included", () => {
  for (const s of [RECONNECT_OPTION, spec(logsOptions, "--since"), spec(execOptions, "--timeout")]) {
    for (const bad of ["", " ", "soon", "5 m", "-1s"]) {
      assertThrows(() => parse(s, bad), OptionValueError, undefined, `${s.flags} ${JSON.stringify(bad)}`);
    }
    assertEquals(parse(s, "5m"), "5m");
    assertEquals(parse(s, "0"), "0");
  }
});

Deno.test("number flags reject an empty value (Number('') is 0)", () => {
  const tail = spec(logsOptions, "--tail");
  assertThrows(() => parse(tail, ""), OptionValueError);
  assertThrows(() => parse(tail, "ten"), OptionValueError);
  assertEquals(parse(tail, "-1"), -1);
  assertEquals(parse(tail, "20"), 20);
  assertThrows(() => positiveCount(""), OptionValueError);
  assertThrows(() => positiveCount(" "), OptionValueError);
  assertEquals(positiveCount("3"), 3);
  const n: OptSpec = { flags: "--size <n>", description: "" };
  assertThrows(() => parse(n, ""), OptionValueError);
  assertEquals(parse(n, "0"), "0");
});

function given(...keys: string[]) {
  return { given: (k: string) => keys.includes(k) };
}

Deno.test("pod-choice flags that contradict each other are a usage error naming both", () => {
  const exec = [...execOptions];
  for (const [a, b] of [["all", "first"], ["pick", "first"], ["all", "pick"], ["all", "multi"]]) {
    const e = assertThrows(() => checkConflicts(exec, given(a, b)), KodamaError);
    assertEquals(e.code, 2);
    for (const k of [a, b]) assertEquals(e.message.includes(`--${k}`), true, e.message);
  }
  checkConflicts(exec, given("all"));
  checkConflicts(exec, given("pick", "multi"));
  assertThrows(() => checkConflicts(pfOptions, given("first", "pick")), KodamaError);
  // a command without --all is not held to --pick's conflict with it
  checkConflicts([...PICKER_OPTIONS], given("pick", "all"));
  assertEquals(choiceOption("--first", "x").conflicts?.includes("all"), true);
});

Deno.test("listen addresses: IP literals and localhost only, a bad one is exit 2 naming the flag", () => {
  for (const a of ["127.0.0.1", "0.0.0.0", "::1", "[::1]", "::", "fe80::1", "localhost"]) {
    assertEquals(isListenAddress(a), true, a);
  }
  for (const a of ["not an addr", "999.1.1.1", "1.2.3", "01.2.3.4", "example.com", ":::", ""]) {
    assertEquals(isListenAddress(a), false, a);
  }
  for (const v of ["not an addr", "999.1.1.1", ""]) {
    const e = assertThrows(() => checkListenAddresses(v, "--address"), KodamaError);
    assertEquals(e.code, 2);
    assertEquals(e.message.startsWith(`invalid --address "${v}"`), true, e.message);
  }
  assertEquals(checkListenAddresses("127.0.0.1, ::1", "--address", { list: true }), ["127.0.0.1", "::1"]);
  assertThrows(
    () => checkListenAddresses("127.0.0.1,nope", "--address", { list: true }),
    KodamaError,
    "nope",
  );
  assertThrows(() => checkListenAddresses("127.0.0.1,::1", "--address"), KodamaError);
});
