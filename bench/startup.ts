/**
 * Start-up: `kodama --version` (through `deno run`, the way the installed shim runs it) against
 * `kubectl version --client`, same run, interleaved. Target: kodama within 1.5x of kubectl.
 */
import { fileURLToPath } from "node:url";
import { benchLine, type BenchResult, fmtMs, median, smokeFlag, timeCommand } from "./_util.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

export async function benchStartup(runs = 15): Promise<BenchResult> {
  const kodama = ["run", "-A", "--config", CONFIG, MAIN, "--version"];
  const help = ["run", "-A", "--config", CONFIG, MAIN, "--help"];
  // warm the module cache once
  await timeCommand(Deno.execPath(), kodama);
  const k: number[] = [], h: number[] = [], kc: number[] = [];
  for (let i = 0; i < runs; i++) {
    k.push(await timeCommand(Deno.execPath(), kodama));
    h.push(await timeCommand(Deno.execPath(), help));
    kc.push(await timeCommand("kubectl", ["version", "--client"]));
  }
  const ratio = median(k) / median(kc);
  return {
    name: "startup",
    figures: { kodamaMs: median(k), helpMs: median(h), kubectlMs: median(kc), ratio },
    bounds: { ratio: [0.05, 50] },
    lines: [
      `kodama --version          median ${fmtMs(median(k))}  (${runs} runs)`,
      `kodama --help             median ${fmtMs(median(h))}`,
      `kubectl version --client  median ${fmtMs(median(kc))}`,
      `ratio kodama/kubectl      ${ratio.toFixed(2)}x  (target <= 1.5x) ${ratio <= 1.5 ? "OK" : "MISSED"}`,
    ],
  };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): two rounds. */
export const benchStartupSmoke = () => benchStartup(2);

if (import.meta.main) {
  const r = smokeFlag() ? await benchStartupSmoke() : await benchStartup(Number(Deno.args[0] ?? 15));
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
