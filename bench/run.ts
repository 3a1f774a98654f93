/**
 * `deno task bench [NAME...]`: runs the benchmarks and prints ratios against peers measured in the same run.
 * Each benchmark module is also runnable alone (`deno run -A bench/<name>.ts`).
 */
import type { BenchResult } from "./_util.ts";

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  everyday: async () => (await import("./everyday.ts")).benchEveryday(),
  startup: async () => (await import("./startup.ts")).benchStartup(),
  picker: async () => (await import("./picker.ts")).benchPicker(),
  workflow: async () => (await import("./workflow.ts")).benchWorkflow(),
  fanout: async () => (await import("./fanout.ts")).benchFanoutForRun(),
  portforward: async () => (await import("./portforward.ts")).benchPortforwardForRun(),
  mcp: async () => (await import("./mcp.ts")).benchMcp(),
  ui: async () => (await import("./ui.ts")).benchUi(),
  "session-start": async () => (await import("./session-start.ts")).benchSessionStart(),
  agents: async () => (await import("./agents.ts")).benchAgents(),
  gateway: async () => (await import("./gateway.ts")).benchGateway(),
  churn: async () => (await import("./churn.ts")).benchChurn(),
  compare: async () => {
    const m = await import("./compare.ts");
    return m.benchCompare(m.parseCompareArgs([]));
  },
  // KODAMA_BENCH_IDLE=10 shortens the 60 s idle-CPU measurement for a quick run
  sync: async () => {
    const m = await import("./sync.ts");
    return m.benchSync(m.parseSyncArgs([]));
  },
  podwatch: async () => {
    const m = await import("./podwatch.ts");
    return m.benchPodWatch(m.parsePodWatchArgs([]));
  },
};

const wanted = Deno.args.length ? Deno.args : Object.keys(BENCHES);
let failed = false;
for (const name of wanted) {
  const fn = BENCHES[name];
  if (!fn) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(", ")}`);
    Deno.exit(2);
  }
  try {
    const r = await fn();
    console.log(`# ${r.name}\n${r.lines.join("\n")}\n`);
    for (const p of r.problems ?? []) {
      failed = true;
      console.error(`# ${name}: impossible figure: ${p}`);
    }
  } catch (e) {
    failed = true;
    console.error(`# ${name} failed: ${(e as Error).message}`);
  }
}
Deno.exit(failed ? 1 : 0);
