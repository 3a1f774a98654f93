/**
 * The runtime half of the Kubernetes API test server: pod containers as local processes
 * (see pod.ts) and the streaming endpoints (../streams). Entry point: createRuntime().
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Buffer } from "node:buffer";
import type { PodObject, Runtime, RuntimeOptions, StreamContext } from "../contract.ts";
import { PodRun } from "./pod.ts";
import { livePids, terminateGroups } from "./procs.ts";
import { StreamRegistry } from "../streams/ws.ts";
import type { RuntimeState } from "../streams/common.ts";
import { handleAttach, handleExec } from "../streams/exec.ts";
import { handleLogs } from "../streams/logs.ts";
import { handlePortForward } from "../streams/portforward.ts";

export { podLayout, sharedBinDir } from "./podfs.ts";

class TestRuntime implements Runtime, RuntimeState {
  readonly streams = new StreamRegistry();
  private runs = new Map<string, PodRun>();
  private groups = new Set<number>();
  private ipSeq = 0;
  private usedIPs = new Set<string>();

  constructor(private opts: RuntimeOptions) {}

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  pod(namespace: string, name: string): PodRun | undefined {
    return this.runs.get(this.key(namespace, name));
  }

  onGroup = (pgid: number): void => {
    this.groups.add(pgid);
  };

  /**
   * Fallback when the API half did not assign status.podIP: 127.B.C.n with B.C from our pid (so
   * parallel test servers differ), counting down from .254 (the API half counts up from .1).
   */
  private allocateIP(): string {
    const prefix = `127.${1 + (Math.floor(Deno.pid / 256) % 254)}.${Deno.pid % 256}`;
    for (let i = 0; i < 254; i++) {
      const ip = `${prefix}.${254 - (this.ipSeq++ % 254)}`;
      if (!this.usedIPs.has(ip)) return ip;
    }
    throw new Error("no free pod IP");
  }

  startPod(pod: PodObject): void {
    const k = this.key(pod.metadata.namespace, pod.metadata.name);
    const existing = this.runs.get(k);
    if (existing && existing.uid === pod.metadata.uid) return;
    if (existing) void existing.stop(0);
    const ip = typeof pod.status?.podIP === "string" && pod.status.podIP ? pod.status.podIP : this.allocateIP();
    this.usedIPs.add(ip);
    const run = new PodRun(pod, this.opts.stateDir, ip, this.opts.host, this.onGroup);
    this.runs.set(k, run);
    run.start();
  }

  async stopPod(namespace: string, name: string, graceSeconds: number): Promise<void> {
    const k = this.key(namespace, name);
    const run = this.runs.get(k);
    if (!run) return;
    await run.stop(graceSeconds);
    if (this.runs.get(k) === run) this.runs.delete(k);
    this.usedIPs.delete(run.podIP);
  }

  async stopAll(): Promise<void> {
    this.streams.dropAll();
    const runs = [...this.runs.values()];
    await Promise.all(runs.map((r) => r.stop(0)));
    this.runs.clear();
    this.usedIPs.clear();
    await terminateGroups([...this.groups], 0);
    this.groups.clear();
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

  dropAllStreams(): void {
    this.streams.dropAll();
  }

  pids(): number[] {
    const pids = livePids(this.groups);
    return pids;
  }
}

export function createRuntime(opts: RuntimeOptions): Runtime {
  return new TestRuntime(opts);
}
