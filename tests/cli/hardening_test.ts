/**
 * Exit codes, messages and wording a new user runs into (issue 14, items 7, 8, 9, 14), each as the user
 * meets it: through the CLI against the test cluster.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { DEMO, needsTestServer } from "../cluster/harness.ts";
import { hasStackTrace, runKodama, spawnKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

/**
 * Wait until `n` commands started after `before` (a set of the test server's process ids) run `sleep 30` (argv[0] sleep, not the `sh -c` around it). A count
 * of the table is not enough: a previous step's command may still be ending (CI of stop 80: the table never
 * grew by two while one ended, so the streams were dropped after the commands had finished by themselves).
 */
async function sleepersStarted(
  c: { runtimePids(): number[] },
  before: Set<number>,
  n: number,
): Promise<void> {
  const cmdline = (p: number) => {
    try {
      return Deno.readTextFileSync(`/proc/${p}/cmdline`).replaceAll("\0", " ");
    } catch {
      return ""; // ended
    }
  };
  const end = Date.now() + 25_000;
  for (;;) {
    const fresh = c.runtimePids().filter((p) => !before.has(p) && /^sleep 30\b/.test(cmdline(p)));
    if (fresh.length >= n) return;
    if (Date.now() > end) throw new Error(`${fresh.length} of ${n} commands started in 25 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const [API0] = DEMO.apiPods;

clusterTest("exit codes, long durations and messages", { seed: "demo" }, async (t, c) => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-hardening-" });
  const env = { KODAMA_HOME: join(tmp, "home") };
  const k = (args: string[], o: { env?: Record<string, string>; cwd?: string } = {}) =>
    runKodama(["--kubeconfig", c.kubeconfig, ...args], { env: { ...env, ...o.env }, cwd: o.cwd });
  try {
    await t.step(
      "durations over 2^31 ms do not fire at once: exec, wait and a workflow timeout of 1000h",
      async () => {
        const ex = await k([
          "exec",
          "-n",
          "prod",
          "-l",
          "app=api",
          "--all",
          "--timeout",
          "1000h",
          "--",
          "sh",
          "-c",
          // fixed: a command that must outlive a timer a 1000h timeout would overflow into (fires at once)
          "sleep 1; echo done",
        ]);
        assertEquals(ex.code, 0, ex.stderr);
        assertEquals(ex.stdout.match(/\| done$/gm)?.length, 2, ex.stdout);
        const w = await k(["wait", "-n", "prod", "-l", "app=api", "--for", "ready", "--timeout", "1000h"]);
        assertEquals(w.code, 0, w.stderr);
        const repo = join(tmp, "repo");
        await Deno.mkdir(join(repo, ".git"), { recursive: true });
        await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
        await Deno.writeTextFile(
          join(repo, ".kodama", "workflows", "slow.yaml"),
          // fixed: the step must outlive a timer a 1000h timeout would overflow into (fires at once)
          `targets:\n  api: { namespace: prod, pod: ${API0} }\nsteps:\n  - id: nap\n    timeout: 1000h\n    exec: { target: api, command: [sh, -c, "sleep 1; echo rested"] }\n`,
        );
        const wf = await k(["run", "slow"], { cwd: repo });
        assertEquals(wf.code, 0, wf.stderr);
        assertStringIncludes(wf.stdout, "rested");
        for (const r of [ex, w, wf]) assert(!r.stderr.includes("TimeoutOverflowWarning"), r.stderr);
      },
    );

    await t.step(
      "exec --all -o json prints one object per pod, also for pods that never started",
      async () => {
        // one at a time: the first pod fails, --fail-fast cancels the rest before they start
        const r = await k([
          "exec",
          "-n",
          DEMO.wekaNamespace,
          "--all",
          "-o",
          "json",
          "--fail-fast",
          "--max-parallel",
          "1",
          "--",
          "sh",
          "-c",
          "exit 3",
        ]);
        assertEquals(r.code, 1, r.stderr);
        const objs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
        assertEquals(objs.length, DEMO.wekaPods.length);
        assertEquals(new Set(objs.map((o) => o.pod)), new Set(DEMO.wekaPods));
        assertEquals(objs.filter((o) => o.status === "failed").length, 1);
        const cancelled = objs.filter((o) => o.status === "cancelled");
        assertEquals(cancelled.length, DEMO.wekaPods.length - 1);
        for (const o of cancelled) assertEquals([o.exitCode, o.error], [null, "cancelled (--fail-fast)"]);
      },
    );

    await t.step("Ctrl-C during exec --all -o json: every pod still has its object", async () => {
      if (!needsTestServer(c)) return; // it watches the test server's process table
      const before = new Set(c.runtimePids());
      const child = spawnKodama([
        "--kubeconfig",
        c.kubeconfig,
        "exec",
        "-n",
        DEMO.wekaNamespace,
        "--all",
        "-o",
        "json",
        "--max-parallel",
        "1",
        "--",
        "sleep",
        "30",
      ]);
      const out = new Response(child.stdout).text();
      const err = new Response(child.stderr).text();
      // the first pod's command runs: Ctrl-C
      await sleepersStarted(c, before, 1);
      child.kill("SIGINT");
      const { code } = await child.status;
      const stdout = await out;
      await err;
      assertEquals(code, 130);
      const objs = stdout.trim().split("\n").map((l) => JSON.parse(l));
      assertEquals(objs.length, DEMO.wekaPods.length);
      assert(objs.every((o) => o.status === "cancelled"), stdout);
    });

    await t.step("a selector the server refuses is a usage error (exit 2)", async () => {
      for (
        const args of [["pods", "-n", "prod", "-l", "app in (a"], [
          "pods",
          "-n",
          "prod",
          "--field-selector",
          "spec.nope=1",
        ]]
      ) {
        const r = await k(args);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "check -l/--selector and --field-selector");
        assert(!hasStackTrace(r.stderr) && r.stderr.trim().split("\n").length <= 2, r.stderr);
      }
    });

    await t.step("a dropped exec stream says so, not the TLS library's words", async () => {
      if (!needsTestServer(c)) return; // fault injection
      const before = new Set(c.runtimePids());
      const child = spawnKodama([
        "--kubeconfig",
        c.kubeconfig,
        "exec",
        "-n",
        "prod",
        "-l",
        "app=api",
        "--all",
        "-o",
        "json",
        "--",
        "sh",
        "-c",
        "sleep 30",
      ]);
      const out = new Response(child.stdout).text();
      const err = new Response(child.stderr).text();
      // both commands run: drop every stream
      await sleepersStarted(c, before, 2);
      c.faults.dropStreams(true);
      c.faults.dropStreams(false);
      const { code } = await child.status;
      const stdout = await out;
      const stderr = await err;
      assertEquals(code, 1, stderr);
      const objs = stdout.trim().split("\n").map((l) => JSON.parse(l));
      assertEquals(objs.length, 2);
      for (const o of objs) {
        // the stream is gone, and the command it ran is ended in its pod (it would run on otherwise)
        assertEquals(
          o.error,
          "stream dropped before the command finished (the connection closed); ended in the pod",
        );
      }
      assert(!/docs\.rs|close_notify/.test(stdout + stderr), stdout + stderr);
    });

    await t.step(
      "long exec arguments: 120 KB works as on a real API server; over 1 MiB is exit 2, explained",
      async () => {
        const big = "x".repeat(120_000);
        const ok = await k([
          "exec",
          "-n",
          "prod",
          "--pod",
          API0,
          "--",
          "sh",
          "-c",
          'printf %s "$1" | wc -c',
          "sh",
          big,
        ]);
        assertEquals(ok.code, 0, ok.stderr);
        assertEquals(ok.stdout.trim(), "120000");
        const args = Array.from({ length: 10 }, () => "y".repeat(110_000));
        const tooBig = await k(["exec", "-n", "prod", "--pod", API0, "--", "echo", ...args]);
        assertEquals(tooBig.code, 2, tooBig.stderr);
        assertMatch(
          tooBig.stderr,
          /^error: the command is too long to send: its arguments make a \d+ KiB request, and the API server reads at most 1 MiB\n {2}send long input on stdin instead/,
        );
      },
    );

    await t.step(
      'wording: exit code said once; no `name contains ""`; the trust file\'s real path',
      async () => {
        const repo = join(tmp, "repo2");
        await Deno.mkdir(join(repo, ".git"), { recursive: true });
        await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
        await Deno.writeTextFile(
          join(repo, ".kodama", "workflows", "three.yaml"),
          `targets:\n  api: { namespace: prod, pod: ${API0} }\nsteps:\n  - id: weka\n    exec: { target: api, command: [sh, -c, "exit 3"] }\n`,
        );
        const r = await k(["run", "three"], { cwd: repo });
        assertEquals(r.code, 3, r.stderr);
        assertStringIncludes(r.stderr, 'error: workflow three failed at step "weka": exit code 3\n');
        assert(!r.stderr.includes("(exit 3)"), r.stderr);
        const empty = await k(["run", "health", "--param", "match=", "--param", "namespace=nosuch"]);
        assertEquals(empty.code, 3, empty.stderr);
        assert(!empty.stderr.includes('name contains ""'), empty.stderr);
        assertStringIncludes(empty.stderr, "no pods matched (namespace nosuch, Running only)");
        await Deno.writeTextFile(
          join(repo, ".kodama", "workflows", "asks.yaml"),
          `permissions: { run: [echo] }\nsteps:\n  - local: { command: [echo, hi] }\n`,
        );
        const home = join(tmp, "elsewhere");
        const untrusted = await k(["run", "asks"], { cwd: repo, env: { KODAMA_HOME: home } });
        assertEquals(untrusted.code, 2, untrusted.stderr);
        assertStringIncludes(untrusted.stderr, `pinned by content hash in ${home}/trust.yaml`);
        assert(!untrusted.stderr.includes("~/.kodama"), untrusted.stderr);
      },
    );

    await t.step("kwekash WORDS passes them as its cmd param, as the seed's wrapper does", async () => {
      const r = await k(["run", "kwekash", "weka", "status"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "cluster kodama-demo: OK");
      const none = await k(["run", "health", "stray", "words"]);
      assertEquals(none.code, 2, none.stderr);
      assertStringIncludes(none.stderr, "workflow health takes no words after its name");
    });

    await t.step(
      "an unknown command with --help is an error; version -o yaml is YAML, -o xml refused",
      async () => {
        const s = await k(["sesion", "--help"]);
        assertEquals(s.code, 2, s.stdout);
        assertEquals(s.stdout, "");
        assertMatch(s.stderr, /^error: unknown command "sesion" for "kodama"; did you mean session\?/);
        const y = await k(["version", "--client", "-o", "yaml"]);
        assertEquals(y.code, 0, y.stderr);
        assertMatch(
          y.stdout,
          /^clientVersion:\n {2}gitVersion: v\d+\.\d+\.\d+\n {2}denoVersion: \d+\.\d+\.\d+\n/,
        );
        const j = await k(["version", "--client", "-o", "json"]);
        assertEquals(Object.keys(JSON.parse(j.stdout)), ["clientVersion"]);
        // kubectl's words and shape: the server's too unless --client
        const t = await k(["version"]);
        assertMatch(
          t.stdout,
          /^Client Version: v\d+\.\d+\.\d+\nDeno Version: \d+\.\d+\.\d+\nServer Version: v\S+\n$/,
        );
        const sj = JSON.parse((await k(["version", "-o", "json"])).stdout);
        assertMatch(sj.serverVersion.gitVersion, /^v\d+\.\d+/);
        const x = await k(["version", "--client", "-o", "xml"]);
        assertEquals(x.code, 2);
        assertStringIncludes(x.stderr, "Allowed choices are text, json, yaml");
      },
    );
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
