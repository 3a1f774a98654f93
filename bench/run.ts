/**
 * `deno task bench [--smoke] [NAME...]`: runs the benchmarks and prints ratios against peers measured in the
 * same run, each followed by its `# bench-json {…}` line (its figures, for a program to read). Each
 * benchmark module is also runnable alone (`deno run -A bench/<name>.ts`, `--smoke` there too).
 *
 * `--smoke`: each in its tiny size (few rounds, small trees), to see that it still runs and measures: the
 * suite runs it (tests/integration/bench_smoke_test.ts). It exits 1 when a benchmark fails or prints an
 * impossible figure (bench/_util.ts impossible: a lost run, NaN, a ratio outside what can be).
 */
import { benchLine, type BenchResult, impossible } from "./_util.ts";

type Bench = { full: () => Promise<BenchResult>; smoke: () => Promise<BenchResult> };

export const BENCHES: Record<string, Bench> = {
  everyday: {
    full: async () => (await import("./everyday.ts")).benchEveryday(),
    smoke: async () => (await import("./everyday.ts")).benchEverydaySmoke(),
  },
  startup: {
    full: async () => (await import("./startup.ts")).benchStartup(),
    smoke: async () => (await import("./startup.ts")).benchStartupSmoke(),
  },
  picker: {
    full: async () => (await import("./picker.ts")).benchPicker(),
    smoke: async () => (await import("./picker.ts")).benchPickerSmoke(),
  },
  workflow: {
    full: async () => (await import("./workflow.ts")).benchWorkflow(),
    smoke: async () => (await import("./workflow.ts")).benchWorkflowSmoke(),
  },
  fanout: {
    full: async () => (await import("./fanout.ts")).benchFanoutForRun(),
    smoke: async () => (await import("./fanout.ts")).benchFanoutSmoke(),
  },
  portforward: {
    full: async () => (await import("./portforward.ts")).benchPortforwardForRun(),
    smoke: async () => (await import("./portforward.ts")).benchPortforwardSmoke(),
  },
  mcp: {
    full: async () => (await import("./mcp.ts")).benchMcp(),
    smoke: async () => (await import("./mcp.ts")).benchMcpSmoke(),
  },
  ui: {
    full: async () => (await import("./ui.ts")).benchUi(),
    smoke: async () => (await import("./ui.ts")).benchUiSmoke(),
  },
  land: {
    full: async () => (await import("./land.ts")).benchLand(),
    smoke: async () => (await import("./land.ts")).benchLandSmoke(),
  },
  "session-start": {
    full: async () => (await import("./session-start.ts")).benchSessionStart(),
    smoke: async () => (await import("./session-start.ts")).benchSessionStartSmoke(),
  },
  agents: {
    full: async () => (await import("./agents.ts")).benchAgents(),
    smoke: async () => (await import("./agents.ts")).benchAgentsSmoke(),
  },
  gateway: {
    full: async () => (await import("./gateway.ts")).benchGateway(),
    smoke: async () => (await import("./gateway.ts")).benchGatewaySmoke(),
  },
  churn: {
    full: async () => (await import("./churn.ts")).benchChurn(),
    smoke: async () => (await import("./churn.ts")).benchChurnSmoke(),
  },
  compare: {
    full: async () => {
      const m = await import("./compare.ts");
      return m.benchCompare(m.parseCompareArgs([]));
    },
    smoke: async () => (await import("./compare.ts")).benchCompareSmoke(),
  },
  // KODAMA_BENCH_IDLE=10 shortens the 60 s idle-CPU measurement for a quick run
  sync: {
    full: async () => {
      const m = await import("./sync.ts");
      return m.benchSync(m.parseSyncArgs([]));
    },
    smoke: async () => (await import("./sync.ts")).benchSyncSmoke(),
  },
  "tls-seed": {
    full: async () => (await import("./tls_seed.ts")).benchTlsSeed(),
    smoke: async () => (await import("./tls_seed.ts")).benchTlsSeedSmoke(),
  },
  transport: {
    full: async () => {
      const m = await import("./transport.ts");
      return m.benchTransport(m.parseTransportArgs([]));
    },
    smoke: async () => (await import("./transport.ts")).benchTransportSmoke(),
  },
  podwatch: {
    full: async () => {
      const m = await import("./podwatch.ts");
      return m.benchPodWatch(m.parsePodWatchArgs([]));
    },
    smoke: async () => (await import("./podwatch.ts")).benchPodWatchSmoke(),
  },
};

if (import.meta.main) {
  const smoke = Deno.args.includes("--smoke");
  const names = Deno.args.filter((a) => a !== "--smoke");
  const wanted = names.length ? names : Object.keys(BENCHES);
  for (const name of wanted) {
    if (!BENCHES[name]) {
      console.error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(", ")}`);
      Deno.exit(2);
    }
  }
  let failed = false;
  for (const name of wanted) {
    try {
      const r = await BENCHES[name][smoke ? "smoke" : "full"]();
      console.log(`# ${r.name}\n${r.lines.join("\n")}`);
      if (r.skipped) console.log(`# ${name}: skipped: ${r.skipped}`);
      console.log(`${benchLine({ ...r, name }, smoke)}\n`);
      for (const p of impossible(r)) {
        failed = true;
        console.error(`# ${name}: impossible figure: ${p}`);
      }
    } catch (e) {
      failed = true;
      console.error(`# ${name} failed: ${(e as Error).message}`);
      console.log(`# bench-json ${JSON.stringify({ name, smoke, error: (e as Error).message })}\n`);
    }
  }
  Deno.exit(failed ? 1 : 0);
}
