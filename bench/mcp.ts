/**
 * The warm MCP server against kubectl processes, same run, interleaved: `pods_list -n load` against
 * `kubectl get pods -n load -o json`, and a one-pod `pods_exec` against `kubectl exec`. The agent's side is
 * the SDK's client over stdio to one `kodama mcp` (started once, as an agent keeps it), each call timed from
 * request to result; kubectl is a whole process each time, as an agent without kodama runs it.
 * Targets: pods_list <= 0.5x, pods_exec <= 0.8x.
 *
 *   deno run -A bench/mcp.ts [--runs N]                     # the test server (demo world + 100 pods in `load`)
 *   KODAMA_BENCH_KUBECONFIG=~/real/kubeconfig deno run -A bench/mcp.ts   # a real cluster (its current context)
 */
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startCluster } from "../tests/cluster/harness.ts";
import { benchLine, type BenchResult, fmtMs, median, smokeFlag, timeCommand } from "./_util.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function table(
  kubeconfig: string,
  runs: number,
  label: string,
  figures: Record<string, number>,
): Promise<string[]> {
  const home = await Deno.makeTempDir({ prefix: "kodama-bench-mcp-" });
  const env = { ...Deno.env.toObject(), KUBECONFIG: kubeconfig, KODAMA_HOME: home, NO_COLOR: "1" };
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(
    new StdioClientTransport({
      command: Deno.execPath(),
      args: ["run", "-A", "--no-prompt", "--config", CONFIG, MAIN, "mcp"],
      env,
      stderr: "inherit",
    }),
    { timeout: 300_000 },
  );
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
    return r;
  };
  const list = () => call("pods_list", { namespace: "load" });
  const exec = () => call("pods_exec", { namespace: "load", pod: "load-000", command: ["true"] });
  const kList = ["get", "pods", "-n", "load", "-o", "json"];
  const kExec = ["exec", "-n", "load", "load-000", "--", "true"];
  const kEnv = { KUBECONFIG: kubeconfig, PATH: Deno.env.get("PATH") ?? "" };
  try {
    // warm: the server's connection, its pod cache for `load`, the exec path; kubectl's binary in the page cache
    for (let i = 0; i < 2; i++) {
      await list();
      await exec();
      await timeCommand("kubectl", kList, kEnv);
      await timeCommand("kubectl", kExec, kEnv);
    }
    const s = { list: [] as number[], exec: [] as number[], kList: [] as number[], kExec: [] as number[] };
    const steps: [keyof typeof s, () => Promise<number>][] = [
      ["list", () => timed(list)],
      ["kList", () => timeCommand("kubectl", kList, kEnv)],
      ["exec", () => timed(exec)],
      ["kExec", () => timeCommand("kubectl", kExec, kEnv)],
    ];
    for (let i = 0; i < runs; i++) {
      // rotate the order each round so no side always runs right after the other
      for (let j = 0; j < steps.length; j++) {
        const [k, fn] = steps[(i + j) % steps.length];
        s[k].push(await fn());
      }
    }
    const rl = median(s.list) / median(s.kList);
    const re = median(s.exec) / median(s.kExec);
    Object.assign(figures, { listMs: median(s.list), listRatio: rl, execMs: median(s.exec), execRatio: re });
    const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ")).split(" ")[0];
    return [
      `${label}: median of ${runs} interleaved rounds, load average ${load}`,
      `pods_list -n load (warm server)     ${fmtMs(median(s.list)).padStart(9)}`,
      `kubectl get pods -n load -o json    ${fmtMs(median(s.kList)).padStart(9)}`,
      `  ratio ${rl.toFixed(2)}x (target <= 0.5x) ${rl <= 0.5 ? "OK" : "MISSED"}`,
      `pods_exec load-000 true (warm)      ${fmtMs(median(s.exec)).padStart(9)}`,
      `kubectl exec load-000 -- true       ${fmtMs(median(s.kExec)).padStart(9)}`,
      `  ratio ${re.toFixed(2)}x (target <= 0.8x) ${re <= 0.8 ? "OK" : "MISSED"}`,
    ];
  } finally {
    await client.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

export async function benchMcp(runs = 15): Promise<BenchResult> {
  const lines: string[] = [];
  const figures: Record<string, number> = {};
  const cluster = await startCluster({ seed: "demo", pods: 100 });
  try {
    lines.push(...await table(cluster.kubeconfig, runs, "test server", figures));
  } finally {
    await cluster.stop();
  }
  const other = Deno.env.get("KODAMA_BENCH_KUBECONFIG");
  if (other) lines.push("", ...await table(other, runs, `KODAMA_BENCH_KUBECONFIG (${other})`, {}));
  // a warm server's answer (from its cache) against a whole kubectl process: a thousandth is no answer
  return { name: "mcp", lines, figures, bounds: { listRatio: [0.001, 50], execRatio: [0.001, 50] } };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): two rounds. */
export const benchMcpSmoke = () => benchMcp(2);

if (import.meta.main) {
  const i = Deno.args.indexOf("--runs");
  const r = smokeFlag() ? await benchMcpSmoke() : await benchMcp(i >= 0 ? Number(Deno.args[i + 1]) : 15);
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
