/**
 * Best-of-N benchmark (#29), in one run:
 *
 *   start     `kodama start NAME --replicas 8` against `kodama start NAME` (one session), same image and
 *             repository: the group must take at most 1.5x the single start (its requests run in parallel,
 *             PVCs and pods are created together)
 *   compare   `kodama compare NAME` over the 8 replicas, each having run a fake agent and a check: it must
 *             answer in under 1.5 s; its peers, measured in the same run: `kodama list` (one process that
 *             reads the sessions and nothing in the pods) and one `kubectl exec` into one replica
 *
 *   deno run -A bench/compare.ts [--runs 3] [--replicas 8]
 *                                [--kubeconfig PATH --context CTX --namespace NS --image IMAGE]
 *
 * Without --kubeconfig it starts the Kubernetes API test server.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { benchLine, type BenchResult, cpu, fmtMs, median, sessionPod, smokeFlag } from "./_util.ts";
import { kodamaArgv, startTestServer } from "./fanout.ts";

const KUBECTL = "kubectl";

interface Opts {
  runs: number;
  replicas: number;
  kubeconfig?: string;
  context: string;
  namespace: string;
  image: string;
}

async function run(cmd: string, args: string[], env: Record<string, string>, cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${args.slice(-8).join(" ")} failed (${out.code}): ${dec.decode(out.stderr).slice(-400)}`,
    );
  }
  return dec.decode(out.stdout);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * A start timed, with the CPU the whole machine spent meanwhile (kodama, the API server, the pods'
 * containers, the node's own work) and the kodama process's own (once it has exited; Linux only).
 */
async function timedCpu(into: { machine: number[]; kodama: number[] }, fn: () => Promise<unknown>) {
  const m0 = cpu.machine(), k0 = cpu.children();
  const ms = await timed(fn);
  into.machine.push(cpu.machine() - m0);
  const k1 = cpu.children();
  if (k0 !== undefined && k1 !== undefined) into.kodama.push(k1 - k0);
  return ms;
}

async function git(args: string[], cwd: string) {
  await run("git", args, {
    ...Deno.env.toObject(),
    GIT_AUTHOR_NAME: "b",
    GIT_AUTHOR_EMAIL: "b@example.com",
    GIT_COMMITTER_NAME: "b",
    GIT_COMMITTER_EMAIL: "b@example.com",
  }, cwd);
}

/** The fake agent: a change of its own per replica, committed; the check passes for odd replicas. */
const AGENT = [
  `cat > /dev/null`,
  `echo "answer $KODAMA_REPLICA" > answer.txt`,
  `git add answer.txt && git -c user.name=a -c user.email=a@example.com commit -qm "replica $KODAMA_REPLICA"`,
  `echo "done: replica $KODAMA_REPLICA"`,
].join("\n");

export async function benchCompare(o: Opts): Promise<BenchResult> {
  const server = o.kubeconfig ? undefined : await startTestServer(0);
  const kubeconfig = o.kubeconfig ?? server!.kubeconfig;
  const home = await Deno.makeTempDir({ prefix: "kodama-bench-home-" });
  const work = await Deno.makeTempDir({ prefix: "kodama-bench-group-" });
  const env = { ...Deno.env.toObject(), KODAMA_HOME: home, KUBECONFIG: kubeconfig, NO_COLOR: "1" };
  const g = ["--context", o.context, "-n", o.namespace];
  const kodama = (args: string[]) => {
    const argv = kodamaArgv(kubeconfig, [...g, ...args]);
    return run(argv[0], argv.slice(1), env, work);
  };
  const lines: string[] = [];
  const made: string[] = [];
  try {
    await git(["init", "-q", "-b", "main"], work);
    await Deno.writeTextFile(join(work, "README.md"), "bench\n");
    await Deno.writeTextFile(join(work, ".git", "info", "exclude"), ".kodama.yaml\n");
    await git(["add", "README.md"], work);
    await git(["commit", "-qm", "init"], work);
    await Deno.writeTextFile(
      join(work, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n  check: "[ $((KODAMA_REPLICA % 2)) = 1 ]"\n`,
    );
    const start = ["--repo", ".", "--image", o.image, "--no-sync", "--prompt", "bench task"];
    const times = {
      one: [] as number[],
      group: [] as number[],
      compare: [] as number[],
      list: [] as number[],
      exec: [] as number[],
    };
    // the CPU each start took: on a machine with few cores, the group's pods and requests share them
    const oneCpu = { machine: [] as number[], kodama: [] as number[] };
    const groupCpu = { machine: [] as number[], kodama: [] as number[] };
    for (let i = 0; i < o.runs; i++) {
      const one = `b1-${i}-${crypto.randomUUID().slice(0, 4)}`;
      const grp = `bg-${i}-${crypto.randomUUID().slice(0, 4)}`;
      made.push(one);
      times.one.push(await timedCpu(oneCpu, () => kodama(["start", one, ...start])));
      made.push(...Array.from({ length: o.replicas }, (_, k) => `${grp}-${k + 1}`));
      times.group.push(
        await timedCpu(groupCpu, () => kodama(["start", grp, "--replicas", String(o.replicas), ...start])),
      );
      // the even replicas' check fails (AGENT's check): --wait says so with exit 1, naming how many
      const failing = Math.floor(o.replicas / 2);
      await kodama(["compare", grp, "--wait", "--timeout", "2m"]).catch((e) => {
        if (!failing || !(e as Error).message.includes(`${failing} of ${o.replicas} replicas failed`)) {
          throw e;
        }
      });
      const first = await sessionPod([KUBECTL, "--kubeconfig", kubeconfig, ...g], `${grp}-1`);
      for (let j = 0; j < 3; j++) {
        times.compare.push(await timed(() => kodama(["compare", grp])));
        times.list.push(await timed(() => kodama(["list"])));
        times.exec.push(
          await timed(() =>
            run(KUBECTL, [
              "--kubeconfig",
              kubeconfig,
              ...g,
              "exec",
              first,
              "-c",
              "session",
              "--",
              "sh",
              "-c",
              "git rev-parse HEAD",
            ], env)
          ),
        );
      }
      const table = await kodama(["compare", grp]);
      if (i === 0) lines.push(...table.trimEnd().split("\n").map((l) => `  ${l}`));
      for (const n of [one, grp]) {
        await kodama(
          n === one ? ["delete", n, "--force", "--purge"] : ["delete", n, "--group", "--force", "--purge"],
        );
      }
      made.length = 0;
    }
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    // the least wall the group's CPU allows on this machine's cores, whatever the client does
    const cores = navigator.hardwareConcurrency;
    const [groupM, oneM] = [median(groupCpu.machine), median(oneCpu.machine)];
    const floor = groupM / cores * 1000;
    const own = groupCpu.kodama.length
      ? `, of which the kodama process ${median(groupCpu.kodama).toFixed(2)} s ` +
        `(one start's ${median(oneCpu.kodama).toFixed(2)} s)`
      : "";
    lines.unshift(
      `start (median of ${o.runs}): ${o.replicas} replicas ${fmtMs(m.group)}, one session ${fmtMs(m.one)}: ` +
        `${(m.group / m.one).toFixed(2)}x (target <= 1.5x)`,
      `  the machine's CPU meanwhile: the group ${groupM.toFixed(2)} CPU-s, one start ${oneM.toFixed(2)} ` +
        `CPU-s (${(groupM / oneM).toFixed(2)}x)${own}; on ${cores} cores the group's CPU alone takes ` +
        `${fmtMs(floor)} of wall (${(floor / m.one).toFixed(2)}x one start; its wall is ` +
        `${(m.group / floor).toFixed(2)}x that)`,
      `compare over ${o.replicas} replicas (median of ${times.compare.length}): ${fmtMs(m.compare)} ` +
        `(target < 1.5 s); kodama list ${fmtMs(m.list)}: ${(m.compare / m.list).toFixed(2)}x; ` +
        `one kubectl exec into one replica ${fmtMs(m.exec)}: ${(m.compare / m.exec).toFixed(2)}x`,
      `load average while it ran: ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
      `a compare table of the first run:`,
    );
    return {
      name: "compare",
      lines,
      figures: {
        groupRatio: m.group / m.one,
        oneStartMs: m.one,
        compareMs: m.compare,
        compareOverList: m.compare / m.list,
        compareOverExec: m.compare / m.exec,
      },
      // N replicas' start against one: a tenth of one (one sample each, a loaded machine) is a group that did not start
      bounds: { groupRatio: [0.1, 50], compareOverList: [0.05, 50], compareOverExec: [0.05, 50] },
    };
  } finally {
    for (const n of made) await kodama(["delete", n, "--force", "--purge"]).catch(() => {});
    await server?.stop();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

export function parseCompareArgs(args: string[]): Opts {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: "string", default: "3" },
      replicas: { type: "string", default: "8" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
      namespace: { type: "string" },
      image: { type: "string", default: "busybox:1.36" },
    },
  });
  return {
    runs: Number(values.runs),
    replicas: Number(values.replicas),
    kubeconfig: values.kubeconfig,
    context: values.context ?? "admin",
    namespace: values.namespace ?? "default",
    image: values.image!,
  };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): one round, 2 replicas. */
export const benchCompareSmoke = () => benchCompare(parseCompareArgs(["--runs", "1", "--replicas", "2"]));

if (import.meta.main) {
  const r = smokeFlag()
    ? await benchCompareSmoke()
    : await benchCompare(parseCompareArgs(Deno.args.filter((a) => a !== "--smoke")));
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
