import { assertEquals } from "@kodama/test-assert";
import {
  passedReplicas,
  session,
  sessionArgv,
  type SessionSpec,
} from "../../../src/workflow/steps/session.ts";

Deno.test("session step: each verb is one kodama command line; the prompt is never in it", () => {
  assertEquals(
    sessionArgv({
      start: {
        name: "fix",
        replicas: 3,
        repo: "./r",
        prompt: "secret task",
        check: "npm test",
        variants: { "2": "claude -p --model opus" },
        timeout: 90,
      },
    }, { repo: "/abs/r" }),
    [
      "start",
      "fix",
      "--replicas",
      "3",
      "--repo",
      "/abs/r",
      "--prompt-file",
      "-",
      "--check",
      "npm test",
      "--agent-variant",
      "2=claude -p --model opus",
      "--timeout",
      "90s",
    ],
  );
  assertEquals(sessionArgv({ wait: "fix" }, {}, 60_000), [
    "compare",
    "fix",
    "--wait",
    "--timeout",
    "60s",
    "-o",
    "json",
  ]);
  assertEquals(sessionArgv({ wait: "fix", timeout: "10m" }, {}), [
    "compare",
    "fix",
    "--wait",
    "--timeout",
    "10m",
    "-o",
    "json",
  ]);
  assertEquals(sessionArgv({ compare: "fix" }, {}), ["compare", "fix", "-o", "json"]);
  assertEquals(sessionArgv({ delete: "fix", keep: ["fix-2"], purge: true }, {}), [
    "delete",
    "fix",
    "--group",
    "--force",
    "--purge",
    "--keep",
    "fix-2",
  ]);
  // an empty keep (no replica passed) spares nothing
  assertEquals(sessionArgv({ delete: "fix", keep: "" }, {}), ["delete", "fix", "--group", "--force"]);
});

Deno.test("session step: exactly one verb; options that belong to another verb are refused", () => {
  const check = (s: SessionSpec) => session.check!(s, {} as never).map((p) => p.message);
  assertEquals(check({ wait: "a", compare: "a" }), [
    "give exactly one of start, wait, compare, delete (got wait, compare)",
  ]);
  assertEquals(check({}), ["give exactly one of start, wait, compare, delete"]);
  assertEquals(check({ compare: "a", keep: "a-1" }), ["keep and purge go with delete"]);
  assertEquals(check({ start: { name: "a", replicas: 2, variants: { "3": "x" } } }), [
    "variant 3: there are replicas 1 to 2",
  ]);
  assertEquals(check({ start: { name: "a", prompt: "x", "prompt-file": "f" } }), [
    "give prompt or prompt-file, not both",
  ]);
  assertEquals(check({ wait: "a", timeout: "5m" }), []);
});

Deno.test("session step: passed replicas are those whose agent succeeded and whose check passed", () => {
  assertEquals(
    passedReplicas([
      { name: "a-1", agent: { state: "succeeded" }, check: { state: "failed" } },
      { name: "a-2", agent: { state: "failed" }, check: { state: "passed" } },
      { name: "a-3", agent: { state: "succeeded" }, check: { state: "passed" } },
      { name: "a-4", agent: { state: "succeeded" } },
      { name: "a-5" },
    ]),
    ["a-3", "a-4"],
  );
});

Deno.test("session step: a repo whose git directory lies outside the workflow's repository is refused (exit 4)", async () => {
  const { confine } = await import("../../../src/workflow/sandbox/confine.ts");
  const { KodamaError } = await import("../../../src/base/errors.ts");
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-session-step-" }));
  try {
    const root = `${tmp}/repo`, secret = `${tmp}/secret`;
    for (const d of [`${root}/sub`, secret]) await Deno.mkdir(d, { recursive: true });
    const git = (args: string[], cwd: string) =>
      new Deno.Command("git", { args, cwd, env: { GIT_CONFIG_GLOBAL: "/dev/null" }, stdout: "null" })
        .outputSync();
    git(["init", "-q"], root);
    git(["init", "-q"], secret);
    // `sub` is inside the repository; its `.git` file is not
    await Deno.writeTextFile(`${root}/sub/.git`, `gitdir: ${secret}/.git\n`);
    const ctx = {
      run: {
        confine: (p: string, access: "read" | "write", what: string) =>
          confine(p, access, { confined: true, root, permissions: {}, baseDir: root }, what),
      },
    } as unknown as Parameters<typeof session.run>[1];
    let err: unknown;
    try {
      await session.run({ start: { name: "g", repo: "sub", prompt: "x" } }, ctx);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof KodamaError)) throw new Error(`expected a refusal, got ${err}`);
    assertEquals(err.code, 4, err.message);
    assertEquals(
      /^the git directory of session repo: ".*secret\/\.git" is outside the workflow's repository/.test(
        err.message,
      ),
      true,
      err.message,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
