/**
 * The everyday path, against kubectl in the same run (issue 15): one-pod `exec`, `pods -n load`,
 * `pods -A`, `--version`, `__complete exec -n load ''` (a Tab press) and `run kwekash`, each a whole process, interleaved round by round (the
 * order rotates each round, so neither side always runs on a warmer machine), medians of wall time,
 * CPU (user+sys) and peak RSS, and kodama/kubectl ratios.
 *
 *   deno task bench everyday
 *   deno run -A bench/everyday.ts [--runs 7] [--baseline DIR] [--only exec,pods] [--binary PATH] [--bundle]
 *
 * It starts the test server (demo world + 100 pods in `load`), and measures again against any cluster
 * given by KODAMA_BENCH_KUBECONFIG (its current context; it needs pods in `load`, e.g. the real cluster's
 * `load-000`). `--baseline DIR` adds a third column, the kodama checked out in DIR (e.g. /work/main), run
 * in the same rounds: before/after figures from one run on a loaded machine. Kodama runs as the installed
 * shim runs it: `deno run -A --no-prompt --v8-flags=--no-lazy --config deno.json main.ts …` (src/base/proc/proc.ts
 * RUNTIME_FLAGS); that is what the target rows measure.
 * Two more ways to run the same kodama can be added as extra rows, measured in the same rounds:
 * `--binary PATH`, the `deno compile`d kodama ("as released": `deno task compile`, which needs the
 * target's denort), and `--bundle`, `deno run` of a `deno bundle --code-splitting` of main.ts built into the
 * bench's temporary directory (the question "would running a bundle be faster?", bench/README.md).
 *
 * `run kwekash` is compared with the `kubectl exec` it stands for. The built-in kwekash runs
 * `sh -c "weka version"`; a cluster whose drive pods have no `weka` (busybox) gets a copy of it that runs
 * `true`, in $KODAMA_HOME/workflows (a home workflow named kwekash, which discovery prefers over the built-in).
 *
 * Both execs are also run by bench/floor_exec.ts, the least a Deno program does for them (TLS warm-up
 * before anything else, the kubeconfig, the GET, one WebSocket): what kodama takes over it is kodama's
 * own, what it takes over kubectl is Deno's (start-up, AWS-LC's seeding: bench/README.md).
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { startCluster } from "../tests/cluster/harness.ts";
import { benchLine, type BenchResult, median, smokeFlag } from "./_util.ts";
import { RUNTIME_FLAGS } from "../src/base/proc/proc.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Sample {
  wall: number;
  cpu: number;
  rssMB: number;
}
interface Case {
  name: string;
  kodama: string[];
  kubectl: string[];
  /** the same exec by bench/floor_exec.ts: the least any Deno program pays for it */
  floor?: string[];
  /** kodama's target ratio against kubectl */
  target: number;
}
interface Subject {
  name: string;
  argv: (c: Case) => string[];
}

async function measure(argv: string[], env: Record<string, string>, cwd: string): Promise<Sample> {
  const fmt = await Deno.makeTempFile({ prefix: "kodama-bench-time-" });
  try {
    const t0 = performance.now();
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-o", fmt, "-f", "%U %S %M", ...argv],
      env,
      cwd,
      stdout: "null",
      stderr: "piped",
    }).output();
    const wall = performance.now() - t0;
    if (!out.success) {
      throw new Error(
        `${argv.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr).slice(-400)}`,
      );
    }
    const [u, s, m] = (await Deno.readTextFile(fmt)).trim().split("\n").pop()!.split(/\s+/).map(Number);
    return { wall, cpu: (u + s) * 1000, rssMB: m / 1024 };
  } finally {
    await Deno.remove(fmt).catch(() => {});
  }
}

/**
 * `deno run` of `script` in the checkout at `root`, as the installed shim runs main.ts: with the
 * runtime flags that checkout's installer gives its shims (src/base/proc/proc.ts RUNTIME_FLAGS; none before it had
 * them). The floor runs with the same flags as kodama: it shares two of its modules, and V8 rejects a
 * code cache made under other flags.
 */
function denoRun(
  root: string,
  script: string,
  flags: string[],
  args: (c: Case) => string[],
): (c: Case) => string[] {
  const config = join(root, "deno.json"), file = join(root, script);
  return (c) => [Deno.execPath(), "run", "-A", "--no-prompt", ...flags, "--config", config, file, ...args(c)];
}

/** The runtime flags the checkout at `root` installs its shims with. */
async function shimFlags(root: string): Promise<string[]> {
  try {
    const m = await import(pathToFileURL(join(root, "src", "base", "proc", "proc.ts")).href);
    return Array.isArray(m.RUNTIME_FLAGS) ? m.RUNTIME_FLAGS : [];
  } catch {
    return [];
  }
}

const kodamaAt = async (root: string) => denoRun(root, "main.ts", await shimFlags(root), (c) => c.kodama);

const load = () => Deno.loadavg().map((l) => l.toFixed(2)).join(" ");

export interface EverydayOptions {
  runs?: number;
  baseline?: string;
  only?: string[];
  /** a compiled kodama (`deno task compile`): an extra "as released" row per command */
  binary?: string;
  /** an extra row: `deno run` of a code-split `deno bundle` of main.ts */
  bundle?: boolean;
  /** no warm-up round (the smoke run: its figures are read for being possible, not for the targets) */
  cold?: boolean;
}

/**
 * `deno bundle --code-splitting` of main.ts (dynamic imports become chunks, npm packages stay imports) into
 * `dir`/bundle/out; returns the entry. Files kodama finds beside its sources by `import.meta.url` resolve
 * from the chunks' directory: `../../workflows` is linked to the checkout's built-in workflows, and the
 * workflow cache's checker stamp finds no sources (one failed stat instead of 19; src/workflow/cache.ts).
 */
async function bundleAt(root: string, dir: string): Promise<string> {
  const out = join(dir, "bundle", "out");
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--platform",
      "deno",
      "--code-splitting",
      "--packages",
      "external",
      "--format",
      "esm",
      "--config",
      join(root, "deno.json"),
      "--outdir",
      out,
      join(root, "main.ts"),
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(r.stderr).slice(-400)}`);
  await Deno.symlink(join(root, "workflows"), join(dir, "workflows"));
  return join(out, "main.js");
}

/** One table of the everyday commands against the cluster in `kubeconfig`. */
async function benchAgainst(
  label: string,
  kubeconfig: string,
  pod: { ns: string; name: string; container: string },
  wekaInDrive: boolean,
  o: EverydayOptions,
  figures: Record<string, number> = {},
): Promise<string[]> {
  const runs = o.runs ?? 7;
  const tmp = await Deno.makeTempDir({ prefix: "kodama-bench-everyday-" });
  try {
    const env = { KUBECONFIG: kubeconfig, KODAMA_HOME: join(tmp, "home"), NO_COLOR: "1" };
    const shell = "sh"; // what kwekash runs its command with
    if (!wekaInDrive) {
      // the built-in kwekash running `true`: your own copy in $KODAMA_HOME/workflows (trusted like the
      // built-in; a repo copy would replace a built-in, which needs trust, and ask for it)
      const kw = await Deno.readTextFile(join(ROOT, "workflows/kwekash.yaml"));
      await Deno.mkdir(join(tmp, "home", "workflows"), { recursive: true });
      await Deno.writeTextFile(
        join(tmp, "home", "workflows", "kwekash.yaml"),
        kw.replace("default: weka version", "default: 'true'"),
      );
    }
    const kwCmd = wekaInDrive ? "weka version" : "true";
    const podArgs = ["-n", pod.ns, "--pod", pod.name, "-c", pod.container];
    const cases: Case[] = [
      {
        name: `exec ${pod.name} -- true`,
        kodama: ["exec", ...podArgs, "--", "true"],
        kubectl: ["exec", "-n", pod.ns, pod.name, "-c", pod.container, "--", "true"],
        floor: [pod.ns, pod.name, pod.container, "true"],
        target: 1.2,
      },
      {
        name: "pods -n load",
        kodama: ["pods", "-n", "load"],
        kubectl: ["get", "pods", "-n", "load"],
        target: 1.2,
      },
      { name: "pods -A", kodama: ["pods", "-A"], kubectl: ["get", "pods", "-A"], target: 1.2 },
      { name: "--version", kodama: ["--version"], kubectl: ["version", "--client"], target: 1.2 },
      {
        // every Tab press: the pods of a namespace as exec's target (kubectl lists the same pods)
        name: "__complete exec",
        kodama: ["__complete", "exec", "-n", pod.ns, ""],
        kubectl: ["__complete", "exec", "-n", pod.ns, ""],
        target: 1.3,
      },
      {
        name: "run kwekash",
        kodama: ["run", "kwekash"],
        kubectl: [
          "exec",
          "-n",
          "weka-operator-system",
          "weka-drive-0",
          "-c",
          "weka",
          "--",
          shell,
          "-c",
          kwCmd,
        ],
        floor: ["weka-operator-system", "weka-drive-0", "weka", shell, "-c", kwCmd],
        target: 1.3,
      },
    ].filter((c) => !o.only || o.only.some((w) => c.name.startsWith(w)));
    const subjects: Subject[] = [
      { name: "kodama", argv: await kodamaAt(ROOT) },
      { name: "kubectl", argv: (c) => ["kubectl", ...c.kubectl] },
    ];
    if (o.baseline) subjects.push({ name: "before", argv: await kodamaAt(o.baseline) });
    // other ways to run the same kodama, in the same rounds; the target rows stay the shim's `deno run`
    const extras: Subject[] = [];
    if (o.binary) {
      const bin = o.binary;
      extras.push({ name: `as released (${bin})`, argv: (c) => [bin, ...c.kodama] });
    }
    if (o.bundle) {
      const entry = await bundleAt(ROOT, tmp);
      const config = join(ROOT, "deno.json");
      extras.push({
        name: "bundled (deno bundle --code-splitting)",
        argv: (c) => [
          Deno.execPath(),
          "run",
          "-A",
          "--no-prompt",
          ...RUNTIME_FLAGS,
          "--config",
          config,
          entry,
          ...c.kodama,
        ],
      });
    }
    const floor: Subject = {
      name: "deno floor",
      argv: denoRun(ROOT, "bench/floor_exec.ts", RUNTIME_FLAGS, (c) => c.floor!),
    };

    const before = load();
    const samples = new Map<string, Sample[]>();
    const key = (c: Case, s: Subject) => `${c.name}\0${s.name}`;
    // warm-up: Deno's module cache, kubectl's discovery cache, the server's first connections
    const subjectsOf = (c: Case) => [...subjects, ...extras, ...(c.floor ? [floor] : [])];
    if (!o.cold) { for (const c of cases) for (const s of subjectsOf(c)) await measure(s.argv(c), env, tmp); }
    for (let r = 0; r < runs; r++) {
      for (const c of cases) {
        const all = subjectsOf(c);
        for (let i = 0; i < all.length; i++) {
          const s = all[(i + r) % all.length];
          const m = await measure(s.argv(c), env, tmp);
          samples.set(key(c, s), [...samples.get(key(c, s)) ?? [], m]);
        }
      }
    }
    const stat = (c: Case, s: Subject) => {
      const xs = samples.get(key(c, s))!;
      return {
        wall: median(xs.map((x) => x.wall)),
        cpu: median(xs.map((x) => x.cpu)),
        rss: median(xs.map((x) => x.rssMB)),
      };
    };
    const cell = (x: { wall: number; cpu: number; rss: number }) =>
      `${x.wall.toFixed(0).padStart(5)} ms ${x.cpu.toFixed(0).padStart(4)} ms cpu ${
        x.rss.toFixed(0).padStart(3)
      } MB`;
    const lines = [
      `## ${label} — median of ${runs} interleaved runs; load average ${before} -> ${load()} (${navigator.hardwareConcurrency} CPUs)`,
      `${"command".padEnd(22)} ${"kodama".padEnd(26)} ${"kubectl".padEnd(26)} ratio (target)${
        o.baseline ? "   before (--baseline)          ratio" : ""
      }`,
    ];
    for (const c of cases) {
      const k = stat(c, subjects[0]), p = stat(c, subjects[1]);
      const ratio = k.wall / p.wall;
      figures[`${c.name} ratio`] = ratio;
      figures[`${c.name} ms`] = k.wall;
      let line = `${c.name.padEnd(22)} ${cell(k)}  ${cell(p)}  ${ratio.toFixed(2)}x (<= ${c.target}x ${
        ratio <= c.target ? "OK" : "MISSED"
      })`;
      if (o.baseline) {
        const b = stat(c, subjects[2]);
        line += `  ${cell(b)}  ${(b.wall / p.wall).toFixed(2)}x`;
      }
      lines.push(line);
    }
    const floored = cases.filter((c) => c.floor);
    if (floored.length) {
      lines.push(
        "the same exec by the least Deno program (bench/floor_exec.ts: warm-up, kubeconfig, GET, one WebSocket):",
      );
      for (const c of floored) {
        const k = stat(c, subjects[0]), p = stat(c, subjects[1]), f = stat(c, floor);
        lines.push(
          `${c.name.padEnd(22)} ${cell(f)}  floor/kubectl ${
            (f.wall / p.wall).toFixed(2)
          }x, kodama over the floor ${(k.wall - f.wall).toFixed(0)} ms`,
        );
      }
    }
    for (const x of extras) {
      lines.push(`the same kodama ${x.name}, same rounds:`);
      for (const c of cases) {
        const k = stat(c, subjects[0]), p = stat(c, subjects[1]), e = stat(c, x);
        const d = e.wall - k.wall;
        lines.push(
          `${c.name.padEnd(22)} ${cell(e)}  ${(e.wall / p.wall).toFixed(2)}x kubectl, ${d >= 0 ? "+" : ""}${
            d.toFixed(0)
          } ms against the target row's \`deno run\``,
        );
      }
    }
    return lines;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

export async function benchEveryday(o: EverydayOptions = {}): Promise<BenchResult> {
  const lines: string[] = [];
  const figures: Record<string, number> = {};
  const cluster = await startCluster({ seed: "demo", pods: 100 });
  try {
    lines.push(
      ...await benchAgainst(
        "test server",
        cluster.kubeconfig,
        { ns: "load", name: "load-000", container: "main" },
        !cluster.real,
        o,
        figures,
      ),
    );
  } finally {
    await cluster.stop();
  }
  const other = Deno.env.get("KODAMA_BENCH_KUBECONFIG");
  if (other) {
    lines.push(
      "",
      ...await benchAgainst(
        `KODAMA_BENCH_KUBECONFIG (${other})`,
        other,
        { ns: "load", name: "load-000", container: "main" },
        false,
        o,
      ),
    );
  }
  // each command against kubectl's same command: a twentieth of it, or fifty times, is not the same command
  const bounds = Object.fromEntries(
    Object.keys(figures).filter((k) => k.endsWith(" ratio")).map((k) => [k, [0.05, 50] as [number, number]]),
  );
  return { name: "everyday", lines, figures, bounds };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): one round of each command, no warm-up round. */
export const benchEverydaySmoke = () => benchEveryday({ runs: 1, cold: true });

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const r = smokeFlag() ? await benchEverydaySmoke() : await benchEveryday({
    runs: Number(flag("--runs") ?? Deno.env.get("BENCH_RUNS") ?? 7),
    baseline: flag("--baseline"),
    only: flag("--only")?.split(","),
    binary: flag("--binary"),
    bundle: Deno.args.includes("--bundle"),
  });
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
