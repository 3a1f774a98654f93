/**
 * Workflow overhead:
 *  1. `kodama run` of a one-step workflow (exec `weka version` in weka-drive-0) against a bare
 *     `kodama exec` of the same command — same process tree, same test cluster, alternating runs;
 *  2. start-up time of one script step: the cached graph check, the snapshot, a sandbox Worker that
 *     runs an empty script (in-process), against its peer measured in the same loop — a bare Worker
 *     (no permissions) that posts one message; and end to end, `kodama run` of a one-script-step
 *     workflow against one `local: [true]` step. The target is 30 ms unloaded; on a shared machine
 *     the ratio to the bare Worker is the figure to read (printed with the load average).
 * Runnable alone: `deno run -A bench/workflow.ts`; `bench/run.ts` calls benchWorkflow().
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startCluster } from "../tests/cluster/harness.ts";
import { benchLine, type BenchResult, fmtMs, median, percentile, smokeFlag, timeCommand } from "./_util.ts";
import { runSandboxed } from "../src/workflow/sandbox/host.ts";
import { denoPermissions } from "../src/workflow/sandbox/permissions.ts";
import { memorySink } from "../src/base/sink.ts";
import { checkedScript } from "../src/workflow/sandbox/graph.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
export async function benchWorkflow(
  RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 7),
  workers = 20,
): Promise<BenchResult> {
  const cluster = await startCluster({ seed: "demo" });
  const tmp = await Deno.makeTempDir({ prefix: "kodama-bench-wf-" });
  try {
    const env = { KUBECONFIG: cluster.kubeconfig, KODAMA_HOME: join(tmp, "home"), NO_COLOR: "1" };
    const kodama = (...args: string[]) => ["run", "-A", "--no-prompt", "--config", CONFIG, MAIN, ...args];
    const one = join(tmp, "one.yaml");
    await Deno.writeTextFile(
      one,
      "targets:\n  d: { namespace: weka-operator-system, pod: weka-drive-0, container: weka }\n" +
        "steps:\n  - exec: { target: d, command: [weka, version] }\n",
    );
    await Deno.writeTextFile(join(tmp, "empty.ts"), "export default () => ({ ok: true });\n");
    const script = join(tmp, "script.yaml");
    await Deno.writeTextFile(script, "steps:\n  - script: { module: empty.ts }\n");
    const local = join(tmp, "local.yaml");
    await Deno.writeTextFile(
      local,
      'permissions: { run: ["true"] }\nsteps:\n  - local: { command: ["true"] }\n',
    );

    const deno = Deno.execPath();
    const execArgs = kodama(
      "exec",
      "-n",
      "weka-operator-system",
      "--pod",
      "weka-drive-0",
      "-c",
      "weka",
      "--",
      "weka",
      "version",
    );
    // warm the module cache once
    await timeCommand(deno, kodama("run", one), env);
    await timeCommand(deno, execArgs, env);
    const runT: number[] = [], execT: number[] = [], scriptT: number[] = [], localT: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      runT.push(await timeCommand(deno, kodama("run", one), env));
      execT.push(await timeCommand(deno, execArgs, env));
      scriptT.push(await timeCommand(deno, kodama("run", script), env));
      localT.push(await timeCommand(deno, kodama("run", local, "--trust"), env));
    }

    // in-process: graph check (cached: the manifest path, as every run after the first) + snapshot +
    // one sandbox Worker start -> empty script -> result
    Deno.env.set("KODAMA_HOME", join(tmp, "home"));
    const entry = join(tmp, "empty.ts");
    await checkedScript(entry, { root: tmp, readPaths: [] }); // the first check runs the lexer
    const worker: number[] = [], bare: number[] = [];
    for (let i = 0; i < workers; i++) {
      bare.push(await bareWorker());
      const t0 = performance.now();
      const script = await checkedScript(entry, { root: tmp, readPaths: [] });
      const r = await runSandboxed({
        mode: "script",
        script,
        permissions: denoPermissions({}, tmp),
        start: {
          exportName: "default",
          ctx: { inputs: {}, params: {}, env: {}, targets: {}, step: { id: "s", workflow: "b" } },
        },
        out: memorySink(),
        err: memorySink(),
        signal: new AbortController().signal,
      });
      if (!r.ok) throw new Error(`script step failed: ${r.error}`);
      worker.push(performance.now() - t0);
    }

    const r = median(runT), e = median(execT), w = median(worker), b = median(bare);
    return {
      name: "workflow",
      figures: {
        runMs: r,
        execMs: e,
        runOverExec: r / e,
        scriptStepMs: w,
        bareWorkerMs: b,
        scriptOverBare: w / b,
        scriptRunMs: median(scriptT),
        localRunMs: median(localT),
      },
      // `kodama run` is the exec and more; a script step is a Worker and more (a tenth of either is none)
      bounds: { runOverExec: [0.1, 50], scriptOverBare: [0.1, 1000] },
      lines: [
        `kodama run (1 exec step)   median ${fmtMs(r)}   p90 ${fmtMs(percentile(runT, 90))}   (${RUNS} runs)`,
        `kodama exec (same command) median ${fmtMs(e)}   p90 ${fmtMs(percentile(execT, 90))}`,
        `overhead of run over exec: ${fmtMs(r - e)} (${(r / e).toFixed(2)}x)`,
        `script step start-up (cached graph check + snapshot + Worker + empty script, in-process): median ${
          fmtMs(w)
        }, p95 ${fmtMs(percentile(worker, 95))}`,
        `bare Worker start (peer, same loop): median ${fmtMs(b)}; script step / bare Worker: ${
          (w / b).toFixed(2)
        }x (load average ${Deno.loadavg()[0].toFixed(1)})`,
        `kodama run (1 script step) median ${fmtMs(median(scriptT))}  vs  (1 local 'true' step) median ${
          fmtMs(median(localT))
        }`,
      ],
    };
  } finally {
    await cluster.stop();
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The peer: a Worker with no permissions that posts one message, as cheap as a Worker gets. */
async function bareWorker(): Promise<number> {
  const t0 = performance.now();
  const url = URL.createObjectURL(new Blob(["self.postMessage(1)"], { type: "application/javascript" }));
  const w = new Worker(url, { type: "module", deno: { permissions: "none" } });
  await new Promise((r) => (w.onmessage = r));
  w.terminate();
  URL.revokeObjectURL(url);
  return performance.now() - t0;
}

/** The smoke run (tests/integration/bench_smoke_test.ts): one round, three script-step starts. */
export const benchWorkflowSmoke = () => benchWorkflow(1, 3);

if (import.meta.main) {
  const r = smokeFlag() ? await benchWorkflowSmoke() : await benchWorkflow();
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
