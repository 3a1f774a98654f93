/**
 * Minimal reproduction for an upstream (Deno) report: the first TLS handshake of a Deno process costs
 * ~50-70 ms of CPU before its ClientHello, whatever the trust store. The cause is AWS-LC's CPU-jitter
 * entropy: rustls (aws-lc-rs) asks for random bytes, and AWS-LC seeds its process-wide DRBG from
 * jitterentropy once per process (aws/aws-lc-rs#1140; aws-lc-sys can be built with
 * AWS_LC_SYS_NO_JITTER_ENTROPY=1 to drop it, a build-time choice only). `crypto.subtle.generateKey`
 * pays the same once-per-process cost, and a handshake after it does not.
 *
 *   deno run -A bench/tls_seed.ts [runs=5] [--smoke]   (deno task bench tls-seed)
 *
 * It serves TLS on 127.0.0.1 from a child process (a throw-away P-256 certificate from the openssl CLI),
 * then starts fresh client processes that each time one thing, in the child's own figures:
 *   handshake (own CA)     — connectTls with the server's certificate as the only CA (a kubeconfig's CA)
 *   handshake (no verify)  — the same, certificate checks off (no trust store built at all)
 *   generateKey, then handshake
 * and prints medians of wall time and of the process's CPU time (all threads, from /proc/self/stat).
 */
import { benchLine, type BenchResult, median, smokeFlag } from "./_util.ts";

const CHILD = `
const [mode, port, caFile] = Deno.args;
const ticks = () => { const s = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(s[11]) + Number(s[12])) * 10; };  // utime + stime, in ms (USER_HZ=100)
const out = {};
const step = async (name, fn) => { const c = ticks(), t = performance.now(); await fn();
  out[name] = { wall: performance.now() - t, cpu: ticks() - c }; };
const hs = async (opts) => { const c = await Deno.connectTls({ hostname: "127.0.0.1", port: Number(port), ...opts });
  await c.handshake(); c.close(); };
const ca = Deno.readTextFileSync(caFile);
if (mode === "ca") await step("handshake", () => hs({ caCerts: [ca] }));
if (mode === "noverify") await step("handshake", () => hs({ caCerts: [ca], unsafelyIgnoreCertificateErrors: [] }));
if (mode === "keyfirst") {
  await step("generateKey", () => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]));
  await step("handshake", () => hs({ caCerts: [ca] }));
}
await step("second handshake", () => hs({ caCerts: [ca] }));
console.log(JSON.stringify(out));
`;

const SERVER = `
const [cert, key] = Deno.args.map((f) => Deno.readTextFileSync(f));
const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
console.log(l.addr.port);
for await (const c of l) c.handshake().then(() => c.close(), () => {});
`;

export async function benchTlsSeed(runs = 5): Promise<BenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-tls-seed-" });
  const [crt, key, child, server] = ["crt.pem", "key.pem", "child.js", "server.js"].map((f) => `${dir}/${f}`);
  await Deno.writeTextFile(child, CHILD);
  await Deno.writeTextFile(server, SERVER);
  const ca = `${dir}/ca.pem`, caKey = `${dir}/ca-key.pem`, csr = `${dir}/csr.pem`, ext = `${dir}/ext.cnf`;
  await Deno.writeTextFile(ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  for (
    const args of [
      ["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=tls-seed-ca", "-keyout", caKey, "-out", ca],
      ["req", ...ec, "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr],
      ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "1"]
        .concat(["-extfile", ext, "-out", crt]),
    ]
  ) {
    const o = await new Deno.Command("openssl", { args, stdout: "null", stderr: "null" }).output();
    if (!o.success) throw new Error(`openssl ${args[0]} failed`);
  }
  const srv = new Deno.Command(Deno.execPath(), { args: ["run", "-A", server, crt, key], stdout: "piped" })
    .spawn();
  const reader = srv.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = (await reader.read()).value!.trim();
  try {
    const figures: Record<string, Record<string, { wall: number[]; cpu: number[] }>> = {};
    for (let i = 0; i < runs; i++) {
      for (const mode of ["ca", "noverify", "keyfirst"]) {
        const o = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", child, mode, port, ca] })
          .output();
        if (!o.success) throw new Error(new TextDecoder().decode(o.stderr));
        const r = JSON.parse(new TextDecoder().decode(o.stdout)) as Record<
          string,
          { wall: number; cpu: number }
        >;
        for (const [k, v] of Object.entries(r)) {
          const f = ((figures[mode] ??= {})[k] ??= { wall: [], cpu: [] });
          f.wall.push(v.wall);
          f.cpu.push(v.cpu);
        }
      }
    }
    const lines = [
      `first TLS handshake of a Deno ${Deno.version.deno} process (median of ${runs}; load ${
        Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
      })`,
    ];
    const out: Record<string, number> = {};
    const bounds: Record<string, [number, number]> = {};
    const label: Record<string, string> = {
      ca: "own CA",
      noverify: "no certificate checks",
      keyfirst: "generateKey first",
    };
    for (const [mode, steps] of Object.entries(figures)) {
      for (const [step, f] of Object.entries(steps)) {
        lines.push(
          `${label[mode].padEnd(22)} ${step.padEnd(17)} wall ${
            median(f.wall).toFixed(1).padStart(6)
          } ms   cpu ${median(f.cpu).toFixed(0).padStart(3)} ms`,
        );
        out[`${mode} ${step} ms`] = median(f.wall);
        // CPU is counted in 10 ms ticks: a cheap step may show none
        out[`${mode} ${step} cpu ms`] = median(f.cpu);
        bounds[`${mode} ${step} cpu ms`] = [0, 60_000];
      }
    }
    return { name: "tls-seed", lines, figures: out, bounds };
  } finally {
    srv.kill();
    await srv.status;
    await reader.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** The smoke run (tests/integration/bench_smoke_test.ts): two rounds. */
export const benchTlsSeedSmoke = () => benchTlsSeed(2);

if (import.meta.main) {
  const r = smokeFlag() ? await benchTlsSeedSmoke() : await benchTlsSeed(Number(Deno.args[0] ?? 5));
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
