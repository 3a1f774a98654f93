/**
 * The pod-side change detector's idle CPU (issue #25: < 2% of one core on a 5,000-file tree).
 *
 * For each image, one pod with a tree of `--files` files in 140 directories on a volume (an emptyDir, as a
 * session's workspace is a volume); in it, one after the other,
 * each for `--idle` seconds with nothing changing:
 *
 *   - `watcher`: WATCH_SCRIPT as the sync loop runs it (one `kubectl exec -i`, a line on its stdin
 *     IDLE_TICK_S after each round's end, as after 30 s idle; a full listing every FULL_EVERY rounds),
 *     with node's change notifier beside it where the image has `node` (the sync's default) and alone;
 *   - the same with rounds TICK_S apart (while changes flow);
 *   - `bare walk` (the peer): a `find . -newer MARKER` of the same tree paced the same way, the floor of
 *     any find-based detector.
 *
 * CPU is the pod's own count, from `/proc/PID/stat` in the pod (utime + stime + cutime + cstime of the
 * watcher's sh, which waits for each process it starts, found by a random token among its arguments;
 * plus utime + stime of the notifier, the node child of that sh, which it waits for only at its end).
 * On the test server a pod is a process on this machine, so the same lookup finds exactly that sh.
 *
 *   deno run -A bench/podwatch.ts [--kubeconfig PATH --context CTX --namespace NS]
 *                                 [--images busybox,kodama-dev:bookworm] [--files 5100] [--idle 30]
 *                                 [--script src/session/sync/podside.ts]   (another WATCH_SCRIPT: before/after)
 */
import { parseArgs } from "node:util";
import { isAbsolute, join, resolve } from "node:path";
import { startTestServer } from "./fanout.ts";
import { benchLine, type BenchResult, smokeFlag, watcherCpuScript, watcherTicks } from "./_util.ts";
import { FULL_EVERY, IDLE_TICK_S, TICK_S } from "../src/session/sync/twoway.ts";
import { EVENT_FULL_FACTOR, EVENTS_JS } from "../src/session/sync/podside.ts";

const KUBECTL = "/usr/bin/kubectl";
/** on a volume, as a session's workspace is (a container's own overlay file system stats slower) */
const WS = "/workspace/tree";

interface Opts {
  kubeconfig?: string;
  context: string;
  namespace: string;
  images: string[];
  files: number;
  idle: number;
  script?: string;
  /** how long after the tree is made the watchers start (busybox's find lists the last minute's changes) */
  settleMs?: number;
}

async function run(args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(KUBECTL, { args, env, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`kubectl ${args.slice(0, 8).join(" ")}… failed: ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** The tree: `files` small files in 20 x 7 directories, as bench/sync.ts's source part. */
const MAKE_TREE = (files: number) =>
  `rm -rf ${WS} && mkdir -p ${WS} && cd ${WS} && m=0; while [ $m -lt 20 ]; do p=0; ` +
  `while [ $p -lt 7 ]; do mkdir -p src/m$m/p$p; p=$((p+1)); done; m=$((m+1)); done; i=0; ` +
  `while [ $i -lt ${files} ]; do echo "const x = $i" > src/m$((i%20))/p$((i%7))/file$i.ts; i=$((i+1)); done; ` +
  `find . | wc -l`;

/** The peer: one bare walk a round, paced over stdin like the watcher. */
const BARE_WALK = String.raw`cd "$1" || exit 97
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
echo > "$d/m"
while :; do echo @since; find . -newer "$d/m" > /dev/null; echo @end; IFS= read -r _ || exit 0; done`;

/** Run `script` paced as the loop paces it for `idle` s (after a warm-up); CPU ms per second, rounds. */
async function measure(
  o: Opts,
  env: Record<string, string>,
  g: string[],
  pod: string,
  script: string,
  full: number,
  tickS: number,
  /** with the node notifier (WATCH_SCRIPT's `$5`): the pod must have it running; undefined: the bare walk */
  events?: boolean,
): Promise<{ msPerS: number; rounds: number }> {
  const token = `kodama-podwatch-${crypto.randomUUID().slice(0, 8)}`;
  const child = new Deno.Command(KUBECTL, {
    args: [
      ...g,
      "exec",
      "-i",
      pod,
      "--",
      "sh",
      "-c",
      script,
      "sh",
      WS,
      String(full),
      String(TICK_S),
      "0",
      events ? "1" : "0",
      // in the watcher's MARK slot ($6: only seen on its command line), then the notifier's program ($7)
      token,
      events ? EVENTS_JS : "",
    ],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  let rounds = 0;
  let tick: ReturnType<typeof setTimeout> | undefined;
  const reading = (async () => {
    let buf = "";
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += c;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line !== "@end") continue;
        rounds++;
        tick = setTimeout(() => void w.write(new Uint8Array([10])).catch(() => {}), tickS * 1000);
      }
    }
  })();
  const cpu = async () => {
    const out = await run([...g, "exec", pod, "--", "sh", "-c", watcherCpuScript(`*${token}*`)], env);
    const w = watcherTicks(out);
    if (!w) throw new Error(`expected one watcher in ${pod}: ${out}`);
    if (events !== undefined && events !== w.notifier) {
      throw new Error(`the notifier ${events ? "is not" : "is"} running in ${pod}: ${out}`);
    }
    return w.ticks;
  };
  try {
    const start = Date.now() + 60_000;
    while (rounds < 4) {
      if (Date.now() > start) throw new Error(`the watcher in ${pod} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const c0 = await cpu(), r0 = rounds, t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.idle * 1000));
    const c1 = await cpu(), r1 = rounds, wall = (performance.now() - t0) / 1000;
    return { msPerS: ((c1 - c0) * 10) / wall, rounds: r1 - r0 };
  } finally {
    clearTimeout(tick);
    await w.close().catch(() => {});
    try {
      child.kill();
    } catch { /* gone */ }
    await reading.catch(() => {});
    await child.status;
  }
}

export async function benchPodWatch(o: Opts): Promise<BenchResult> {
  const server = o.kubeconfig ? undefined : await startTestServer(0);
  const kubeconfig = o.kubeconfig ?? server!.kubeconfig;
  const env = { KUBECONFIG: kubeconfig, NO_COLOR: "1" };
  const g = ["--kubeconfig", kubeconfig, "--context", o.context, "-n", o.namespace];
  const mod = o.script
    ? (isAbsolute(o.script) ? o.script : resolve(o.script))
    : "../src/session/sync/podside.ts";
  const { WATCH_SCRIPT } = await import(mod.startsWith("/") ? `file://${mod}` : mod) as {
    WATCH_SCRIPT: string;
  };
  const lines: string[] = [
    `uptime: ${(await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ").slice(0, 3).join(" ")}`,
  ];
  const images = server ? ["(test server: the pod is a local process)"] : o.images;
  const figures: Record<string, number> = {};
  try {
    for (const image of images) {
      const pod = `kodama-podwatch-${crypto.randomUUID().slice(0, 6)}`;
      const manifest = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: pod },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{
            name: "main",
            image: server ? "busybox" : image,
            command: ["sleep", "36000"],
            volumeMounts: [{ name: "ws", mountPath: "/workspace" }],
          }],
          volumes: [{ name: "ws", emptyDir: {} }],
        },
      };
      const file = join(await Deno.makeTempDir({ prefix: "kodama-podwatch-" }), "pod.json");
      await Deno.writeTextFile(file, JSON.stringify(manifest));
      try {
        await run([...g, "apply", "-f", file], env);
        await run([...g, "wait", "--for=condition=Ready", `pod/${pod}`, "--timeout=180s"], env);
        const n = (await run([...g, "exec", pod, "--", "sh", "-c", MAKE_TREE(o.files)], env)).trim();
        const made = Date.now();
        const bare = await measure(o, env, g, pod, BARE_WALK, 1, TICK_S);
        // busybox's find lists what changed in the last minute (-cmin -1): the new tree is idle after that
        await new Promise((r) => setTimeout(r, Math.max(0, made + (o.settleMs ?? 62_000) - Date.now())));
        const node = (await run([...g, "exec", pod, "--", "sh", "-c", "command -v node || :"], env)).trim();
        const watcher = await measure(o, env, g, pod, WATCH_SCRIPT, FULL_EVERY, TICK_S, false);
        const idle = await measure(o, env, g, pod, WATCH_SCRIPT, FULL_EVERY, IDLE_TICK_S, false);
        // what the sync runs where the image has node: the watcher and its notifier, counted together, with
        // the rounds TICK_S apart idle or not (an idle round costs the pod two builtin tests)
        const ev = node ? await measure(o, env, g, pod, WATCH_SCRIPT, FULL_EVERY, TICK_S, true) : undefined;
        const pct = (ms: number) => `${(ms / 10).toFixed(2)}%`;
        if (!Object.keys(figures).length) {
          Object.assign(figures, {
            watcherMsPerS: watcher.msPerS,
            idleMsPerS: idle.msPerS,
            bareMsPerS: bare.msPerS,
            watcherRounds: watcher.rounds,
            idleRounds: idle.rounds,
            bareRounds: bare.rounds,
            ...(ev ? { notifierMsPerS: ev.msPerS, notifierRounds: ev.rounds } : {}),
          });
        }
        const per = (m: { msPerS: number; rounds: number }) =>
          `${m.msPerS.toFixed(1)} ms/s (${pct(m.msPerS)} of a core; ${m.rounds} rounds, ${
            (m.msPerS * o.idle / Math.max(1, m.rounds)).toFixed(1)
          } ms a round)`;
        lines.push(
          `${image}, ${n} paths, ${o.idle} s each, nothing changing (full listing every ${FULL_EVERY} rounds, x${EVENT_FULL_FACTOR} with the notifier):`,
          ev
            ? `  watcher + node's notifier (${node}), rounds ${TICK_S} s apart (what the sync runs, idle or not): ${
              per(ev)
            } (target < 2%)`
            : `  no node in this image: the sync runs the watcher alone (the next lines)`,
          `  watcher alone, rounds ${IDLE_TICK_S} s apart (after 30 s idle): ${per(idle)} (target < 2%)`,
          `  watcher alone, rounds ${TICK_S} s apart (active): ${per(watcher)}`,
          `  bare walk (peer), rounds ${TICK_S} s apart: ${per(bare)}; watcher / bare walk, a round: ${
            ((watcher.msPerS / Math.max(1, watcher.rounds)) / (bare.msPerS / Math.max(1, bare.rounds)))
              .toFixed(2)
          }`,
        );
      } finally {
        await run([...g, "delete", "pod", pod, "--wait=false"], env).catch(() => {});
      }
    }
  } finally {
    await server?.stop();
  }
  // CPU in ms a second: 0 to a whole core each (an idle watcher may spend under a tick); each made rounds
  const cpuBound = [0, 1000 * navigator.hardwareConcurrency] as [number, number];
  return {
    name: `pod watcher CPU${o.kubeconfig ? " (real cluster)" : ""}`,
    lines,
    figures,
    bounds: {
      watcherMsPerS: cpuBound,
      idleMsPerS: cpuBound,
      bareMsPerS: cpuBound,
      notifierMsPerS: cpuBound,
    },
  };
}

export function parsePodWatchArgs(args: string[]): Opts {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: "string" },
      context: { type: "string" },
      namespace: { type: "string" },
      images: { type: "string", default: "busybox,kodama-dev:bookworm" },
      files: { type: "string", default: "5100" },
      idle: { type: "string", default: "30" },
      script: { type: "string" },
    },
  });
  return {
    kubeconfig: values.kubeconfig,
    context: values.context ?? "admin",
    namespace: values.namespace ?? "default",
    images: values.images.split(","),
    files: Number(values.files),
    idle: Number(values.idle),
    script: values.script,
  };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): 200 files, 2 s each, not waiting for the tree to settle. */
export const benchPodWatchSmoke = () =>
  benchPodWatch({ ...parsePodWatchArgs(["--files=200", "--idle=2"]), settleMs: 0 });

if (import.meta.main) {
  const r = smokeFlag()
    ? await benchPodWatchSmoke()
    : await benchPodWatch(parsePodWatchArgs(Deno.args.filter((a) => a !== "--smoke")));
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
