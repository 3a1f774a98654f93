/**
 * The exec transport at kubectl's cost (issue #83): the same bytes through `kodama exec -i POD -- sh -c 'wc -c'`
 * and `kubectl exec -i POD -- sh -c 'wc -c'`, side by side in one run, the CPU (user + sys) of the client
 * process only (`/usr/bin/time`, the child's rusage: the test server runs elsewhere). Two inputs: zeros and a
 * random-ish file (xorshift bytes, which no layer can shrink). Rounds alternate which client goes first, so a
 * machine shared with other work loads both alike; the pod's `wc -c` must count every byte.
 *
 *   deno run -A bench/transport.ts [--rounds 3] [--mb 1000] [--inputs zeros,random]
 *                                  [--kubeconfig PATH --namespace NS --pod POD]   (else the test server)
 *                                  [--variant NAME:VAR=VALUE[,VAR=VALUE]]...       (more kodama runs, other env)
 *                                  [--baseline DIR]     (also DIR/main.ts, another tree's kodama: before/after)
 *
 * Without --kubeconfig it starts the Kubernetes API test server (exec over WebSocket, v5.channel.k8s.io);
 * the real v1.24 cluster runs exec with stdin over SPDY/3.1 for both clients. Prints each run and, per input,
 * the medians and kodama / kubectl.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { kodamaArgv, startTestServer } from "./fanout.ts";
import { benchLine, type BenchResult, impossible, median, smokeFlag } from "./_util.ts";

const KUBECTL = "/usr/bin/kubectl";

/** Write `mb` MB of zeros or of xorshift bytes to `path`. */
async function makeInput(path: string, kind: string, mb: number): Promise<number> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const buf = new Uint8Array(1 << 20);
  const words = new Uint32Array(buf.buffer);
  let x = 0x9e3779b9;
  let left = mb * 1_000_000;
  try {
    while (left > 0) {
      if (kind === "random") {
        for (let i = 0; i < words.length; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          words[i] = x >>> 0;
        }
      }
      const piece = buf.subarray(0, Math.min(buf.length, left));
      for (let off = 0; off < piece.length;) off += await f.write(piece.subarray(off));
      left -= piece.length;
    }
  } finally {
    f.close();
  }
  return mb * 1_000_000;
}

/** One client run under /usr/bin/time: its CPU (user + sys, s), wall (s), and the count the pod printed. */
async function timedRun(
  argv: string[],
  input: string,
  env: Record<string, string>,
): Promise<{ cpu: number; user: number; sys: number; wall: number; count: number }> {
  const script = `exec /usr/bin/time -f "@cpu %U %S %e" "$@" < ${input}`;
  const out = await new Deno.Command("sh", {
    args: ["-c", script, "sh", ...argv],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const m = /@cpu ([\d.]+) ([\d.]+) ([\d.]+)/.exec(err);
  if (!out.success || !m) throw new Error(`${argv.slice(0, 3).join(" ")}… failed: ${err.slice(-400)}`);
  const [user, sys, wall] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { cpu: user + sys, user, sys, wall, count: Number(new TextDecoder().decode(out.stdout).trim()) };
}

export interface TransportOptions {
  rounds: number;
  mb: number;
  inputs: string[];
  kubeconfig?: string;
  namespace?: string;
  pod?: string;
  variants?: string[];
  baseline?: string;
}

export function parseTransportArgs(args: string[]): TransportOptions {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: "string", default: "3" },
      mb: { type: "string", default: "1000" },
      inputs: { type: "string", default: "zeros,random" },
      kubeconfig: { type: "string" },
      namespace: { type: "string" },
      pod: { type: "string" },
      variant: { type: "string", multiple: true, default: [] },
      baseline: { type: "string" },
      smoke: { type: "boolean" },
    },
  });
  return {
    rounds: Number(values.rounds),
    mb: Number(values.mb),
    inputs: values.inputs.split(","),
    kubeconfig: values.kubeconfig,
    namespace: values.namespace,
    pod: values.pod,
    variants: values.variant as string[],
    baseline: values.baseline,
  };
}

/** The smoke size: 20 MB of each input, one round (the suite's bench_smoke_test). */
export const benchTransportSmoke = () => benchTransport({ rounds: 1, mb: 20, inputs: ["zeros", "random"] });

/** The runs side by side; figures: per input, kodama's CPU over kubectl's (`<input>_ratio`) and each median. */
export async function benchTransport(o: TransportOptions): Promise<BenchResult> {
  const lines: string[] = [];
  const say = (l: string) => (console.log(l), lines.push(l));
  const { rounds, mb } = o;
  const server = o.kubeconfig ? undefined : await startTestServer(1);
  const kubeconfig = o.kubeconfig ?? server!.kubeconfig;
  const ns = o.namespace ?? "load";
  const pod = o.pod ?? "load-000";
  const dir = await Deno.makeTempDir({ prefix: "kodama-bench-transport-" });
  const env = { ...Deno.env.toObject(), KUBECONFIG: kubeconfig };
  const clients: { name: string; argv: string[]; env: Record<string, string> }[] = [
    {
      name: "kodama",
      argv: kodamaArgv(kubeconfig, ["exec", "-i", "-n", ns, pod, "--", "sh", "-c", "wc -c"]),
      env,
    },
    { name: "kubectl", argv: [KUBECTL, "exec", "-i", "-n", ns, pod, "--", "sh", "-c", "wc -c"], env },
  ];
  if (o.baseline) {
    // another tree's kodama (e.g. `git archive main | tar x -C DIR`): before and after in the same rounds
    const argv = clients[0].argv.map((a) => a.endsWith("/main.ts") ? join(o.baseline!, "main.ts") : a);
    clients.push({ name: "kodama-before", argv, env });
  }
  for (const v of o.variants ?? []) {
    const [name, vars] = v.split(":");
    const extra = Object.fromEntries(vars.split(",").map((kv) => kv.split("=", 2)));
    clients.push({ name, argv: clients[0].argv, env: { ...env, ...extra } });
  }
  const figures: Record<string, number> = {};
  const bounds: Record<string, [number, number]> = {};
  try {
    if (server) {
      // the test server's pod: running once `kubectl exec` answers
      for (let i = 0; i < 60; i++) {
        const r = await new Deno.Command(KUBECTL, { args: ["exec", "-n", ns, pod, "--", "true"], env })
          .output();
        if (r.success) break;
        await new Promise((r) => setTimeout(r, 1000)); // no event says the pod takes execs: asked each second
      }
    }
    const cpu: Record<string, Record<string, number[]>> = {};
    for (const kind of o.inputs) {
      const path = join(dir, `${kind}.bin`);
      const bytes = await makeInput(path, kind, mb);
      cpu[kind] = Object.fromEntries(clients.map((c) => [c.name, []]));
      for (let r = 0; r < rounds; r++) {
        // alternate the order: odd rounds start with the last client
        const order = r % 2 ? [...clients].reverse() : clients;
        for (const c of order) {
          const t = await timedRun(c.argv, path, c.env);
          if (t.count !== bytes) throw new Error(`${c.name}: the pod counted ${t.count} bytes, not ${bytes}`);
          cpu[kind][c.name].push(t.cpu);
          say(
            `${kind} round ${r + 1} ${c.name}: CPU ${t.cpu.toFixed(2)} s (user ${t.user.toFixed(2)}, sys ${
              t.sys.toFixed(2)
            }), wall ${t.wall.toFixed(1)} s`,
          );
        }
      }
      await Deno.remove(path);
    }
    say(`\n${mb} MB through exec -i, CPU of the client (user + sys), median of ${rounds} alternated rounds:`);
    for (const [kind, by] of Object.entries(cpu)) {
      const base = median(by.kubectl);
      const parts = Object.entries(by).map(([n, xs]) =>
        `${n} ${median(xs).toFixed(2)} s [${xs.map((x) => x.toFixed(2)).join(", ")}]` +
        (n === "kubectl" ? "" : ` = ${(median(xs) / base).toFixed(2)}x`)
      );
      say(`  ${kind}: ${parts.join("; ")}`);
      figures[`${kind}_kubectl_cpu_s`] = base;
      figures[`${kind}_kodama_cpu_s`] = median(by.kodama);
      // kodama's CPU per byte against kubectl's: a tenth of it, or ten times it, is no transport
      figures[`${kind}_ratio`] = median(by.kodama) / base;
      bounds[`${kind}_ratio`] = [0.1, 10];
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await server?.stop();
  }
  return { name: "transport", lines, figures, bounds };
}

if (import.meta.main) {
  const r = smokeFlag() ? await benchTransportSmoke() : await benchTransport(parseTransportArgs(Deno.args));
  console.log(benchLine(r, smokeFlag()));
  if (impossible(r).length) Deno.exit(1);
}
