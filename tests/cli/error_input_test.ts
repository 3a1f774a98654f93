/**
 * Bad input ends in one or two lines and a documented exit code, nothing lost: a config value that does not
 * validate can be repaired with the command its error names; local paths (KODAMA_HOME, --to-file,
 * --stats-json, --prompt-file) are named with the flag or the variable, exit 3/2/4, before any work; a stray
 * KODAMA_DETACHED_ARGS changes nothing; a server URL that is not one is a usage error (2); a token the
 * server refuses makes doctor say so and exit 4.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { clusterTest } from "../cluster/fixture.ts";
import { hasStackTrace, runKodama, type RunResult } from "./_run.ts";

/** One error line (plus an optional indented hint), no Deno error text, no stack. */
function assertOneError(r: RunResult, code: number, what: string): void {
  assertEquals(r.code, code, `${what}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert(lines.length <= 2, `${what}: ${r.stderr}`);
  assertMatch(lines[0], /^error: \S/, what);
  assert(!/os error|Uncaught|Error:/.test(r.stderr) && !hasStackTrace(r.stderr), `${what}: ${r.stderr}`);
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-errin-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const BAD = "defaults:\n  namespace: UPPER_case\n";

/** A home whose config.yaml holds a value that does not validate. */
async function badHome(dir: string): Promise<Record<string, string>> {
  const home = join(dir, "home");
  await Deno.mkdir(home);
  await Deno.writeTextFile(join(home, "config.yaml"), BAD);
  // no kubeconfig: a command that gets past the config check fails on that, not on the cluster
  return { KODAMA_HOME: home, KUBECONFIG: join(dir, "none") };
}

Deno.test("a bad config value: the hint's `config set` runs, and the next command gets past the config", () =>
  withTmp(async (dir) => {
    const env = await badHome(dir);
    const refused = await runKodama(["pods"], { env });
    assertOneError(refused, 2, "pods with a bad config");
    assertStringIncludes(refused.stderr, "fix it with: kodama config set defaults.namespace VALUE");
    const set = await runKodama(["config", "set", "defaults.namespace", "default"], { env });
    assertEquals(set.code, 0, set.stderr);
    assertEquals(
      await Deno.readTextFile(join(env.KODAMA_HOME, "config.yaml")),
      "defaults:\n  namespace: default\n",
    );
    const next = await runKodama(["pods"], { env });
    assert(!next.stderr.includes("defaults.namespace"), next.stderr);
    assertStringIncludes(next.stderr, "no kubeconfig found");
  }));

Deno.test("a bad config value: `config unset` removes it", () =>
  withTmp(async (dir) => {
    const env = await badHome(dir);
    const r = await runKodama(["config", "unset", "defaults.namespace"], { env });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await Deno.readTextFile(join(env.KODAMA_HOME, "config.yaml")), "");
    assertEquals((await runKodama(["config", "get", "log.level"], { env })).code, 0);
  }));

Deno.test("a bad config value: `config view` and `config path` show it; set still validates its own value", () =>
  withTmp(async (dir) => {
    const env = await badHome(dir);
    const view = await runKodama(["config", "view"], { env });
    assertEquals([view.code, view.stdout], [0, BAD], view.stderr);
    const path = await runKodama(["config", "path"], { env });
    assertEquals([path.code, path.stdout], [0, join(env.KODAMA_HOME, "config.yaml") + "\n"], path.stderr);
    const wrong = await runKodama(["config", "set", "defaults.namespace", "Still_Bad"], { env });
    assertOneError(wrong, 2, "set to another bad value");
    assertEquals(await Deno.readTextFile(join(env.KODAMA_HOME, "config.yaml")), BAD);
  }));

Deno.test("a bad config value in a repo's .kodama.yaml: `config set --repo` repairs it", () =>
  withTmp(async (dir) => {
    const repo = join(dir, "repo");
    await Deno.mkdir(repo);
    await new Deno.Command("git", { args: ["init", "-q", repo] }).output();
    await Deno.writeTextFile(join(repo, ".kodama.yaml"), BAD);
    const env = { KODAMA_HOME: join(dir, "home"), KUBECONFIG: join(dir, "none") };
    assertOneError(await runKodama(["pods"], { env, cwd: repo }), 2, "pods with a bad repo config");
    const set = await runKodama(["config", "set", "--repo", "defaults.namespace", "dev"], { env, cwd: repo });
    assertEquals(set.code, 0, set.stderr);
    const get = await runKodama(["config", "get", "defaults.namespace"], { env, cwd: repo });
    assertEquals([get.code, get.stdout], [0, "dev\n"], get.stderr);
  }));

Deno.test("KODAMA_HOME that is a file: one line naming it, exit 2", async () => {
  const r = await runKodama(["config", "view"], { env: { KODAMA_HOME: "/dev/null" } });
  assertOneError(r, 2, "KODAMA_HOME=/dev/null");
  assertStringIncludes(r.stderr, "/dev/null is not a directory");
  assertStringIncludes(r.stderr, "KODAMA_HOME=/dev/null");
});

Deno.test("KODAMA_CONFIG_DIR where nothing can be created: one line naming it, not exit 1", async () => {
  const r = await runKodama(["config", "set", "defaults.image", "x"], {
    env: { KODAMA_CONFIG_DIR: "/proc/1" },
  });
  assertOneError(r, 3, "KODAMA_CONFIG_DIR=/proc/1");
  assertStringIncludes(r.stderr, "KODAMA_CONFIG_DIR=/proc/1");
});

Deno.test("KODAMA_DETACHED_ARGS is read only by a detached port-forward", () =>
  withTmp(async (dir) => {
    const env = { KODAMA_HOME: join(dir, "home"), KUBECONFIG: join(dir, "none") };
    const plain = await runKodama(["config", "get", "log.level"], { env });
    assertEquals(plain.code, 0, plain.stderr);
    for (const v of ["garbage", "[1]", '["pod-x"]']) {
      // once read by every command: `garbage` was a JSON parse error (exit 1), `[1]` an operand more
      const r = await runKodama(["config", "get", "log.level"], { env: { ...env, KODAMA_DETACHED_ARGS: v } });
      assertEquals([r.code, r.stdout, r.stderr], [0, plain.stdout, ""], v);
    }
    for (const v of ["garbage", "[1]", '["pod-x"]']) {
      const r = await runKodama(["port-forward", "--daemon", "x1", "pod/x", "1234"], {
        env: { ...env, KODAMA_DETACHED_ARGS: v },
      });
      assertOneError(r, 2, `--daemon with ${v}`);
      assertStringIncludes(r.stderr, "KODAMA_DETACHED_ARGS");
    }
  }));

Deno.test("-s with something that is not an http(s) URL: exit 2, naming the flag", async () => {
  // (HOST:PORT without a scheme is a server, as in kubectl: tests/integration/kubeconfig_diff_test.ts)
  for (const s of ["not a url", "ftp://x", "localhost:port", "unix:///run/k.sock"]) {
    const r = await runKodama(["-s", s, "pods"], { env: { KUBECONFIG: "/nonexistent" } });
    assertOneError(r, 2, s);
    assertStringIncludes(r.stderr, `--server ${JSON.stringify(s)} is not a server URL`);
  }
});

Deno.test("a kubeconfig server: that is not a URL: exit 2, naming the file and the context", () =>
  withTmp(async (dir) => {
    const kc = join(dir, "kc");
    await Deno.writeTextFile(
      kc,
      `apiVersion: v1
kind: Config
current-context: c1
clusters: [{ name: k1, cluster: { server: "not a url" } }]
users: [{ name: u1, user: { token: t } }]
contexts: [{ name: c1, context: { cluster: k1, user: u1 } }]
`,
    );
    const r = await runKodama(["--kubeconfig", kc, "pods"]);
    assertOneError(r, 2, "kubeconfig server");
    assertStringIncludes(r.stderr, `cluster "k1" of context "c1" in ${kc} has server "not a url"`);
  }));

clusterTest("output paths are checked before the work; a refused token is doctor's exit 4", {
  seed: "sessions",
}, async (t, c) => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-errin-" });
  const k = (args: string[]) =>
    runKodama(["--kubeconfig", c.kubeconfig, ...args], { env: { KODAMA_HOME: join(dir, "home") } });
  try {
    for (
      const [args, code] of [
        [["start", "n1", "--prompt-file", "/nonexistent"], 3],
        [["agent", "run", "n1", "--prompt-file", "/nonexistent"], 3],
        [["start", "n1", "--prompt-file", "/tmp"], 2],
      ] as const
    ) {
      await t.step(`${args.join(" ")}: named, exit ${code}, before any request`, async () => {
        const r = await k([...args]);
        assertOneError(r, code, args.join(" "));
        assertStringIncludes(r.stderr, `cannot read --prompt-file ${args[args.length - 1]}`);
      });
    }
    await t.step("snapshot create --to-file in a missing directory: exit 3, nothing copied", async () => {
      const r = await k(["snapshot", "create", "s1", "--to-file", join(dir, "nodir", "x.tar")]);
      assertOneError(r, 3, "--to-file nodir");
      assertStringIncludes(r.stderr, `--to-file ${join(dir, "nodir", "x.tar")}: the directory`);
    });
    await t.step("snapshot create --to-file DIR --force: exit 2 before any copy", async () => {
      const r = await k(["snapshot", "create", "s1", "--to-file", dir, "--force"]);
      assertOneError(r, 2, "--to-file dir");
      assertStringIncludes(r.stderr, "it is a directory");
    });
    await t.step("port-forward --stats-json DIR: exit 2, it does not run", async () => {
      const r = await k(["port-forward", "-n", "dev", "-m", "web", "--first", "0:80", "--stats-json", dir]);
      assertOneError(r, 2, "--stats-json dir");
      assertStringIncludes(r.stderr, `--stats-json ${dir}: it is a directory`);
    });
    await t.step("doctor with a token the server refuses: exit 4, says it was reached", async () => {
      const text = await Deno.readTextFile(c.kubeconfig);
      const bad = join(dir, "badkc");
      await Deno.writeTextFile(bad, text.replace(/token: \S+/g, "token: wrong-token"));
      const r = await runKodama(["--kubeconfig", bad, "--context", "dev", "doctor"], {
        env: { KODAMA_HOME: join(dir, "home") },
      });
      assertEquals(r.code, 4, r.stdout + r.stderr);
      assertMatch(r.stdout, /\nserver +FAILED +.*unauthorized/);
      assertStringIncludes(r.stdout, "Not ready: the server was reached and refused the credentials");
      assert(!r.stdout.includes("cannot be reached"), r.stdout);
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
