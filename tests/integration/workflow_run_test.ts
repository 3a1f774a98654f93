/**
 * Workflow acceptance against the test cluster, through the CLI as a user runs it:
 * kwekash (default and --param), --dry-run runs nothing, select: all + parallel over 20 pods (load-000 …
 * load-019, picked by name: a real cluster has more load pods).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { firstChunkThenClose, hasStackTrace, runKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { needsTestServer } from "../cluster/harness.ts";

clusterTest("workflows: kwekash, --param, --dry-run, parallel fan-out over 20 pods", {
  seed: "demo",
  pods: 20,
}, async (t, cluster) => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-wf-run-" });
  const env = { KUBECONFIG: cluster.kubeconfig, KODAMA_HOME: join(tmp, "home") };
  try {
    await t.step("kodama run kwekash prints the demo WEKA version", async () => {
      const r = await runKodama(["run", "kwekash"], { env, cwd: tmp });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "WEKA v4.4.2 (demo)\n");
      assertStringIncludes(r.stderr, "✓ weka version");
    });

    await t.step(
      "the drive pods are listed once (early: the run takes that list), then exec; an untrusted repo kwekash sends nothing",
      async () => {
        if (!needsTestServer(cluster)) return;
        const made = async (args: string[], cwd = tmp) => {
          const log = () => cluster.testServer!.requestLog();
          const start = log().length;
          const r = await runKodama(args, { env, cwd });
          return { r, requests: log().slice(start).map((x) => `${x.method} ${x.url.split("?")[0]}`) };
        };
        const pods = "GET /api/v1/namespaces/weka-operator-system/pods";
        const builtin = await made(["run", "kwekash"]);
        assertEquals(builtin.r.code, 0, builtin.r.stderr);
        assertEquals(builtin.requests, [pods, `${pods}/weka-drive-0/exec`]);
        // a dry run sends no early list: only the plan's own
        const dry = await made(["run", "kwekash", "--dry-run"]);
        assertEquals(dry.r.code, 0, dry.r.stderr);
        assertEquals(dry.requests, [pods]);
        const prod = await made(["run", "kwekash", "-n", "prod"]);
        assertEquals(prod.r.code, 3, prod.r.stderr);
        assertEquals(prod.requests, ["GET /api/v1/namespaces/prod/pods"]);
        // a param the workflow does not take: refused before any request
        const typo = await made(["run", "kwekash", "--param", "cmdd=x"]);
        assertEquals(typo.r.code, 2, typo.r.stderr);
        assertEquals(typo.requests, []);
        // your own kwekash in $KODAMA_HOME/workflows is trusted like the built-in
        const kw = await Deno.readTextFile(new URL("../../workflows/kwekash.yaml", import.meta.url));
        await Deno.mkdir(join(tmp, "home", "workflows"), { recursive: true });
        await Deno.writeTextFile(
          join(tmp, "home", "workflows", "kwekash.yaml"),
          kw.replace("default: weka version", "default: hostname"),
        );
        try {
          const home = await made(["run", "kwekash"]);
          assertEquals(home.r.code, 0, home.r.stderr);
          assertEquals(home.r.stdout, "weka-drive-0\n");
          assertEquals(home.requests, [pods, `${pods}/weka-drive-0/exec`]);
        } finally {
          await Deno.remove(join(tmp, "home", "workflows"), { recursive: true });
        }
        // a repo's kwekash replaces the built-in: no request before its trust question (refused without a TTY)
        const repo = join(tmp, "repo");
        await Deno.mkdir(join(repo, ".git"), { recursive: true });
        await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
        await Deno.writeTextFile(join(repo, ".kodama", "workflows", "kwekash.yaml"), kw);
        const untrusted = await made(["run", "kwekash"], repo);
        assertEquals(untrusted.r.code, 2, untrusted.r.stderr);
        assertStringIncludes(untrusted.r.stderr, "is not trusted");
        assertEquals(untrusted.requests, []);
      },
    );

    await t.step('--param cmd="weka status" runs the other command, in weka-drive-0', async () => {
      const r = await runKodama(["run", "kwekash", "--param", "cmd=weka status"], { env, cwd: tmp });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "WEKA v4.4.2 (demo) cluster kodama-demo: OK, host weka-drive-0\n");
    });

    await t.step("a failing command's exit code is the run's exit code", async () => {
      const r = await runKodama(["run", "kwekash", "--param", "cmd=weka nonsense"], { env, cwd: tmp });
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, "weka (demo): unknown command: nonsense");
      assertStringIncludes(r.stderr, 'failed at step "weka"');
      const r2 = await runKodama(["run", "kwekash", "--param", "cmd=exit 42"], { env, cwd: tmp });
      assertEquals(r2.code, 42, r2.stderr);
      assert(!hasStackTrace(r2.stderr));
    });

    await t.step("--dry-run resolves weka-drive-0 and executes nothing", async () => {
      // the marker is the pod's own file, read back through exec (a real pod's /tmp is not this machine's)
      const marker = `/tmp/kodama-dry-run-${crypto.randomUUID().slice(0, 8)}`;
      const cmd = `cmd=touch ${marker}`;
      const inPod = async () =>
        (await runKodama([
          "exec",
          "-n",
          "weka-operator-system",
          "--pod",
          "weka-drive-0",
          "-c",
          "weka",
          "--",
          "test",
          "-e",
          marker,
        ], { env, cwd: tmp })).code === 0;
      const dry = await runKodama(["run", "kwekash", "--dry-run", "--param", cmd], { env, cwd: tmp });
      assertEquals(dry.code, 0, dry.stderr);
      assertStringIncludes(dry.stdout, "drive → weka-drive-0 (first by name of 3 matches)");
      assertStringIncludes(dry.stdout, `exec sh -c 'touch ${marker}' in drive → weka-drive-0`);
      assertEquals(await inPod(), false, "dry run executed the command");
      // the same command without --dry-run does create the marker (so the check above means something)
      const real = await runKodama(["run", "kwekash", "--param", cmd], { env, cwd: tmp });
      assertEquals(real.code, 0, real.stderr);
      assertEquals(await inPod(), true);
      await runKodama(["run", "kwekash", "--param", `cmd=rm -f ${marker}`], { env, cwd: tmp });
    });

    await t.step("-n overrides the targets' namespace; nothing matching is exit 3", async () => {
      const r = await runKodama(["run", "kwekash", "-n", "prod"], { env, cwd: tmp });
      assertEquals(r.code, 3, r.stderr);
      assertStringIncludes(r.stderr, "no pods matched (namespace prod");
    });

    await t.step(
      "select: pick without a terminal is exit 2 naming --yes; --yes takes the first by name",
      async () => {
        const file = join(tmp, "pick.yaml");
        await Deno.writeTextFile(
          file,
          "targets:\n  d: { namespace: weka-operator-system, match: drive, select: pick }\n" +
            "steps:\n  - exec: { target: d, command: [hostname] }\n",
        );
        const r = await runKodama(["run", file], { env, cwd: tmp });
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "target d: 3 pods match and select: pick needs a terminal");
        assertStringIncludes(r.stderr, "--yes");
        const y = await runKodama(["run", file, "--yes"], { env, cwd: tmp });
        assertEquals(y.code, 0, y.stderr);
        assertEquals(y.stdout, "weka-drive-0\n");
      },
    );
    await t.step(
      "select: all + parallel group over 20 pods; a later if reads per-pod outputs",
      async () => {
        const file = join(tmp, "fan.yaml");
        await Deno.writeTextFile(
          file,
          `
targets:
  load: { namespace: load, regex: "^load-0[01][0-9]$", select: all }
steps:
  - parallel:
      limit: 2
      steps:
        - id: host
          exec: { target: load, command: [hostname], parallel: 10 }
        - id: echo
          exec: { target: load, command: [sh, -c, 'echo "n=$0"', "\${{ length(targets.load.pods) }}"], parallel: 10 }
  - id: check
    if: steps.host.outputs.failed == 0 && trim(steps.host.outputs.pods['load-007'].stdout) == 'load-007' && steps.echo.outputs.pods['load-019'].exitCode == 0
    exec: { target: load, command: [sh, -c, 'echo "checked $0"', "\${{ steps.host.outputs.ok }}"], parallel: 20, prefix: false }
  - id: never
    if: steps.host.outputs.pods['load-007'].stdout == 'nope'
    exec: { target: load, command: [hostname] }
`,
        );
        const r = await runKodama(["run", file], { env, cwd: tmp });
        assertEquals(r.code, 0, r.stderr);
        const lines = r.stdout.trimEnd().split("\n");
        for (let i = 0; i < 20; i++) {
          const pod = `load-${String(i).padStart(3, "0")}`;
          assert(lines.includes(`${pod} | ${pod}`), `missing ${pod} hostname line`);
          assert(lines.includes(`${pod} | n=20`), `missing ${pod} echo line`);
        }
        assertEquals(lines.filter((l) => l === "checked 20").length, 20);
        assertStringIncludes(r.stderr, "- never skipped");
        assertStringIncludes(r.stderr, "20 pods: 20 ok, 0 failed");
      },
    );

    await t.step(
      "a reader that stops early (| head): the run unwinds, always() steps run, exit 0",
      async () => {
        // the cleanup step's file is the pod's own, read back through exec
        const marker = `/tmp/kodama-cleanup-ran-${crypto.randomUUID().slice(0, 8)}`;
        const file = join(tmp, "pipe.yaml");
        await Deno.writeTextFile(
          file,
          `
targets:
  drive: { namespace: weka-operator-system, match: drive-0 }
steps:
  - id: flood
    exec: { target: drive, command: [sh, -c, 'seq 1 3000000; sleep 20'] }
  - id: cleanup
    if: always()
    exec: { target: drive, command: [touch, "${marker}"] }
`,
        );
        const t0 = Date.now();
        const r = await firstChunkThenClose(["run", file], { env, cwd: tmp });
        assertEquals(r.code, 0, r.stderr);
        assert(r.firstChunk.length > 0);
        assert(Date.now() - t0 < 15_000, "the run stopped instead of waiting for the flood step");
        const ran = await runKodama([
          "exec",
          "-n",
          "weka-operator-system",
          "--pod",
          "weka-drive-0",
          "--",
          "sh",
          "-c",
          `test -e ${marker} && rm ${marker}`,
        ], { env, cwd: tmp });
        assertEquals(ran.code, 0, "the always() step ran after stdout closed");
        assert(!hasStackTrace(r.stderr), r.stderr);
      },
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
