/** Small helpers shared by the benchmarks: timing subprocesses and summarising samples. */
import os from "node:os";
import { LABEL_SESSION } from "../src/session/spec/names.ts";
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}
export const median = (s: number[]) => percentile(s, 50);

/** Run a command to completion and return its wall time in ms (throws when it fails). */
export async function timeCommand(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).output();
  const dt = performance.now() - t0;
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return dt;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

export interface BenchResult {
  name: string;
  lines: string[];
  /**
   * What cannot be true of this run's own figures (a run lost where none may be, a wall time under what the
   * rate limit allows, a throughput of 0): the benchmark erred. `deno task bench` then fails, and so does its
   * smoke run in the suite (tests/integration/bench_smoke_test.ts), so a benchmark cannot rot unnoticed.
   */
  problems?: string[];
  /**
   * The run's figures by name (times in the unit their name says, ratios, counts), printed as JSON on the
   * `# bench-json` line (benchLine) for a program to read: the smoke test does.
   */
  figures?: Record<string, number>;
  /**
   * The range each named figure may take, inclusive; a figure without one must be a finite number above 0.
   * A ratio's range is wide: its floor far under the goal, its ceiling absurd (the goal itself is not
   * judged here: a shared, loaded machine misses goals, it does not make figures impossible).
   */
  bounds?: Record<string, [number, number]>;
  /** why nothing was measured (what the machine lacks): said on the `# bench-json` line, never a pass */
  skipped?: string;
}

/** Whether the benchmark was asked for its smoke run: `--smoke` among the arguments, or KODAMA_BENCH_SMOKE=1. */
export function smokeFlag(args: string[] = Deno.args): boolean {
  return args.includes("--smoke") || Deno.env.get("KODAMA_BENCH_SMOKE") === "1";
}

/**
 * Everything impossible about a result: its own problems, then each figure outside its bound (without one:
 * not a finite number above 0: NaN, Infinity, 0 ms). A result with no figures and no skip reason is one too.
 */
export function impossible(r: BenchResult): string[] {
  const out = [...(r.problems ?? [])];
  if (r.skipped) return out;
  const figures = r.figures ?? {};
  if (!Object.keys(figures).length) out.push("it printed no figures");
  for (const [k, v] of Object.entries(figures)) {
    const b = r.bounds?.[k];
    if (!Number.isFinite(v) && !(b && v === b[1])) out.push(`${k} is ${v}`);
    else if (b ? v < b[0] || v > b[1] : !(v > 0)) {
      out.push(`${k} is ${v}${b ? ` (it can only be ${b[0]} to ${b[1]})` : " (it can only be above 0)"}`);
    }
  }
  return out;
}

/** The machine-readable line of a result: `# bench-json {"name":…,"figures":{…},"problems":[…]}`. */
export function benchLine(r: BenchResult, smoke = false): string {
  const finite = (v: number) => (Number.isFinite(v) ? v : String(v));
  return "# bench-json " + JSON.stringify({
    name: r.name,
    smoke,
    ...(r.skipped ? { skipped: r.skipped } : {}),
    figures: Object.fromEntries(Object.entries(r.figures ?? {}).map(([k, v]) => [k, finite(v)])),
    problems: impossible(r),
  });
}

/**
 * A pod-side sh that prints `PID PPID TICKS KIND` for the sync's pod watcher and its node notifier, from
 * `/proc` in the pod: KIND `s` for each `sh -c` whose arguments match `shGlob` (ticks: utime + stime +
 * cutime + cstime, its own and those of the processes it waited for), KIND `n` for each notifier (its own
 * ticks: the sh waits for it only at its end). Not kubectl, whose arguments hold the script too where the
 * pod sees this machine's processes (the test server). `cwdOf`, when given, is a pod path: only processes
 * working there count (the test server's pods see each other's watchers).
 */
export function watcherCpuScript(shGlob: string, cwdOf?: string): string {
  return (cwdOf ? `ws=$(cd ${cwdOf} && pwd -P); ` : "") +
    `for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] && continue; ` +
    `case "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" in *kubectl*) continue ;; *"sh -c "${shGlob}) k=s ;; ` +
    `"node -e "*kodama-pod-events*) k=n ;; *) continue ;; esac; ` +
    (cwdOf ? `[ "$(readlink $p/cwd 2>/dev/null)" = "$ws" ] || continue; ` : "") +
    `s=$(cat $p/stat 2>/dev/null) || continue; set -- \${s##*) }; [ "$2" = "$$" ] && continue; ` +
    `echo "\${p#/proc/} $2 $(( \${12} + \${13} + \${14} + \${15} )) $k"; done`;
}

/**
 * The watcher's ticks from `watcherCpuScript`'s output: its sh (not a subshell of it: a `$(…)` forks one
 * with the same arguments) plus its notifier children. Undefined unless exactly one watcher was found.
 */
export function watcherTicks(out: string): { ticks: number; notifier: boolean } | undefined {
  const rows = out.trim().split("\n").map((l) => l.split(" ")).filter((r) => r.length === 4)
    .map(([pid, ppid, ticks, kind]) => ({
      pid: Number(pid),
      ppid: Number(ppid),
      ticks: Number(ticks),
      kind,
    }));
  const shs = rows.filter((r) => r.kind === "s");
  const pids = new Set(shs.map((r) => r.pid));
  const top = shs.filter((r) => !pids.has(r.ppid));
  if (top.length !== 1) return undefined;
  const notifiers = rows.filter((r) => r.kind === "n" && r.ppid === top[0].pid);
  return { ticks: top[0].ticks + notifiers.reduce((a, r) => a + r.ticks, 0), notifier: notifiers.length > 0 };
}

/**
 * CPU counted by the kernel, in seconds: this process's own (the test server runs in it), its waited-for
 * children's (every kodama and kubectl run, once it has exited) and a live process's (a pod's), from Linux
 * /proc (elsewhere those figures are left out); and the whole machine's busy time, on every OS.
 */
export const cpu = {
  fields(pid: number | "self"): number[] | undefined {
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return s.slice(s.lastIndexOf(")") + 2).split(" ").map(Number);
    } catch {
      return undefined;
    }
  },
  /** utime + stime of a process (fields 14, 15) */
  own(pid: number | "self"): number {
    const f = cpu.fields(pid);
    return f ? (f[11] + f[12]) / 100 : 0;
  },
  /** cutime + cstime (fields 16, 17): the children it has waited for */
  children(): number | undefined {
    const f = cpu.fields("self");
    return f ? (f[13] + f[14]) / 100 : undefined;
  },
  /** the whole machine's busy time, every core (node:os: on every OS) */
  machine(): number {
    return os.cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0) / 1000;
  },
};

/** The places of the `n` largest of `values`, largest first: which samples (a run's first, a stall) made the tail. */
export function slowest(values: number[], n: number): number[] {
  return values.map((_, i) => i).sort((a, b) => values[b] - values[a]).slice(0, n);
}

/**
 * The running pod of session `name` (a session is a Job: its pod's name is not the session's), found by
 * the label kodama gives it; `kubectl` is kubectl's argv up to its verb (`kubectl --kubeconfig K -n NS`).
 */
export async function sessionPod(kubectl: string[], name: string): Promise<string> {
  const out = await new Deno.Command(kubectl[0], {
    args: [
      ...kubectl.slice(1),
      "get",
      "pods",
      "-l",
      `${LABEL_SESSION}=${name}`,
      "--field-selector=status.phase=Running",
      "-o",
      "jsonpath={.items[*].metadata.name}",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const pod = new TextDecoder().decode(out.stdout).trim().split(/\s+/)[0];
  if (!out.success || !pod) {
    throw new Error(`no running pod of session ${name}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return pod;
}
