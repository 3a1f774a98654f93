import { assert, assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { KodamaError } from "../../../src/base/errors.ts";
import {
  allKeys,
  didYouMean,
  keyInfo,
  lookupKey,
  parseKeyPath,
  typeLabel,
} from "../../../src/config/keys.ts";
import { coerceValue } from "../../../src/config/coerce.ts";
import { levenshtein } from "../../../src/base/text/suggest.ts";

function usage(fn: () => unknown): KodamaError {
  const e = assertThrows(fn);
  assert(e instanceof KodamaError, `expected KodamaError, got ${e}`);
  assertEquals(e.code, 2);
  return e;
}

Deno.test("parseKeyPath splits dotted keys and rejects malformed ones", () => {
  assertEquals(parseKeyPath("defaults.resources.cpu"), ["defaults", "resources", "cpu"]);
  assertEquals(parseKeyPath("exec"), ["exec"]);
  for (const bad of ["", "a..b", ".a", "a.", "a b", "a.b[0]"]) {
    assertStringIncludes(usage(() => parseKeyPath(bad)).message, "invalid config key");
  }
});

Deno.test("registry lists leaves with kinds, defaults and descriptions", () => {
  const keys = allKeys();
  assert(keys.length > 25);
  for (const k of keys) assert(k.description.length > 10, `${k.key} has no description`);
  assertEquals(keyInfo("exec.maxParallel")?.kind, "integer");
  assertEquals(keyInfo("exec.maxParallel")?.min, 1);
  assertEquals(keyInfo("exec.maxParallel")?.max, 1000);
  assertEquals(keyInfo("picker.preview")?.kind, "boolean");
  assertEquals(keyInfo("output.color")?.enumValues, ["auto", "always", "never"]);
  assertEquals(keyInfo("workflows.paths")?.kind, "list");
  assertEquals(keyInfo("defaults.resources.cpu")?.default, "1");
  assertEquals(keyInfo("defaults.namespace")?.default, undefined);
  assertEquals(typeLabel(keyInfo("defaults.resources.cpu")!), "CPU quantity (e.g. 2, 500m, 1.5)");
  assertEquals(keyInfo("defaults.resources"), undefined); // a section, not a leaf
  assertEquals(lookupKey("defaults.resources").type, "section");
});

Deno.test("levenshtein distances", () => {
  assertEquals(levenshtein("kitten", "sitting"), 3);
  assertEquals(levenshtein("", "abc"), 3);
  assertEquals(levenshtein("same", "same"), 0);
});

Deno.test("did-you-mean finds typos and bare leaf names, not unrelated words", () => {
  assertEquals(didYouMean("defaults.resources.cpus"), "defaults.resources.cpu");
  assertEquals(didYouMean("defualts.namespace"), "defaults.namespace");
  assertEquals(didYouMean("exec.maxparallel"), "exec.maxParallel");
  assertEquals(didYouMean("resources.memory"), "defaults.resources.memory");
  assertEquals(didYouMean("maxParallel"), "exec.maxParallel");
  assertEquals(didYouMean("completely.unrelated.thing"), undefined);
  const e = usage(() => lookupKey("defaults.resource.cpu"));
  assertStringIncludes(e.message, 'unknown config key "defaults.resource.cpu"');
  assertStringIncludes(e.message, "did you mean defaults.resources.cpu?");
});

Deno.test("coerceValue converts strings to each key's type", () => {
  const k = (key: string) => keyInfo(key)!;
  assertEquals(coerceValue(k("defaults.resources.cpu"), "2"), "2");
  assertEquals(coerceValue(k("defaults.resources.cpu"), "500m"), "500m");
  assertEquals(coerceValue(k("defaults.resources.cpu"), "1.5"), "1.5");
  assertEquals(coerceValue(k("defaults.resources.memory"), "4Gi"), "4Gi");
  assertEquals(coerceValue(k("exec.maxParallel"), "64"), 64);
  assertEquals(coerceValue(k("picker.preview"), "false"), false);
  assertEquals(coerceValue(k("picker.preview"), "yes"), true);
  assertEquals(coerceValue(k("output.color"), "never"), "never");
  assertEquals(coerceValue(k("workflows.paths"), "one/dir"), ["one/dir"]);
  assertEquals(coerceValue(k("workflows.paths"), "[x, 'y z']"), ["x", "y z"]);
  assertEquals(coerceValue(k("workflows.paths"), "[]"), []);
  assertEquals(coerceValue(k("workflows.paths"), ""), []);
  assertEquals(coerceValue(k("session.readyTimeout"), "1h30m"), "1h30m");
});

Deno.test("validation errors name the key path and the expected format", () => {
  const k = (key: string) => keyInfo(key)!;
  const cases: [string, string, string][] = [
    [
      "defaults.resources.cpu",
      "banana",
      'invalid value for defaults.resources.cpu: "banana" is not a CPU quantity (expected e.g. 2, 500m, 1.5)',
    ],
    ["defaults.resources.cpu", "0", "must be greater than 0"],
    ["defaults.resources.cpu", "1.5m", "is not a CPU quantity"],
    ["defaults.resources.memory", "512m", '"512m" is not a size quantity (expected e.g. 512Mi, 4Gi'],
    ["exec.maxParallel", "0", "invalid value for exec.maxParallel: 0 is not an integer from 1 to 1000"],
    ["exec.maxParallel", "1001", "is not an integer from 1 to 1000"],
    ["exec.maxParallel", "2.5", "is not an integer from 1 to 1000"],
    ["exec.maxParallel", "lots", '"lots" is not an integer from 1 to 1000'],
    ["picker.preview", "maybe", '"maybe" is not a boolean'],
    ["output.color", "sometimes", '"sometimes" is not one of auto, always, never'],
    ["defaults.namespace", "Bad_NS", "is not a valid namespace name"],
    ["session.readyTimeout", "5 minutes", "is not a duration (expected e.g. 30s, 5m"],
    ["env.excludeVars", "[OK, not-valid]", "(item 1)"],
    ["env.excludeVars", "OK,NOPE", "has a comma; a list is written [a, b]"],
    ["workflows.paths", "[a, [", "is not a list"],
  ];
  for (const [key, value, expected] of cases) {
    const e = usage(() => coerceValue(k(key), value));
    assertStringIncludes(e.message, expected, `${key}=${value}`);
    assert(!e.message.includes("\n"), "one line");
    assert(e.hint && e.hint.includes(`kodama config set ${key}`), `hint for ${key}: ${e.hint}`);
  }
});

Deno.test("config set: a command key's string is split as a shell splits it, quotes honoured", () => {
  const k = (key: string) => keyInfo(key)!;
  assertEquals(k("agent.command").commandArgs, true);
  assertEquals(k("agent.continueArgs").commandArgs, true);
  assertEquals(k("workflows.paths").commandArgs, undefined);
  assertEquals(coerceValue(k("agent.command"), "claude -p --model opus"), [
    "claude",
    "-p",
    "--model",
    "opus",
  ]);
  assertEquals(coerceValue(k("agent.command"), `sh -c 'echo a, b'`), ["sh", "-c", "echo a, b"]);
  assertEquals(coerceValue(k("agent.command"), `[codex, exec]`), ["codex", "exec"]);
  assertEquals(coerceValue(k("agent.continueArgs"), `--resume "last one"`), ["--resume", "last one"]);
  const e = usage(() => coerceValue(k("agent.command"), `claude "-p`));
  assertStringIncludes(e.message, "unterminated");
});

Deno.test("config set: a comma in a one-item list value is refused with the [a, b] form, never split", () => {
  const e = usage(() => coerceValue(keyInfo("workflows.paths")!, "a,b"));
  assertStringIncludes(e.message, "has a comma");
  assertStringIncludes(e.hint ?? "", '"[a, b]"');
  assertEquals(coerceValue(keyInfo("workflows.paths")!, "['a,b']"), ["a,b"]);
});
