import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { maxSessionNameLength, objectNames, validateSessionName } from "../../../src/session/spec/names.ts";
import {
  checkEnvSize,
  dropWarning,
  filterEnv,
  isServiceVar,
  MAX_ENV_BYTES,
} from "../../../src/session/spec/envfile.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";

Deno.test("derived names follow the contract and all fit in 63 characters", () => {
  assertEquals(objectNames("my-work"), {
    workload: "kodama-my-work",
    workspacePVC: "kodama-workspace-my-work",
    homePVC: "kodama-claude-home-my-work",
    envSecret: "kodama-env-my-work",
    editorConfigMap: "kodama-editor-config-my-work",
    gitSecret: "kodama-git-my-work",
    egressPolicy: "kodama-egress-my-work",
  });
  const max = maxSessionNameLength();
  assertEquals(max, 63 - "kodama-editor-config-".length);
  const longest = "a".repeat(max);
  assertEquals(validateSessionName(longest), longest);
  for (const n of Object.values(objectNames(longest))) assert(n.length <= 63, n);
});

Deno.test("bad session names are usage errors before anything else", () => {
  for (const bad of ["Bad_Name", "UPPER", "-x", "x-", "a.b", "with space", ""]) {
    const e = assertThrows(() => validateSessionName(bad)) as KodamaError;
    assertEquals(e.code, ExitCode.USAGE, bad);
  }
  const tooLong = "a".repeat(maxSessionNameLength() + 1);
  const e = assertThrows(() => validateSessionName(tooLong)) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE);
  assert(e.message.includes("too long") && e.hint!.includes(`kodama-editor-config-${tooLong}`), e.hint);
});

Deno.test("env files: the last file wins; system, service, badly named and excluded variables are dropped", () => {
  const r = filterEnv([
    { file: ".env", vars: { A: "1", PATH: "/evil", HOME: "/x", lower: "y", B: "first", "my-var": "z" } },
    {
      file: ".env.local",
      vars: {
        B: "second",
        KUBERNETES_SERVICE_HOST: "10.0.0.1",
        API_SERVICE_PORT: "80",
        API_PORT: "tcp://10.0.0.2:80",
        API_PORT_80_TCP_ADDR: "10.0.0.2",
        DB_PORT: "5432",
        SKIP: "me",
      },
    },
  ], ["SKIP"]);
  assertEquals(r.vars, { A: "1", B: "second", DB_PORT: "5432" });
  assertEquals(
    r.dropped.map((d) => `${d.file}:${d.name}:${d.reason}`).sort(),
    [
      ".env.local:API_PORT:kubernetes",
      ".env.local:API_PORT_80_TCP_ADDR:kubernetes",
      ".env.local:API_SERVICE_PORT:kubernetes",
      ".env.local:KUBERNETES_SERVICE_HOST:kubernetes",
      ".env.local:SKIP:excluded",
      ".env:HOME:system",
      ".env:PATH:system",
      ".env:lower:name",
      ".env:my-var:name",
    ],
  );
  assertEquals(
    dropWarning(r.dropped.find((d) => d.name === "PATH")!),
    ".env: PATH is not injected: a system variable the container sets itself",
  );
  assertEquals(r.bytes, "A1Bsecond".length + "DB_PORT5432".length);
  // a DB_PORT with a plain number is the user's own; a service link looks like tcp://
  assert(!isServiceVar("DB_PORT", "5432"));
  assert(isServiceVar("DB_PORT", "tcp://1.2.3.4:5432"));
});

Deno.test("more than 1 MiB of variables is a usage error", () => {
  const big = filterEnv([{ file: ".env", vars: { BIG: "x".repeat(MAX_ENV_BYTES) } }]);
  const e = assertThrows(() => checkEnvSize(big, [".env"])) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE);
  assert(e.message.includes("1 MiB") && e.hint!.includes(".env"));
  checkEnvSize(filterEnv([{ file: ".env", vars: { OK: "x".repeat(1000) } }]), [".env"]);
});

Deno.test("env file: a line that is not NAME=value is a warning with its line number, not a variable", async () => {
  const { envFileProblems } = await import("../../../src/session/spec/envfile.ts");
  const text = [
    "A=1",
    "# a comment",
    "",
    "FOO",
    "export B=2",
    'C="multi',
    "line NOT A PROBLEM",
    'end"',
    "D: yaml-ish",
    "just some words",
    "E=",
  ].join("\n");
  assertEquals(envFileProblems(text, ".env"), [
    '.env:4: "FOO" is not NAME=value: ignored',
    '.env:10: "just some words" is not NAME=value: ignored',
  ]);
});
