/**
 * The runtime half of the Kubernetes API test server: pod containers as local processes
 * (see pod.ts) and the streaming endpoints (../streams). Entry point: createRuntime().
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Buffer } from "node:buffer";
import type { PodObject, Runtime, RuntimeOptions, StreamContext } from "../contract.ts";
import { PodRun } from "./pod.ts";
import { ProcessTable } from "./procs.ts";
import { StreamRegistry } from "../streams/ws.ts";
import type { RuntimeState } from "../streams/common.ts";
import { handleAttach, handleExec } from "../streams/exec.ts";
import { handleLogs } from "../streams/logs.ts";
import { handlePortForward } from "../streams/portforward.ts";
import { EXEC_PROTOCOLS, EXEC_PROTOCOLS_V4 } from "../streams/channel.ts";

export { podLayout, sharedBinDir } from "./podfs.ts";

class TestRuntime implements Runtime, RuntimeState {
  readonly streams = new StreamRegistry();
  private runs = new Map<string, PodRun>();
  readonly table = new ProcessTable();
  private ipSeq = 0;
  private usedIPs = new Set<string>();

  readonly execProtocols: readonly string[];
  runtimeCacheLagMs = 0;

  constructor(private opts: RuntimeOptions) {
    this.execProtocols = opts.execProtocols === "v4" ? EXEC_PROTOCOLS_V4 : EXEC_PROTOCOLS;
  }

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  oomKill(namespace: string, name: string, container?: string): Promise<boolean> {
    return this.runs.get(this.key(namespace, name))?.oomKill(container) ?? Promise.resolve(false);
  }

  pod(namespace: string, name: string): PodRun | undefined {
    return this.runs.get(this.key(namespace, name));
  }

  /** Fallback when the API half did not assign status.podIP: 127.B.C.n with a random B.C per runtime. */
  private ipBlock = `127.${2 + Math.floor(Math.random() * 253)}.${Math.floor(Math.random() * 256)}`;
  private allocateIP(): string {
    for (let i = 0; i < 254; i++) {
      const ip = `${this.ipBlock}.${(this.ipSeq++ % 254) + 1}`;
      if (!this.usedIPs.has(ip)) return ip;
    }
    throw new Error("no free pod IP");
  }

  startPod(pod: PodObject): void {
    const k = this.key(pod.metadata.namespace, pod.metadata.name);
    const existing = this.runs.get(k);
    if (existing && existing.uid === pod.metadata.uid) return;
    if (existing) void existing.stop(0);
    const ip = typeof pod.status?.podIP === "string" && pod.status.podIP
      ? pod.status.podIP
      : this.allocateIP();
    this.usedIPs.add(ip);
    const run = new PodRun(pod, this.opts.stateDir, ip, this.opts.host, this.table);
    this.runs.set(k, run);
    run.start();
  }

  async stopPod(
    namespace: string,
    name: string,
    graceSeconds: number,
    o: { keep?: boolean } = {},
  ): Promise<void> {
    const k = this.key(namespace, name);
    const run = this.runs.get(k);
    if (!run) return;
    await run.stop(graceSeconds);
    // a pod that stays (evicted by the kubelet): its containers' logs stay readable until it is deleted
    if (o.keep) return;
    if (this.runs.get(k) === run) this.runs.delete(k);
    this.usedIPs.delete(run.podIP);
  }

  async stopAll(): Promise<void> {
    this.streams.dropAll();
    const runs = [...this.runs.values()];
    for (const r of runs) r.beginStop();
    await this.table.killAll();
    await Promise.all(runs.map((r) => r.finishStop()));
    this.runs.clear();
    this.usedIPs.clear();
  }

  handleUpgrade(
    kind: "exec" | "attach" | "portforward",
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ctx: StreamContext,
  ): void {
    if (this.opts.host.streamsDropped()) {
      socket.destroy();
      return;
    }
    socket.on("error", () => {});
    const handler = kind === "exec" ? handleExec : kind === "attach" ? handleAttach : handlePortForward;
    handler(this, req, socket, head, ctx).catch(() => socket.destroy());
  }

  handleLogs(req: IncomingMessage, res: ServerResponse, ctx: StreamContext): void {
    if (this.opts.host.streamsDropped()) {
      res.destroy();
      return;
    }
    handleLogs(this, req, res, ctx);
  }

  whenStreamsOpen(n = 1): Promise<void> {
    return this.streams.whenOpen(n);
  }

  dropAllStreams(): void {
    this.streams.dropAll();
  }

  stallAllStreams(): void {
    this.streams.stallAll();
  }

  pids(): number[] {
    return this.table.owned().filter((p) => !this.table.infra.has(p));
  }
}

export function createRuntime(opts: RuntimeOptions): Runtime {
  return new TestRuntime(opts);
}
