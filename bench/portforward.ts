/**
 * Port-forward benchmark: `kodama port-forward` against `kubectl port-forward` to the same pod of the
 * Kubernetes API test server (a subprocess), in one run, interleaved:
 *   - throughput: one 200 MB HTTP download through the forward (curl, so the client costs the same);
 *   - requests per second: small GETs, a new connection each (as a curl loop or a health checker makes
 *     them), 4 at a time.
 * Also the CPU each forwarder process spent (from /proc) per GB moved. Ratios are kodama / kubectl
 * (above 1 = kodama faster).
 *
 *   deno run -A bench/portforward.ts [--runs 3] [--mb 200] [--requests 400] [--kubeconfig PATH --namespace NS]
 *
 * With --kubeconfig it measures against that (real) cluster instead, with a busybox httpd pod.
 */
import * as http from "node:http";
import { kodamaArgv, startTestServer } from "./fanout.ts";
import { benchLine, type BenchResult, median, smokeFlag } from "./_util.ts";
import { Kube } from "../src/kube/client.ts";
import { waitForPods } from "../src/pods/wait.ts";
import { lookupImage } from "../tests/cluster/runtime/images.ts";

/** The pod's server: GET /big streams N MB of zeros, anything else answers "ok"; one connection per request. */
const SERVER_PY = `
import http.server, os, socketserver
size = int(os.environ["BIG_BYTES"])
chunk = bytes(1 << 20)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            left = size
            while left > 0:
                n = min(left, len(chunk))
                self.wfile.write(chunk[:n] if n < len(chunk) else chunk)
                left -= n
        else:
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\\n")
    def log_message(self, *a):
        pass
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
with socketserver.ThreadingTCPServer((os.environ["POD_IP"], 8080), H) as s:
    s.serve_forever()
`;

export interface PortForwardBench {
  mb: number;
  runs: number;
  requests: number;
  kodamaMBps: number;
  kubectlMBps: number;
  kodamaRps: number;
  kubectlRps: number;
  /** CPU ms per GB moved, over the whole run, of each forwarder process */
  kodamaCpuPerGB: number;
  kubectlCpuPerGB: number;
}

interface Forwarder {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Start a forwarder process and read its `Forwarding from 127.0.0.1:PORT` line. */
async function startForwarder(argv: string[], env?: Record<string, string>): Promise<Forwarder> {
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "null", env })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let m: RegExpMatchArray | null = null;
  while (!(m = out.match(/Forwarding from 127\.0\.0\.1:(\d+)/))) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${argv.join(" ")} ended: ${out}`);
    out += value;
  }
  // keep draining stdout so the forwarder never blocks on a full pipe
  (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* closed */ }
  })();
  return {
    port: Number(m[1]),
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGINT");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

/** utime + stime of a process (and its reaped children), in ms. */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** One download of /big through the forward with curl: MB/s. */
async function download(port: number, bytes: number): Promise<number> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", `http://127.0.0.1:${port}/big`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [size, secs] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
  if (!out.success || size !== bytes) {
    throw new Error(
      `download through :${port} got ${size}/${bytes} bytes: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return size / 1e6 / secs;
}

function getOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** `n` GETs, each on a new connection, `parallel` at a time: requests per second. */
async function requestRate(port: number, n: number, parallel = 4): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      next++;
      await getOnce(port);
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

/**
 * The pod to forward to: on the test server a Python server (its pods are local processes); on a real
 * cluster (`--kubeconfig`) busybox httpd serving a file of that size from an emptyDir.
 */
function benchPod(bytes: number, real: boolean) {
  const container = real
    ? {
      name: "web",
      image: "busybox:latest",
      command: [
        "sh",
        "-c",
        `mkdir -p /www && dd if=/dev/zero of=/www/big bs=1048576 count=${bytes / 1048576} 2>/dev/null && ` +
        "echo ok > /www/index.html && exec httpd -f -p 8080 -h /www",
      ],
    }
    : {
      name: "web",
      // an image the test node has (tests/cluster/runtime/images.ts); its pods run this machine's python3
      image: "kodama-dev:bookworm",
      command: ["python3", "-c", SERVER_PY],
      env: [{ name: "BIG_BYTES", value: String(bytes) }],
    };
  // a pod whose image the test node does not serve never gets ready (ImagePullBackOff): say so at once
  if (!real && !lookupImage(container.image)) {
    throw new Error(
      `the test server does not serve the image ${container.image} (tests/cluster/runtime/images.ts)`,
    );
  }
  return {
    metadata: { name: "pfbench" },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        ...container,
        ports: [{ containerPort: 8080 }],
        readinessProbe: { tcpSocket: { port: 8080 as unknown as never }, periodSeconds: 1 },
      }],
    },
  };
}

export async function benchPortforward(
  o: {
    runs?: number;
    mb?: number;
    requests?: number;
    log?: (s: string) => void;
    /** a real cluster instead of the test server (the pod is made in `namespace`, and deleted after) */
    kubeconfig?: string;
    namespace?: string;
    /** how long the pod may take to be ready (a pod whose image cannot be pulled never is) */
    readyTimeoutMs?: number;
  } = {},
): Promise<PortForwardBench> {
  const runs = o.runs ?? 3;
  const mb = o.mb ?? 200;
  const requests = o.requests ?? 400;
  const bytes = mb * 1024 * 1024;
  const log = o.log ?? ((s: string) => console.error(s));
  const ns = o.namespace ?? "default";
  const server = o.kubeconfig ? undefined : await startTestServer(0);
  const kubeconfig = o.kubeconfig ?? server!.kubeconfig;
  const kube = await Kube.connect({ kubeconfig, namespace: ns });
  const forwarders: Forwarder[] = [];
  try {
    await kube.createObject("pods", ns, benchPod(bytes, !!o.kubeconfig));
    await waitForPods(kube, { namespace: ns, pod: "pfbench" }, {
      for: "ready",
      timeoutMs: o.readyTimeoutMs ?? 120_000,
    });
    const kodama = await startForwarder(
      kodamaArgv(kubeconfig, ["port-forward", "-n", ns, "pod/pfbench", ":8080"]),
      { KODAMA_HOME: await Deno.makeTempDir({ prefix: "kodama-bench-home-" }) },
    );
    forwarders.push(kodama);
    const kubectl = await startForwarder([
      "kubectl",
      "--kubeconfig",
      kubeconfig,
      "port-forward",
      "-n",
      ns,
      "pod/pfbench",
      ":8080",
    ]);
    forwarders.push(kubectl);
    // warm-up: first connections, JIT
    for (const f of [kodama, kubectl]) {
      await requestRate(f.port, 20);
      await download(f.port, bytes);
    }
    const cpu0 = [cpuMs(kodama.pid), cpuMs(kubectl.pid)];
    const kT: number[] = [], cT: number[] = [], kR: number[] = [], cR: number[] = [];
    for (let r = 0; r < runs; r++) {
      // alternate who goes first, so neither always meets a warmer machine
      const order = r % 2 ? [kubectl, kodama] : [kodama, kubectl];
      for (const f of order) (f === kodama ? kT : cT).push(await download(f.port, bytes));
      for (const f of order) (f === kodama ? kR : cR).push(await requestRate(f.port, requests));
      log(
        `  run ${r + 1}: ${mb} MB kodama ${kT.at(-1)!.toFixed(0)} MB/s, kubectl ${
          cT.at(-1)!.toFixed(0)
        } MB/s; ` +
          `requests kodama ${kR.at(-1)!.toFixed(0)}/s, kubectl ${cR.at(-1)!.toFixed(0)}/s`,
      );
    }
    const gb = (runs * bytes) / 1e9;
    return {
      mb,
      runs,
      requests,
      kodamaMBps: median(kT),
      kubectlMBps: median(cT),
      kodamaRps: median(kR),
      kubectlRps: median(cR),
      kodamaCpuPerGB: (cpuMs(kodama.pid) - cpu0[0]) / gb,
      kubectlCpuPerGB: (cpuMs(kubectl.pid) - cpu0[1]) / gb,
    };
  } finally {
    for (const f of forwarders) await f.stop();
    if (o.kubeconfig) {
      await kube.deleteObject("pods", ns, "pfbench", { gracePeriodSeconds: 0 }).catch(() => {});
    }
    kube.close();
    await server?.stop();
  }
}

export function formatPortforward(r: PortForwardBench): string[] {
  return [
    `port-forward to one pod (median of ${r.runs}, interleaved)`,
    `  ${r.mb} MB download   kodama ${r.kodamaMBps.toFixed(0).padStart(5)} MB/s   kubectl ${
      r.kubectlMBps.toFixed(0).padStart(5)
    } MB/s   ratio ${(r.kodamaMBps / r.kubectlMBps).toFixed(2)}x`,
    `  requests/s (${r.requests}, new connection each, 4 at once)   kodama ${
      r.kodamaRps.toFixed(0).padStart(5)
    }   kubectl ${r.kubectlRps.toFixed(0).padStart(5)}   ratio ${(r.kodamaRps / r.kubectlRps).toFixed(2)}x`,
    `  forwarder CPU per GB (includes the request runs)   kodama ${
      r.kodamaCpuPerGB.toFixed(0)
    } ms   kubectl ${r.kubectlCpuPerGB.toFixed(0)} ms`,
  ];
}

export async function benchPortforwardForRun(
  o: Parameters<typeof benchPortforward>[0] = {},
): Promise<BenchResult> {
  const r = await benchPortforward(o);
  return {
    name: "portforward",
    lines: formatPortforward(r),
    figures: {
      kodamaMBps: r.kodamaMBps,
      kubectlMBps: r.kubectlMBps,
      mbpsRatio: r.kodamaMBps / r.kubectlMBps,
      kodamaRps: r.kodamaRps,
      kubectlRps: r.kubectlRps,
      rpsRatio: r.kodamaRps / r.kubectlRps,
    },
    // the same pod, the same client, two forwarders: a thousandfold apart is a forward that broke
    bounds: { mbpsRatio: [0.01, 100], rpsRatio: [0.01, 100] },
  };
}

/** The smoke run (tests/integration/bench_smoke_test.ts): 4 MB, 20 requests, one round. */
export const benchPortforwardSmoke = () =>
  benchPortforwardForRun({ runs: 1, mb: 4, requests: 20, log: () => {}, readyTimeoutMs: 30_000 });

if (import.meta.main && smokeFlag()) {
  const r = await benchPortforwardSmoke();
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, true)}`);
} else if (import.meta.main) {
  const arg = (name: string, d: number) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Number(Deno.args[i + 1]) : d;
  };
  const r = await benchPortforward({
    runs: arg("--runs", 3),
    mb: arg("--mb", 200),
    requests: arg("--requests", 400),
  });
  console.log(formatPortforward(r).join("\n"));
}
