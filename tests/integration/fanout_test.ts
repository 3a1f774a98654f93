/**
 * Fan-out exec over 100 pods of the test cluster: whole prefixed lines, the summary, failures named
 * exactly, dropped streams as per-pod errors, -o json, --fail-fast, --timeout, Ctrl-C.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { needsTestServer } from "../cluster/harness.ts";
import { runKodama, spawnKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { fanout } from "../../src/pods/fanout.ts";
import { findPods } from "../../src/pods/target.ts";
import { memorySink } from "../../src/base/sink.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { createHash, randomBytes } from "node:crypto";

async function waitRunning(kube: Kube, n: number) {
  for (let i = 0; i < 200; i++) {
    const pods = await findPods(kube, { namespace: "load", includeNotReady: false });
    if (pods.length >= n) return pods;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("load pods did not all start");
}

clusterTest("fan-out over 100 pods", { seed: "none", pods: 100 }, async (t, c) => {
  const n = c.loadPods; // 100 here; what a real cluster's setup made there
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "load" });
  const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args]);
  const pods = await waitRunning(kube, n);
  assertEquals(pods.length, n);

  await t.step("200 whole prefixed lines and '100 ok'", async () => {
    const r = await k([
      "exec",
      "-n",
      "load",
      "--all",
      "--",
      "sh",
      "-c",
      // fixed: two writes apart in time, so 100 pods' lines interleave (the work, not a wait)
      "echo start; sleep 0.2; echo end",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n").filter(Boolean);
    assertEquals(lines.length, 2 * n);
    const seen = new Map<string, string[]>();
    for (const l of lines) {
      const m = /^(load-\d{3}) \| (start|end)$/.exec(l);
      assert(m, `malformed line ${JSON.stringify(l)}`);
      seen.set(m[1], [...(seen.get(m[1]) ?? []), m[2]]);
    }
    assertEquals(seen.size, n);
    for (const [pod, words] of seen) assertEquals(words, ["start", "end"], pod);
    assertMatch(
      r.stderr,
      new RegExp(`^${n} pods: ${n} ok, 0 failed \\(slowest load-\\d{3} [\\d.]+m?s\\)\\n$`),
    );
  });

  await t.step("3 failing pods are named exactly in the summary, exit 1", async () => {
    const bad = ["load-007", "load-042", "load-099"];
    const r = await k([
      "exec",
      "-n",
      "load",
      "--all",
      "--",
      "sh",
      "-c",
      `case "$(hostname)" in ${bad.join("|")}) echo boom >&2; exit 1;; esac; echo fine`,
    ]);
    assertEquals(r.code, 1);
    assertEquals(r.stdout.split("\n").filter(Boolean).length, 97);
    const summary = r.stderr.split("\n").filter((l) => !l.includes("| boom"));
    assertStringIncludes(summary[0], `${n} pods: ${n - 3} ok, 3 failed`);
    const failures = summary.filter((l) => l.startsWith("  ")).map((l) => l.trim());
    assertEquals(failures, bad.map((p) => `${p}: exit code 1`));
    // stderr lines are prefixed too
    assertEquals(r.stderr.split("\n").filter((l) => /^load-\d{3} \| boom$/.test(l)).length, 3);
  });

  await t.step("-o json: one object per pod", async () => {
    const r = await k(["exec", "-n", "load", "-m", "load-00", "--all", "-o", "json", "--", "hostname"]);
    assertEquals(r.code, 0, r.stderr);
    const objs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(objs.length, 10);
    for (const o of objs) {
      assertEquals(o.stdout, `${o.pod}\n`);
      assertEquals(o.exitCode, 0);
      assertEquals(o.namespace, "load");
      assertEquals(o.error, null);
      assert(typeof o.durationMs === "number");
    }
  });

  await t.step("streams dropped halfway: those pods are errors, the rest complete", async () => {
    if (!needsTestServer(c)) return; // fault injection
    const out = memorySink();
    const err = memorySink();
    const run = fanout(kube, pods, {
      // fixed: streams still open when they are dropped (the test waits for the first 'a', not for time)
      command: ["sh", "-c", "echo a; sleep 0.6; echo b"],
      maxParallel: 50,
      out,
      err,
    });
    // drop while streams are surely open: once the first pod has printed "a" (a fixed delay was
    // too short on a loaded machine, where no stream had opened yet)
    while (!/\| a\n/.test(out.text())) await new Promise((r) => setTimeout(r, 10));
    c.faults.dropStreams(true);
    c.faults.dropStreams(false);
    const totals = await run;
    assertEquals(totals.results.length, n);
    assert(totals.failed > 0, "some pods must have lost their stream");
    assert(totals.ok > 0, "pods started after the drop must complete");
    assertEquals(totals.ok + totals.failed, n);
    for (const r of totals.results) {
      if (r.status === "ok") assertEquals(r.exitCode, 0);
      else {
        assertEquals(r.status, "error");
        assert(r.error && r.error.length > 0);
      }
    }
    assertStringIncludes(err.text(), `${n} pods: ${totals.ok} ok, ${totals.failed} failed`);
  });

  await t.step("--fail-fast cancels the rest; --timeout fails slow pods", async () => {
    const some = pods.slice(0, 20);
    const ff = await fanout(kube, some, {
      command: ["sh", "-c", `[ "$(hostname)" = load-000 ] && exit 3; sleep 2`],
      maxParallel: 4,
      failFast: true,
      out: memorySink(),
      err: memorySink(),
    });
    assertEquals(ff.results.find((r) => r.pod === "load-000")?.exitCode, 3);
    assert(ff.cancelled >= 15, `cancelled ${ff.cancelled}`);
    const to = await fanout(kube, some.slice(0, 3), {
      // fixed: one command outlives the 700 ms timeout (the work that times out, not a wait)
      command: ["sh", "-c", `[ "$(hostname)" = load-001 ] && sleep 5; true`],
      timeoutMs: 700,
      out: memorySink(),
      err: memorySink(),
    });
    assertEquals(to.results.map((r) => r.status), ["ok", "timeout", "ok"]);
    assertStringIncludes(to.results[1].error!, "timed out after 700ms");
  });

  await t.step("--stdin-style: the same bytes reach every pod", async () => {
    const out = memorySink();
    const r = await fanout(kube, pods.slice(0, 5), {
      command: ["sh", "-c", "wc -c"],
      stdin: new TextEncoder().encode("hello\n"),
      out,
      err: memorySink(),
      prefix: false,
    });
    assertEquals(r.ok, 5);
    assertEquals(out.text().split("\n").filter(Boolean).map((l) => l.trim()), ["6", "6", "6", "6", "6"]);
  });

  await t.step(
    "exec -i: 3 MiB of random bytes through one pod's stdin arrive whole and in order",
    async () => {
      // more than a dozen of the reused 256 KiB reads and many 64 KiB frames: a chunk sent after the
      // buffer was read into again would show as a wrong md5
      const bytes = new Uint8Array(randomBytes(3 * 1024 * 1024 + 123));
      const want = createHash("md5").update(bytes).digest("hex");
      const r = await runKodama(
        [
          "--kubeconfig",
          c.kubeconfig,
          "exec",
          "-i",
          "-n",
          "load",
          "--pod",
          pods[0].metadata!.name!,
          "--",
          "sh",
          "-c",
          "f=/tmp/kodama-stdin-$$; cat >$f; md5sum <$f; wc -c <$f; rm -f $f",
        ],
        { stdin: bytes },
      );
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.split(/\s+/).filter((w) => w && w !== "-"), [want, String(bytes.length)]);
    },
  );

  await t.step(
    "exec -i into a command that is not writing to stdout (cat > f): every byte arrives",
    async () => {
      // containerd closes an exec's stdin once its stdout or stderr ends (the test server does the same): sh
      // exec'd into `cat > f` has no stdout left, and kubectl's upload ends at ~192 KiB with exit 0
      const bytes = new Uint8Array(randomBytes(2 * 1024 * 1024));
      const want = createHash("md5").update(bytes).digest("hex");
      const pod = pods[1].metadata!.name!;
      const f = `/tmp/kodama-upload-${crypto.randomUUID().slice(0, 8)}`;
      const k = (args: string[], stdin?: Uint8Array) =>
        runKodama(["--kubeconfig", c.kubeconfig, "exec", "-n", "load", "--pod", pod, ...args], { stdin });
      for (const cmd of [`cat > ${f}`, `exec 2>/dev/null; cat > ${f}`]) {
        const up = await k(["-i", "--", "sh", "-c", cmd], bytes);
        assertEquals(up.code, 0, up.stderr);
        const sum = await k(["--", "sh", "-c", `md5sum < ${f}; wc -c < ${f}; rm -f ${f}`]);
        assertEquals(
          sum.stdout.split(/\s+/).filter((w) => w && w !== "-"),
          [want, String(bytes.length)],
          cmd,
        );
      }
    },
  );

  await t.step("Ctrl-C: partial summary, exit 130", async () => {
    const child = spawnKodama([
      "--kubeconfig",
      c.kubeconfig,
      "exec",
      "-n",
      "load",
      "-m",
      "load-01",
      "--all",
      "--",
      "sh",
      "-c",
      "echo go; sleep 30",
    ]);
    // interrupt once every pod has printed "go" (its command is running): a fixed delay could
    // interrupt a loaded machine's kodama before it even listened for SIGINT
    const errP = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while ((out.match(/\| go\n/g) ?? []).length < 10) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    child.kill("SIGINT");
    while (!(await reader.read()).done) { /* drain: a closed stdout would end kodama quietly instead */ }
    const r = await child.status;
    const stderr = await errP;
    assertEquals(r.code, 130, stderr);
    assertStringIncludes(stderr, "10 pods: 0 ok, 10 cancelled");
    assertStringIncludes(stderr, "interrupted");
  });
});
