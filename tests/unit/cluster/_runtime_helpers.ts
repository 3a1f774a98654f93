/**
 * Test helpers for the runtime half: a RuntimeHost backed by a Map (no API server) and a
 * plain-HTTP front door that routes pods/{exec,attach,portforward,log} to the runtime.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import fs from "node:fs";
import path from "node:path";
import { Buffer } from "node:buffer";
import WebSocket from "ws";
import type { PodObject, Runtime, RuntimeHost } from "../../cluster/contract.ts";
import { createRuntime } from "../../cluster/runtime/mod.ts";

export class FakeHost implements RuntimeHost {
  pods = new Map<string, PodObject>();
  events: { pod: string; type: string; reason: string; message: string }[] = [];
  dropped = false;
  private waiters = new Set<() => void>();
  constructor(readonly dir: string) {}

  add(pod: PodObject): PodObject {
    this.pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
    return pod;
  }
  getPod(ns: string, name: string) {
    return this.pods.get(`${ns}/${name}`);
  }
  updatePodStatus(ns: string, name: string, status: Record<string, unknown>) {
    const p = this.getPod(ns, name);
    if (!p) return;
    p.status = structuredClone(status);
    for (const w of [...this.waiters]) w();
  }
  recordEvent(_ns: string, pod: string, type: string, reason: string, message: string) {
    this.events.push({ pod, type, reason, message });
  }
  pvcDir(ns: string, claim: string) {
    const d = path.join(this.dir, "pvc", ns, claim);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }
  streamsDropped() {
    return this.dropped;
  }
  // deno-lint-ignore no-explicit-any
  secrets = new Map<string, Record<string, any>>();
  getObject(kind: "secrets" | "configmaps", ns: string, name: string) {
    return kind === "secrets" ? this.secrets.get(`${ns}/${name}`) : undefined;
  }

  /** Wait until `pred(pod)` holds (checked after every status update). */
  waitFor(ns: string, name: string, pred: (p: PodObject) => boolean, timeoutMs = 10_000): Promise<PodObject> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const p = this.getPod(ns, name);
        if (p && pred(p)) {
          this.waiters.delete(check);
          clearTimeout(t);
          resolve(p);
          return true;
        }
        return false;
      };
      const t = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(`timeout waiting for ${ns}/${name}: ${JSON.stringify(this.getPod(ns, name)?.status)}`),
        );
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }
}

let podSeq = 0;
// deno-lint-ignore no-explicit-any
export function makePod(name: string, spec: Record<string, any>, ns = "default"): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, uid: `uid-${name}-${++podSeq}` },
    spec,
    status: { phase: "Pending" },
  };
}

export const phaseIs = (phase: string) => (p: PodObject) => p.status?.phase === phase;
export const isReady = (p: PodObject) =>
  // deno-lint-ignore no-explicit-any
  (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");

export interface Rig {
  host: FakeHost;
  runtime: Runtime;
  url: string;
  stop(): Promise<void>;
}

/** A runtime plus a plain HTTP server in front of it (no auth, no TLS). */
export async function startRig(): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-rt-" });
  const host = new FakeHost(dir);
  const runtime = createRuntime({ stateDir: path.join(dir, "state"), host });
  const ctxFor = (url: URL) => {
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward|log)$/.exec(
      url.pathname,
    );
    if (!m) return undefined;
    const pod = host.getPod(m[1], m[2]);
    if (!pod) return undefined;
    return { kind: m[3], ctx: { namespace: m[1], pod, query: url.searchParams, user: "test" } };
  };
  const srv = http.createServer((req, res) => {
    const r = ctxFor(new URL(req.url ?? "/", "http://x"));
    if (!r || r.kind !== "log") {
      res.writeHead(404).end();
      return;
    }
    runtime.handleLogs(req, res, r.ctx);
  });
  srv.on("upgrade", (req, socket, head) => {
    const r = ctxFor(new URL(req.url ?? "/", "http://x"));
    if (!r || r.kind === "log") return socket.destroy();
    runtime.handleUpgrade(r.kind as "exec", req, socket, head, r.ctx);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    host,
    runtime,
    url,
    async stop() {
      await runtime.stopAll();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  /** the error-channel payload (a JSON Status for v4+) */
  status: string;
  protocol: string;
}

/** Minimal exec/attach client speaking the binary channel protocol. */
export function wsExec(
  rig: Rig,
  pod: string,
  params: Record<string, string | string[]>,
  opts: {
    kind?: "exec" | "attach";
    protocols?: string[];
    stdin?: Buffer[];
    closeStdin?: boolean;
    resize?: { Width: number; Height: number }[];
    ns?: string;
  } = {},
): Promise<ExecResult> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) q.append(k, x);
  const ws = new WebSocket(
    `${rig.url.replace("http", "ws")}/api/v1/namespaces/${opts.ns ?? "default"}/pods/${pod}/${
      opts.kind ?? "exec"
    }?${q}`,
    opts.protocols ?? ["v5.channel.k8s.io", "v4.channel.k8s.io"],
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let status = "";
  return new Promise((resolve, reject) => {
    ws.on("open", () => {
      for (const r of opts.resize ?? []) {
        ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify(r))]));
      }
      for (const b of opts.stdin ?? []) ws.send(Buffer.concat([Buffer.from([0]), b]));
      if (opts.closeStdin) ws.send(Buffer.from([255, 0]));
    });
    ws.on("message", (m: Buffer) => {
      if (m[0] === 1) out.push(m.subarray(1));
      else if (m[0] === 2) err.push(m.subarray(1));
      else if (m[0] === 3) {
        status += m.subarray(1).toString();
        // the status is the last frame of an exec: done. npm:ws would otherwise wait for the server's end of
        // the TCP connection after the close handshake, which Deno's node:http upgrade socket never sends:
        // its 30 s closeTimeout made each of these steps take 30 s
        ws.terminate();
      }
    });
    ws.on("error", reject);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d));
      res.on("end", () => reject(new Error(`HTTP ${res.statusCode}: ${body}`)));
    });
    ws.on(
      "close",
      () =>
        resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), status, protocol: ws.protocol }),
    );
  });
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}
