/**
 * Session start against the floor (issue 34): one bare pod made and waited for by kubectl
 * (`kubectl run … --restart=Never` + `kubectl wait --for=condition=Ready`, the same image) against
 * `kodama start --no-sync` (cold: new volumes), `kodama resume` (volumes exist), `kodama start --repo`
 * eight starts at once, and a pooled start (a pair made ahead by `kodama pool ensure`; on the test server on
 * the slow class), in the same run, rounds interleaved. Medians and ratios against the bare pod.
 *
 *   deno run -A bench/session-start.ts [--runs 3] [--slow 10s]
 *
 * It runs on the test server (the demo world, image busybox:1.36) and, when KODAMA_BENCH_KUBECONFIG is set,
 * on that cluster too (context `dev`, namespace `dev`, image KODAMA_BENCH_IMAGE, default
 * kodama-dev:bookworm; KODAMA_BENCH_REPO a git URL the pods can clone, else `--repo` is skipped there).
 * On the test server `--slow` also makes a StorageClass whose provisioner takes that long per volume
 * (the test provisioner's `provisionDelay`) and times a cold start on it.
 *
 * Targets: cold start <= 1.5x the bare pod, resume <= 1.2x, 8 starts at once <= 2x one start, pooled <= 1.5x.
 * Beside the eight starts, the peer at the same task: eight bare pods at once against one bare pod.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { kubectl as kubectlOn, startCluster, type TestCluster } from "../tests/cluster/harness.ts";
import { benchLine, type BenchResult, cpu, fmtMs, median, smokeFlag } from "./_util.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Target {
  label: string;
  kubeconfig: string;
  context: string;
  image: string;
  /** a URL for `start --repo` (a local path on the test server, whose pods are local processes) */
  repo?: string;
  cluster?: TestCluster;
  /** a StorageClass with a slow provisioner (test server) */
  slowClass?: string;
}

async function run(cmd: string, args: string[], env: Record<string, string>, cwd?: string): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, env, cwd, stdout: "null", stderr: "piped" }).output();
  const dt = performance.now() - t0;
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.slice(-6).join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return dt;
}

function kodamaArgv(t: Target, args: string[]): string[] {
  return [
    "run",
    "-A",
    "--no-prompt",
    "--config",
    join(ROOT, "deno.json"),
    join(ROOT, "main.ts"),
    "--kubeconfig",
    t.kubeconfig,
    "--context",
    t.context,
    "-n",
    "dev",
    ...args,
  ];
}

function kubectlArgv(t: Target, args: string[]): string[] {
  return ["--kubeconfig", t.kubeconfig, "--context", t.context, "-n", "dev", ...args];
}

class Bench {
  home = Deno.makeTempDirSync({ prefix: "kodama-bench-home-" });
  cwd = Deno.makeTempDirSync({ prefix: "kodama-bench-cwd-" });
  env: Record<string, string>;
  constructor(readonly t: Target) {
    this.env = { ...Deno.env.toObject(), KODAMA_HOME: this.home, NO_COLOR: "1" };
    // the pool is sized by the bench (pool ensure before each pooled start): no background refill
    Deno.writeTextFileSync(`${this.home}/config.yaml`, "defaults:\n  storage:\n    poolRefill: false\n");
  }
  kodama(args: string[]): Promise<number> {
    return run(Deno.execPath(), kodamaArgv(this.t, args), this.env, this.cwd);
  }
  kubectl(args: string[]): Promise<number> {
    return run("kubectl", kubectlArgv(this.t, args), this.env);
  }
  async bare(name: string): Promise<number> {
    const t0 = performance.now();
    await this.kubectl([
      "run",
      name,
      "--image",
      this.t.image,
      "--restart=Never",
      "--command",
      "--",
      "sleep",
      "3600",
    ]);
    await this.kubectl(["wait", "--for=condition=Ready", `pod/${name}`, "--timeout=180s"]);
    const dt = performance.now() - t0;
    await this.kubectl(["delete", "pod", name, "--grace-period=0", "--force", "--wait=false"]).catch(() => 0);
    return dt;
  }
  /** sessions this run made, purged at the end however it ends */
  made = new Set<string>();
  start(name: string, extra: string[] = []): Promise<number> {
    this.made.add(name);
    // a small CPU limit (its request is a quarter): eight sessions fit on a two-core node, as the bare pods do
    return this.kodama(["start", name, "--image", this.t.image, "--no-sync", "--cpu", "0.5", ...extra]);
  }
  async purge(name: string): Promise<void> {
    await this.kodama(["delete", name, "--force", "--purge"]).catch(() => 0);
  }
}

const ratio = (a: number, b: number, target: number) => {
  const r = a / b;
  return `${r.toFixed(2)}x (target <= ${target}x) ${r <= target ? "OK" : "MISSED"}`;
};

/** Run `fn`, and add the CPU its child processes spent (counted once they exited) to `into`. */
async function counted<T>(into: number[], fn: () => Promise<T>): Promise<T> {
  const c0 = cpu.children();
  const out = await fn();
  const c1 = cpu.children();
  if (c0 !== undefined && c1 !== undefined) into.push(c1 - c0);
  return out;
}

const cpuNote = (c: number[]) => (c.length ? `  (CPU ${median(c).toFixed(2)} s)` : "");

/** How many starts at once (8; fewer in the smoke run) and the figures of the first target, by name. */
interface Shape {
  together: number;
  figures: Record<string, number>;
}

async function benchTarget(t: Target, runs: number, s: Shape): Promise<string[]> {
  const b = new Bench(t);
  try {
    return await measureTarget(b, t, runs, s);
  } finally {
    await Promise.all([...b.made].map((n) => b.purge(n)));
  }
}

async function measureTarget(b: Bench, t: Target, runs: number, s: Shape): Promise<string[]> {
  const n = s.together;
  // KODAMA_BENCH_PREFIX: names of your own on a shared cluster
  const tag = `${Deno.env.get("KODAMA_BENCH_PREFIX") ?? "bs"}${Date.now().toString(36).slice(-4)}`;
  const bare: number[] = [], cold: number[] = [], resume: number[] = [], repo: number[] = [];
  // CPU of the processes each one ran (kubectl run + wait; one kodama), user + system
  const bareCpu: number[] = [], coldCpu: number[] = [], resumeCpu: number[] = [];
  // warm the module cache and the image
  await b.bare(`${tag}-warm`);
  await b.start(`${tag}-warm`);
  await b.purge(`${tag}-warm`);
  for (let i = 0; i < runs; i++) {
    bare.push(await counted(bareCpu, () => b.bare(`${tag}-bare${i}`)));
    const name = `${tag}-c${i}`;
    cold.push(await counted(coldCpu, () => b.start(name)));
    await b.kodama(["stop", name]);
    resume.push(await counted(resumeCpu, () => b.kodama(["resume", name])));
    await b.purge(name);
    if (t.repo) {
      const r = `${tag}-r${i}`;
      repo.push(await b.start(r, ["--repo", t.repo]));
      await b.purge(r);
    }
  }
  // eight at once, against one start measured just before
  const one = await b.start(`${tag}-one`);
  await b.purge(`${tag}-one`);
  // and where the CPU of the eight goes: the kodama processes, the test server (in this process), the
  // pods' processes, and everything else on the machine (other users of a shared one too)
  const before = { kodama: cpu.children(), server: cpu.own("self"), machine: cpu.machine() };
  const pods0 = new Map((t.cluster?.runtimePids() ?? []).map((p) => [p, cpu.own(p)]));
  const t0 = performance.now();
  await Promise.all([...Array(n).keys()].map((i) => b.start(`${tag}-p${i}`)));
  const eight = performance.now() - t0;
  const kodamaCpu = before.kodama === undefined ? undefined : cpu.children()! - before.kodama;
  const serverCpu = t.cluster ? cpu.own("self") - before.server : 0;
  const podCpu = (t.cluster?.runtimePids() ?? []).reduce((a, p) => a + cpu.own(p) - (pods0.get(p) ?? 0), 0);
  const machineCpu = cpu.machine() - before.machine;
  await Promise.all([...Array(n).keys()].map((i) => b.purge(`${tag}-p${i}`)));
  // the peer at the same task: eight bare pods at once (eight kubectl run + wait) against one made just
  // before; on a machine with few cores the clients' own CPU sets a floor for any client, kubectl's too
  const bareOne = await b.bare(`${tag}-bone`);
  const tb = performance.now();
  await Promise.all([...Array(n).keys()].map((i) => b.bare(`${tag}-b8${i}`)));
  const bareEight = performance.now() - tb;
  const lines = [
    `[${t.label}] image ${t.image}, ${runs} rounds, medians`,
    `  bare pod (kubectl run + wait)     ${fmtMs(median(bare))}${cpuNote(bareCpu)}`,
    `  kodama start (cold, new volumes)  ${fmtMs(median(cold))}   ${ratio(median(cold), median(bare), 1.5)}${
      cpuNote(coldCpu)
    }`,
    `  kodama resume                     ${fmtMs(median(resume))}   ${
      ratio(median(resume), median(bare), 1.2)
    }${cpuNote(resumeCpu)}`,
    repo.length
      ? `  kodama start --repo               ${fmtMs(median(repo))}   ${
        (median(repo) / median(bare)).toFixed(2)
      }x`
      : `  kodama start --repo               not measured (no repository the pods can reach)`,
    `  ${n} starts at once                  ${fmtMs(eight)} against one start ${fmtMs(one)}   ${
      ratio(eight, one, 2)
    }`,
    `    peer: ${n} bare pods at once       ${fmtMs(bareEight)} against one bare pod ${fmtMs(bareOne)}   ${
      (bareEight / bareOne).toFixed(2)
    }x; kodama's ${n} / kubectl's ${n} ${(eight / bareEight).toFixed(2)}x`,
  ];
  Object.assign(s.figures, {
    bareMs: median(bare),
    coldRatio: median(cold) / median(bare),
    resumeRatio: median(resume) / median(bare),
    togetherRatio: eight / one,
    bareTogetherRatio: bareEight / bareOne,
  });
  if (kodamaCpu !== undefined) {
    const cores = navigator.hardwareConcurrency;
    const rest = machineCpu - kodamaCpu - serverCpu - podCpu;
    lines.push(
      `    CPU of the ${n}: kodama ${kodamaCpu.toFixed(2)} s (${(kodamaCpu / 8).toFixed(2)} s each)` +
        (t.cluster ? `, test server ${serverCpu.toFixed(2)} s, pod processes ${podCpu.toFixed(2)} s` : "") +
        `, rest of the machine ${Math.max(0, rest).toFixed(2)} s; ${cores} cores x ${
          (eight / 1000).toFixed(2)
        } s = ${(cores * eight / 1000).toFixed(2)} CPU-s`,
    );
  }
  if (t.slowClass) {
    const slow = await b.start(`${tag}-slow`, ["--storage-class", t.slowClass, "--no-pool"]);
    await b.purge(`${tag}-slow`);
    s.figures.slowMs = slow;
    lines.push(
      `  kodama start on a slow provisioner (${t.slowClass})  ${fmtMs(slow)}   ${
        (slow / median(bare)).toFixed(2)
      }x`,
    );
  }
  // pooled: a pair made ahead (pool ensure, waited for), then a start takes it; on the slow class when
  // there is one, so the provisioner's delay is out of the start; bare pods interleaved
  const cls = t.slowClass ? ["--storage-class", t.slowClass] : [];
  const pooled: number[] = [], bare2: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      await b.kodama(["pool", "ensure", "--size", "1", "--image", t.image, ...cls]);
      bare2.push(await b.bare(`${tag}-pbare${i}`));
      const name = `${tag}-pool${i}`;
      pooled.push(await b.start(name, cls));
      await b.purge(name);
    }
  } finally {
    await b.kodama(["pool", "drain"]).catch(() => 0);
  }
  s.figures.pooledRatio = median(pooled) / median(bare2);
  lines.push(
    `  kodama start, pooled${t.slowClass ? ` (${t.slowClass})` : ""}      ${fmtMs(median(pooled))}   ${
      ratio(median(pooled), median(bare2), 1.5)
    } (against its own bare pods, ${fmtMs(median(bare2))})`,
  );
  await Deno.remove(b.home, { recursive: true }).catch(() => {});
  await Deno.remove(b.cwd, { recursive: true }).catch(() => {});
  // each target's figures as soon as they are known (a later target may fail)
  console.error(lines.join("\n"));
  return lines;
}

async function localRepo(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-bench-repo-" });
  const git = (args: string[]) =>
    new Deno.Command("git", {
      args,
      cwd: dir,
      env: {
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_AUTHOR_NAME: "b",
        GIT_AUTHOR_EMAIL: "b@x",
        GIT_COMMITTER_NAME: "b",
        GIT_COMMITTER_EMAIL: "b@x",
      },
      stdout: "null",
      stderr: "null",
    }).output();
  await git(["init", "-q", "-b", "main"]);
  await Deno.writeTextFile(join(dir, "README.md"), "bench\n");
  await git(["add", "."]);
  await git(["commit", "-qm", "init"]);
  return dir;
}

export async function benchSessionStart(runs = 3, slow = "10s", together = 8): Promise<BenchResult> {
  const lines: string[] = [];
  const figures: Record<string, number> = {};
  const cluster = await startCluster({ seed: "demo" });
  try {
    const slowClass = `slow-${slow}`.replace(/[^a-z0-9-]/g, "");
    const mk = await kubectlOn(cluster, ["apply", "-f", "-"], {
      stdin: JSON.stringify({
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: slowClass },
        provisioner: "kodama.dev/test-hostpath",
        parameters: { provisionDelay: slow },
      }),
    });
    if (mk.code !== 0) throw new Error(mk.stderr);
    lines.push(
      ...await benchTarget(
        {
          label: "test server",
          kubeconfig: cluster.kubeconfig,
          context: "dev",
          image: "busybox:1.36",
          repo: await localRepo(),
          cluster,
          slowClass,
        },
        runs,
        { together, figures },
      ),
    );
  } finally {
    await cluster.stop();
  }
  const real = Deno.env.get("KODAMA_BENCH_KUBECONFIG");
  if (real) {
    lines.push(
      ...await benchTarget(
        {
          label: "cluster",
          kubeconfig: real,
          context: "dev",
          image: Deno.env.get("KODAMA_BENCH_IMAGE") ?? "kodama-dev:bookworm",
          repo: Deno.env.get("KODAMA_BENCH_REPO"),
        },
        runs,
        { together, figures: {} },
      ),
    );
  }
  // against a bare pod of the same image: a tenth of it is a start that did not wait for its pod; a pooled
  // start takes a pod made ahead (it may be far under); N at once cannot take a tenth of one
  const bounds: Record<string, [number, number]> = {
    coldRatio: [0.1, 50],
    resumeRatio: [0.1, 50],
    togetherRatio: [0.1, 50],
    bareTogetherRatio: [0.1, 50],
    pooledRatio: [0.01, 50],
  };
  return { name: "session-start", lines, figures, bounds };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): one round, 2 starts at once, a 1 s provisioner. */
export const benchSessionStartSmoke = () => benchSessionStart(1, "1s", 2);

if (import.meta.main) {
  const args = Deno.args;
  const at = (f: string) => (args.indexOf(f) >= 0 ? args[args.indexOf(f) + 1] : undefined);
  const r = smokeFlag()
    ? await benchSessionStartSmoke()
    : await benchSessionStart(Number(at("--runs") ?? 3), at("--slow") ?? "10s");
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
  Deno.exit(0);
}
