/**
 * One error style (issue 52.11): `error: …` and an indented hint; commander's typo suggestions said the way
 * kodama says its own; a missing namespace and a misspelt TYPE/NAME named as such; `exec --tmux` without a
 * terminal says how to attach.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { clusterTest } from "../cluster/fixture.ts";
import { runKodama } from "./_run.ts";
import { HAVE_TMUX } from "../integration/picker_tmux.ts";
import { oneErrorStyle } from "../../src/cli/program.ts";
import { join } from "node:path";

Deno.test("commander's 'Did you mean' becomes kodama's inline one", () => {
  assertEquals(
    oneErrorStyle("error: unknown option '--al'\n(Did you mean one of --all, --as?)\n"),
    "error: unknown option '--al'; did you mean --all or --as?\n",
  );
  assertEquals(
    oneErrorStyle("error: unknown option '--namespac'\n(Did you mean --namespace?)\n"),
    "error: unknown option '--namespac'; did you mean --namespace?\n",
  );
});

/** Each line of an error as kodama prints it: `error: …` first, then hints indented by two spaces. */
function assertKodamaStyle(stderr: string, what: string): void {
  const lines = stderr.trimEnd().split("\n");
  assertMatch(lines[0], /^error: \S/, `${what}: ${stderr}`);
  for (const l of lines.slice(1)) assertMatch(l, /^ {2}\S/, `${what}: ${stderr}`);
  assert(!/Error:|Uncaught|^\s+at /m.test(stderr), `${what}: ${stderr}`);
}

Deno.test("a cold start (fresh KODAMA_HOME and HOME, no kubeconfig) errs in kodama's style", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-cold-" });
  try {
    const bad = join(tmp, "bad-home");
    await Deno.mkdir(bad);
    await Deno.writeTextFile(join(bad, "config.yaml"), "defaults: [\n");
    const cases: [string[], string, number][] = [
      [["pods", "--bogus"], "fresh", 2],
      [["pods"], "fresh", 2],
      [["start", "x", "--dry-run"], "fresh", 2],
      [["--log-level", "nope", "pods"], "fresh", 2],
      [["nosuch"], "fresh", 2],
      [["--kubeconfig", join(tmp, "nonexistent"), "list"], "fresh", 2],
      [["pods"], "bad", 2],
    ];
    for (const [args, home, code] of cases) {
      const r = await runKodama(args, {
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "",
          HOME: join(tmp, "user"),
          // the module cache stays the machine's (a cold one would download, not test kodama)
          DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? tmp, ".cache", "deno"),
          KODAMA_HOME: home === "bad" ? bad : join(tmp, `home-${crypto.randomUUID()}`),
        },
      });
      assertKodamaStyle(r.stderr, args.join(" "));
      assertEquals(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

Deno.test("what nothing caught (a throw in a timer, a promise nobody awaited) ends in kodama's style", async () => {
  for (
    const [kind, code, want] of [
      ["timer", 1, "error: boom in a timer\n"],
      ["kodama", 3, "error: no such thing\n  try another\n"],
      ["rejection", 1, "error: nobody awaited this\n"],
    ] as const
  ) {
    const r = await runKodama([kind], { entry: new URL("./_uncaught_entry.ts", import.meta.url).pathname });
    assertEquals([r.code, r.stderr], [code, want], kind);
  }
});

clusterTest("errors: typos, a missing namespace, a misspelt deploy/NAME, exec --tmux without a terminal", {
  seed: "demo",
}, async (t, c) => {
  const k = (args: string[], env: Record<string, string> = {}) =>
    runKodama(["--kubeconfig", c.kubeconfig, "--context", "admin", ...args], { env });
  await t.step("an unknown flag: one error line with the suggestion, an indented hint", async () => {
    const r = await k(["exec", "-n", "prod", "--al", "--", "true"]);
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /^error: unknown option '--al'; did you mean --all or --as\?\n {2}\S/);
    assert(!r.stderr.includes("(Did you mean"), r.stderr);
  });
  await t.step("exec -n nosuchns names the missing namespace, as pods -n does", async () => {
    const e = await k(["exec", "-n", "nosuchns", "--", "true"]);
    const p = await k(["pods", "-n", "nosuchns"]);
    assertEquals([e.code, p.code], [3, 3]);
    assertStringIncludes(e.stderr, 'error: namespaces "nosuchns" not found');
    assertEquals(e.stderr, p.stderr);
  });
  await t.step("deploy/apii: did you mean deploy/api", async () => {
    const r = await k(["exec", "-n", "prod", "deploy/apii", "--", "true"]);
    assertEquals(r.code, 3);
    assertStringIncludes(
      r.stderr,
      'deployments.apps "apii" not found in namespace prod; did you mean deploy/api?',
    );
  });
  await t.step({
    name: "exec --tmux without a terminal: the session's name, and how to attach",
    ignore: !HAVE_TMUX,
    fn: async () => {
      const socket = `kodama-errstyle-${crypto.randomUUID().slice(0, 8)}`;
      try {
        const r = await k(["exec", "--tmux", "-n", "prod", "-m", "api"], { KODAMA_TMUX_SOCKET: socket });
        assertEquals(r.code, 0, r.stderr);
        const name = r.stdout.trim();
        assertMatch(name, /^kodama-prod-/);
        assertStringIncludes(r.stderr, `tmux -L ${socket} attach -t ${name}`);
      } finally {
        await new Deno.Command("tmux", {
          args: ["-L", socket, "kill-server"],
          stdout: "null",
          stderr: "null",
        })
          .output().catch(() => {});
      }
    },
  });
});
