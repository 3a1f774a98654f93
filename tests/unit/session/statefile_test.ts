/**
 * The state file's YAML without the yaml package (src/session/state/statefile.ts): what it writes, the yaml
 * package reads as the same object, and so does its own reader; strings that YAML would read as something
 * else (booleans, numbers, null, `key: value`, comments) are quoted; any layout it did not write is left to
 * the yaml package (`undefined`).
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { parse, stringify } from "yaml";
import { parseStateYaml, stateYaml } from "../../../src/session/state/statefile.ts";

const state = {
  name: "demo",
  namespace: "dev",
  context: "kind-dev",
  server: "https://127.0.0.1:6443",
  image: "ghcr.io/acme/dev:1.2",
  resources: { cpu: "500m", memory: "2Gi" },
  podName: "kodama-demo",
  workspacePVC: "kodama-workspace-demo",
  claudeHomePVC: "kodama-claude-home-demo",
  envSecret: "kodama-env-demo",
  envVars: ["ANTHROPIC_API_KEY", "SECRET_TOKEN"],
  repo: "/home/me/src/my repo",
  branch: "kodama/demo-20261123190000",
  baseBranch: "main",
  autoBranch: true,
  commitHash: "0123456789abcdef0123456789abcdef01234567",
  sync: { enabled: false },
  status: "Running",
  createdAt: "2026-11-23T19:00:00Z",
  updatedAt: "2026-11-23T19:00:05Z",
};

Deno.test("the state as block YAML: the yaml package and the light reader read the same object", () => {
  const text = stateYaml(state);
  assertEquals(parse(text), state);
  assertEquals(parseStateYaml(text), state);
  // the lines tests and users grep for stay plain
  assertStringIncludes(text, "\nbranch: kodama/demo-20261123190000\n");
  assertStringIncludes(text, "\nworkspacePVC: kodama-workspace-demo\n");
  assertStringIncludes(text, "\nresources:\n  cpu: 500m\n  memory: 2Gi\n");
  assertStringIncludes(text, "\nenvVars:\n  - ANTHROPIC_API_KEY\n  - SECRET_TOKEN\n");
  assertStringIncludes(text, '\nrepo: "/home/me/src/my repo"\n');
});

Deno.test("strings YAML would read otherwise are quoted, and read back as strings", () => {
  const tricky = [
    "yes",
    "No",
    "on",
    "true",
    "null",
    "~",
    "",
    "123",
    "1.5",
    "0x1f",
    "1e3",
    ".inf",
    "1:30",
    "a: b",
    "#x",
    "x #y",
    "-x",
    "- x",
    "?x",
    "@x",
    "`x",
    "*x",
    "&x",
    "!x",
    "|",
    ">",
    "'x'",
    '"x"',
    "[x]",
    "{x}",
    "x:",
    " lead",
    "trail ",
    "two\nlines",
    "tab\tx",
    "ünïcødé",
    "a\u2028b",
    "C:\\path",
  ];
  for (const v of tricky) {
    const o = { name: v, list: [v], nested: { v } };
    const text = stateYaml(o);
    assertEquals(parse(text), o, JSON.stringify(v));
    assertEquals(parseStateYaml(text), o, JSON.stringify(v));
  }
  assertEquals(parseStateYaml(stateYaml({ n: 3, b: false, e: [], m: {}, z: null })), {
    n: 3,
    b: false,
    e: [],
    m: {},
    z: null,
  });
});

Deno.test("a layout it did not write is left to the yaml package", () => {
  for (
    const other of [
      "name: 'single quoted'\n",
      "name: demo # a comment\n",
      "name: |\n  block\n",
      "list: [a, b]\n",
      "anchor: &a x\nref: *a\n",
      "name: yes\n",
      "  indented: x\n",
      "name:\tx\n",
      "- a list\n",
    ]
  ) {
    assertEquals(parseStateYaml(other), undefined, other);
  }
  // what the yaml package wrote before: read alike, or (a plain scalar with a space) left to it
  const before = { ...state, repo: "/home/me/src/repo" };
  assertEquals(parseStateYaml(stringify(before)), before);
  assertEquals(parseStateYaml(stringify(state)), undefined);
});
