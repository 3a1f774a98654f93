/**
 * Bad names from the command line or the environment: one error line and its hint, the name escaped
 * (a newline in it shows as `\n`), a documented exit code, and no request the server has to refuse.
 * Session names are checked where sessions are looked up; namespaces where every command settles its
 * namespace (the flag, KODAMA_NAMESPACE, the config, the kubeconfig context), doctor showing a failed check.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { clusterTest } from "../cluster/fixture.ts";
import { runKodama } from "./_run.ts";

const BAD = "bad\nname";

/** `error: …` on one line, at most one indented hint, no stack trace; the bad name escaped. */
function assertOneError(stderr: string, what: string): void {
  const lines = stderr.trimEnd().split("\n");
  assertMatch(lines[0], /^error: \S/, `${what}: ${stderr}`);
  assert(lines.length <= 2, `${what}: more than two lines:\n${stderr}`);
  for (const l of lines.slice(1)) assertMatch(l, /^ {2}\S/, `${what}: ${stderr}`);
  assert(!/Uncaught|^\s+at /m.test(stderr), `${what}: ${stderr}`);
}

clusterTest(
  "bad names: one escaped line, the right exit code, nothing sent",
  { seed: "sessions" },
  async (t, c) => {
    const home = await Deno.makeTempDir({ prefix: "kodama-names-" });
    const k = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
      runKodama(["--kubeconfig", c.kubeconfig, "--context", "admin", ...args], {
        env: { KODAMA_HOME: home, ...env },
        cwd,
      });
    try {
      await t.step("names echoed in errors keep the error on one line", async () => {
        const repo = join(home, "repo");
        await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
        await Deno.writeTextFile(
          join(repo, ".kodama", "workflows", "enumw.yaml"),
          "name: enumw\nparams:\n  level: { type: enum, values: [low, high], default: low }\nsteps:\n" +
            '  - id: s\n    local: { command: ["true"] }\n',
        );
        const cases: [string[], number, string][] = [
          [["start", BAD, "--no-sync", "--dry-run"], 2, 'invalid session name "bad\\nname"'],
          [["port-forward", BAD], 2, 'invalid port spec "bad\\nname"'],
          [["compare", BAD], 3, 'group "bad\\nname" not found'],
          [["template", "show", BAD], 3, 'template "bad\\nname" not found'],
          [["run", BAD], 3, 'no workflow named "bad\\nname"'],
          [["workflow", "show", BAD], 3, 'no workflow named "bad\\nname"'],
          [
            ["run", "enumw", "--param", `level=${BAD}`],
            2,
            "--param level=bad\\nname: expected one of low, high",
          ],
          [["config", "get", BAD], 2, 'invalid config key "bad\\nname"'],
          [["exec", `deploy/${BAD}`, "--", "true"], 2, 'invalid name "bad\\nname" in deploy/bad\\nname'],
        ];
        for (const [args, code, first] of cases) {
          const r = await k(args, {}, repo);
          const what = JSON.stringify(args);
          assertOneError(r.stderr, what);
          assertEquals(r.code, code, `${what}: ${r.stderr}`);
          assert(r.stderr.startsWith(`error: ${first}`), `${what}: ${r.stderr}`);
        }
      });

      await t.step(
        "a session name is checked before the lookup: exit 2, never the selector's parse error",
        async () => {
          const verbs = [
            ["session", "get"],
            ["attach"],
            ["stop"],
            ["resume"],
            ["delete", "--force"],
            ["session", "logs"],
            ["agent", "run", "--prompt", "hi"],
            ["sync", "push"],
            ["share", "--user", "bob"],
          ];
          for (const v of verbs) {
            const r = await k([...v, BAD]);
            const what = v.join(" ");
            assertOneError(r.stderr, what);
            assertEquals(r.code, 2, `${what}: ${r.stderr}`);
            assert(r.stderr.startsWith('error: invalid session name "bad\\nname":'), `${what}: ${r.stderr}`);
            assert(!r.stderr.includes("selector"), `${what}: ${r.stderr}`);
          }
        },
      );

      await t.step(
        "every command's namespace is checked where it is settled, naming its source",
        async () => {
          const cases: [string[], Record<string, string>, string][] = [
            [["-n", "UPPER", "pods"], {}, 'invalid namespace "UPPER" (from -n/--namespace)'],
            [
              ["pods"],
              { KODAMA_NAMESPACE: "UPPER_ns" },
              'invalid namespace "UPPER_ns" (from KODAMA_NAMESPACE)',
            ],
            [["list", "-n", "a\nb"], {}, 'invalid namespace "a\\nb" (from -n/--namespace)'],
            [["snapshot", "list", "-n", "../x"], {}, 'invalid namespace "../x" (from -n/--namespace)'],
            [
              ["start", "n1", "-n", "UPPER", "--no-sync"],
              {},
              'invalid namespace "UPPER" (from -n/--namespace)',
            ],
          ];
          for (const [args, env, first] of cases) {
            const r = await k(args, env);
            const what = `${JSON.stringify(env)} ${JSON.stringify(args)}`;
            assertOneError(r.stderr, what);
            assertEquals([r.code, r.stdout], [2, ""], `${what}: ${r.stderr}`);
            assert(r.stderr.startsWith(`error: ${first}`), `${what}: ${r.stderr}`);
          }
          // the kubeconfig context's namespace (the test cluster's context "dev" sets namespace dev)
          const kc = join(home, "kc");
          const text = await Deno.readTextFile(c.kubeconfig);
          assert(text.includes("namespace: dev"), text);
          await Deno.writeTextFile(kc, text.replace("namespace: dev", "namespace: Dev_NS"));
          const context = "dev";
          const r = await runKodama(["--kubeconfig", kc, "--context", context, "list"], {
            env: { KODAMA_HOME: home },
          });
          assertOneError(r.stderr, "kubeconfig namespace");
          assertEquals(r.code, 2, r.stderr);
          assert(
            r.stderr.startsWith(`error: invalid namespace "Dev_NS" (from kubeconfig context "${context}")`),
            r.stderr,
          );
          // across all namespaces the context's is not used: it works, as `kubectl get pods -A` does
          const admin = join(home, "kc-admin");
          await Deno.writeTextFile(
            admin,
            text.replace("user: admin\n", "user: admin\n      namespace: Dev_NS\n"),
          );
          for (const args of [["pods", "-A", "-o", "name"], ["list", "-A"]]) {
            const all = await runKodama(["--kubeconfig", admin, "--context", "admin", ...args], {
              env: { KODAMA_HOME: home },
            });
            assertEquals(all.code, 0, `${args.join(" ")}: ${all.stderr}`);
            assert(!all.stderr.includes("namespace"), all.stderr);
          }
        },
      );

      await t.step("doctor reports a bad namespace as a failed check, exit 2", async () => {
        const r = await k(["doctor", "-n", "UPPER"]);
        assertEquals(r.code, 2, r.stdout + r.stderr);
        assertMatch(r.stdout, /^namespace\s+FAILED\s+invalid namespace "UPPER" \(from -n\/--namespace\)/m);
        assert(!r.stdout.includes("Permissions in namespace UPPER"), r.stdout);
      });
    } finally {
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
);
