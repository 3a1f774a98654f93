/**
 * Benchmarks cannot rot (issue 83): every benchmark `deno task bench` knows (bench/run.ts BENCHES) runs here
 * in its smoke size, as its own process (`deno run -A bench/run.ts --smoke NAME`), a few side by side, and
 * fails when it errs or prints an impossible figure. `bench/agents.ts` lost 8 runs of 8 for weeks because the
 * pod runner's arguments changed under it, and `bench/portforward.ts` waited on an image the test node does
 * not serve; nothing noticed.
 *
 * What is judged is what the benchmark prints on its `# bench-json` line: its exit code, its problems
 * (bench/_util.ts impossible: a lost run, a figure outside what can be, NaN), and that it printed figures, each
 * a number. Goals are not judged (a shared, loaded machine misses them). A benchmark that needs a program
 * this machine lacks is ignored, its name saying which, as is one left to be asked for by name
 * (BY_NAME_ONLY, with its reason); a benchmark file that run.ts does not know fails.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { fileURLToPath } from "node:url";
import { BENCHES } from "../../bench/run.ts";
import { SideBySide } from "../_side_by_side.ts";
import { trackChild } from "../_timeout.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** bench/ files that are no benchmark of their own: helpers, and what a benchmark runs beside it. */
const HELPERS: Record<string, string> = {
  "run.ts": "the runner",
  "_util.ts": "shared helpers",
  "_bare_loop.ts": "fanout's peer",
  "_ui_open.ts": "ui's first open",
  "floor_exec.ts": "everyday's floor",
};

/** Programs a benchmark runs (beyond deno), by name. */
const NEEDS: Record<string, string[]> = {
  everyday: ["kubectl"],
  startup: ["kubectl"],
  picker: [], // fzf, its peer, when there is one
  workflow: [],
  fanout: ["kubectl"],
  portforward: ["kubectl", "curl", "python3"],
  mcp: ["kubectl"],
  ui: [Deno.env.get("KODAMA_CHROMIUM") ?? "chromium", "kubectl"],
  "session-start": ["kubectl", "git"],
  land: ["kubectl", "git"],
  agents: ["node"],
  gateway: ["node"],
  churn: ["kubectl", "git", "node"],
  compare: ["kubectl", "git"],
  sync: ["kubectl"],
  podwatch: ["kubectl"],
  "tls-seed": ["openssl"],
  transport: ["kubectl", "/usr/bin/time"],
};

/**
 * Benchmarks whose smoke run the suite leaves to be asked for by name (KODAMA_BENCH_SMOKE_ONLY), and why.
 * None now: churn (two groups under evictions) was here while a run resumed after an eviction could end
 * `no-changes` (its resumed runner took the tree's start again: fixed in watch.sh, KODAMA_RESUMING); its
 * smoke takes 25-30 s of wall on 2 loaded cores.
 */
const BY_NAME_ONLY: Record<string, string> = {};

/** The slowest first, so the last of them does not run alone at the end. */
const ORDER = ["ui", "session-start", "everyday", "sync", "compare", "podwatch", "mcp", "churn"];

function missing(programs: string[]): string[] {
  const path = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  const found = (p: string) =>
    (p.startsWith("/") ? [p] : path.map((d) => `${d}/${p}`)).some((f) => {
      try {
        return Deno.statSync(f).isFile;
      } catch {
        return false;
      }
    });
  return programs.filter((p) => !found(p));
}

/** At most `n` of the smoke runs at once: the suite's other files share the machine's cores. */
function limiter(n: number) {
  let free = n;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}
const slot = limiter(Number(Deno.env.get("KODAMA_BENCH_SMOKE_JOBS")) || 3);

interface Line {
  name: string;
  smoke: boolean;
  figures?: Record<string, unknown>;
  problems?: string[];
  skipped?: string;
  error?: string;
}

/** `deno run -A bench/run.ts --smoke NAME`: its exit code, output and `# bench-json` line. */
async function smokeRun(name: string): Promise<{ code: number; out: string; line?: Line }> {
  const child = trackChild(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", `${ROOT}/bench/run.ts`, "--smoke", name],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  const json = text.split("\n").find((l) => l.startsWith("# bench-json "));
  return {
    code: out.code,
    out: `${text}\n${new TextDecoder().decode(out.stderr)}`.trim().split("\n").slice(-40).join("\n"),
    line: json ? JSON.parse(json.slice("# bench-json ".length)) : undefined,
  };
}

/** What is wrong with a smoke run's result: nothing when it ran, printed numbers and no problems. */
export function judge(r: { code: number; line?: Line }): string[] {
  if (!r.line) return [`no # bench-json line (exit ${r.code})`];
  const l = r.line;
  const out: string[] = [];
  if (l.error) out.push(`it failed: ${l.error}`);
  if (l.skipped) out.push(`it skipped itself: ${l.skipped} (the test ignores what this machine lacks)`);
  out.push(...(l.problems ?? []));
  const figures = Object.entries(l.figures ?? {});
  if (!l.error && !l.skipped && !figures.length) out.push("it printed no figures");
  for (const [k, v] of figures) if (typeof v !== "number") out.push(`${k} is ${JSON.stringify(v)}`);
  if (r.code !== 0 && !out.length) out.push(`it exited ${r.code}`);
  return out;
}

Deno.test("bench smoke: every benchmark file in bench/ is one bench/run.ts knows (so it runs here)", () => {
  const files = [...Deno.readDirSync(`${ROOT}/bench`)].map((e) => e.name).filter((f) => f.endsWith(".ts"));
  const known = new Set(Object.keys(BENCHES).map((n) => `${n}.ts`));
  const stray = files.filter((f) => !HELPERS[f] && !known.has(f) && !known.has(f.replaceAll("_", "-")));
  assertEquals(stray, [], "add each to bench/run.ts BENCHES with a smoke run (or to HELPERS here)");
  assertEquals(Object.keys(BENCHES).filter((n) => !NEEDS[n]), [], "say what each needs in NEEDS");
});

Deno.test("bench smoke: the judge fails a lost run, NaN, no figures and an error", () => {
  const ok = { code: 0, line: { name: "x", smoke: true, figures: { ratio: 1.2 }, problems: [] } };
  assertEquals(judge(ok), []);
  const lost = { code: 1, line: { ...ok.line, problems: ["8 of 8 runs lost (none may be)"] } };
  assertEquals(judge(lost), ["8 of 8 runs lost (none may be)"]);
  // JSON has no NaN: benchLine prints it as a string
  assert(judge({ code: 1, line: { ...ok.line, figures: { ratio: "NaN" } } }).length === 1);
  assert(judge({ code: 0, line: { ...ok.line, figures: {} } }).length === 1);
  assert(judge({ code: 1, line: { name: "x", smoke: true, error: "boom" } }).length === 1);
  assert(judge({ code: 1 }).length === 1);
});

const family = new SideBySide("bench smoke runs (side by side)", 12 * 60_000);
const names = Object.keys(BENCHES);
// KODAMA_BENCH_SMOKE_ONLY=agents,portforward: only those (by hand, while mending one)
const only = Deno.env.get("KODAMA_BENCH_SMOKE_ONLY")?.split(",");
for (const name of [...ORDER.filter((n) => names.includes(n)), ...names.filter((n) => !ORDER.includes(n))]) {
  const lacks = missing(NEEDS[name] ?? []);
  const skip = lacks.length
    ? `this machine has no ${lacks.join(", ")}`
    : only && !only.includes(name)
    ? "not in KODAMA_BENCH_SMOKE_ONLY"
    : !only && BY_NAME_ONLY[name]
    ? BY_NAME_ONLY[name]
    : undefined;
  family.test(
    skip ? `${name} (skipped: ${skip})` : name,
    async () => {
      const r = await slot(() => smokeRun(name));
      const wrong = judge(r);
      assertEquals(wrong, [], `bench ${name} --smoke:\n${r.out}`);
      assertEquals(r.code, 0, r.out);
    },
    { ignore: skip !== undefined },
  );
}
