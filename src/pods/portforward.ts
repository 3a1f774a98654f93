/**
 * Port-forward: local TCP listeners whose connections are carried to a pod port, one WebSocket
 * per accepted connection (src/kube/portforward.ts). Like `kubectl port-forward`, plus:
 * several ports at once, auto-picked local ports, named container ports, service targets
 * (service port -> targetPort on a ready pod), traffic statistics, and `reconnect`: when the
 * pod goes away the target is re-resolved (a new pod by the same selector/service) while the
 * local listeners stay open (stern-like resilience).
 */
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import type { KubeObjects, KubePods } from "../kube/seam.ts";
import { closePortForwardSessions, dialPortForward } from "../kube/portforward.ts";
import { ExitCode, KodamaError, usageError } from "../base/errors.ts";
import { findPods, nothingMatched, sortPods, type TargetFlags } from "./target.ts";
import { formatBytes } from "../base/text/bytes.ts";
import { type FollowOptions, isPodReady, PodFollower, podName } from "./pf_follow.ts";

export { formatBytes, isPodReady };
import { checkListenAddresses } from "../base/listen.ts";
import { attachablePod, parseTargetArg, type ResourceRef } from "./resource.ts";
import type { ChooseOptions } from "./choose.ts";
import { quote } from "../base/text/escape.ts";

// ---------------------------------------------------------------------------------------------
// Port specs
// ---------------------------------------------------------------------------------------------

export interface ForwardSpec {
  /** local port; 0 = pick a free one */
  local: number;
  /** remote port number, or a named port (container port name; service port name for services) */
  remote: number | string;
  /** listen address (default 127.0.0.1) */
  address?: string;
  /** `8080` / `http` without a colon: the local port is the (resolved) remote/service port */
  sameAsRemote?: boolean;
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function parsePortNumber(s: string, what: string, spec: string, allowZero: boolean): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535 || (n === 0 && !allowZero)) {
    throw usageError(
      `invalid port spec ${quote(spec)}: ${what} ${quote(s)} is not a port number`,
      "use [LOCAL:]REMOTE, e.g. 8080, 9000:8080, :8080 (free local port) or :http (named port)",
    );
  }
  return n;
}

/** Parse `8080`, `9000:8080`, `:8080`, `0:8080`, `http`, `:http`, `9000:http`. */
export function parsePortSpec(spec: string): ForwardSpec {
  const s = spec.trim();
  const parts = s.split(":");
  if (parts.length > 2 || s === "") {
    throw usageError(
      `invalid port spec ${quote(spec)}`,
      "use [LOCAL:]REMOTE, e.g. 8080, 9000:8080, :8080 (free local port) or :http (named port)",
    );
  }
  const remoteText = parts[parts.length - 1];
  let remote: number | string;
  if (/^\d+$/.test(remoteText)) remote = parsePortNumber(remoteText, "remote port", spec, false);
  else if (PORT_NAME.test(remoteText) && remoteText.length <= 15) remote = remoteText;
  else {
    throw usageError(
      `invalid port spec ${quote(spec)}: remote port ${
        quote(remoteText)
      } is neither a number nor a port name`,
      "use [LOCAL:]REMOTE, e.g. 8080, 9000:8080, :8080 (free local port) or :http (named port)",
    );
  }
  if (parts.length === 1) {
    return { local: typeof remote === "number" ? remote : 0, remote, sameAsRemote: true };
  }
  const localText = parts[0];
  const local = localText === "" ? 0 : parsePortNumber(localText, "local port", spec, true);
  return { local, remote };
}

/** True for a string that looks like a port spec rather than a pod name (for positional args). */
export function looksLikePortSpec(s: string): boolean {
  return /^(\d*:)?(\d+|[a-z0-9-]+)$/.test(s) && (/^\d/.test(s) || s.startsWith(":") || s.includes(":"));
}

// ---------------------------------------------------------------------------------------------
// Port resolution (pure)
// ---------------------------------------------------------------------------------------------

/** The number of a named container port in a pod; numbers pass through. */
export function containerPortByName(pod: V1Pod, port: number | string): number {
  if (typeof port === "number") return port;
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  }
  const names = (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.name)).filter(
    Boolean,
  );
  throw new KodamaError(
    `pod ${pod.metadata?.name} has no container port named ${quote(port)}`,
    ExitCode.NOT_FOUND,
    names.length
      ? `named ports: ${names.join(", ")}`
      : "the pod declares no named ports; give the port number",
  );
}

/**
 * kubectl's service port translation: `port` is a service port (number or name); the result is
 * the pod port its targetPort points at (a number, a named container port looked up in `pod`,
 * or the service port itself when targetPort is unset or the service is headless).
 */
export function servicePortToPodPort(svc: V1Service, pod: V1Pod, port: number | string): {
  servicePort: number;
  podPort: number;
} {
  const ports = svc.spec?.ports ?? [];
  const sp = typeof port === "number"
    ? ports.find((p) => p.port === port)
    : ports.find((p) => p.name === port);
  if (!sp) {
    throw new KodamaError(
      `service ${svc.metadata?.name} has no port ${typeof port === "number" ? port : `named ${quote(port)}`}`,
      ExitCode.NOT_FOUND,
      `service ports: ${
        ports.map((p) => p.name ? `${p.port} (${p.name})` : String(p.port)).join(", ") || "none"
      }`,
    );
  }
  const tp = sp.targetPort as number | string | undefined;
  if (svc.spec?.clusterIP === "None" || tp === undefined || tp === 0 || tp === "") {
    return { servicePort: sp.port, podPort: sp.port };
  }
  if (typeof tp === "number" || /^\d+$/.test(tp)) return { servicePort: sp.port, podPort: Number(tp) };
  return { servicePort: sp.port, podPort: containerPortByName(pod, tp) };
}

/** Where a forward goes: the pod, and for service targets the service whose ports map to it. */
export interface ResolvedTarget {
  pod: V1Pod;
  service?: V1Service;
}

/** Resolve one spec against a target: the local port to bind (0 = auto) and the pod port. */
export function resolveSpec(t: ResolvedTarget, spec: ForwardSpec): { local: number; remote: number } {
  if (t.service) {
    const { servicePort, podPort } = servicePortToPodPort(t.service, t.pod, spec.remote);
    return { local: spec.sameAsRemote ? servicePort : spec.local, remote: podPort };
  }
  const remote = containerPortByName(t.pod, spec.remote);
  return { local: spec.sameAsRemote ? remote : spec.local, remote };
}

/** A service selector as a label selector string. */
export function selectorString(sel: Record<string, string> | undefined): string {
  return Object.entries(sel ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
}

/** The ready pod kubectl would pick among a service's (attachablePodForObject), or exit 3. */
export async function servicePod(kube: KubePods, namespace: string, svc: V1Service): Promise<V1Pod> {
  const name = svc.metadata?.name ?? "?";
  const selector = selectorString(svc.spec?.selector);
  if (!selector) {
    throw new KodamaError(
      `service ${name} in namespace ${namespace} has no selector`,
      ExitCode.NOT_FOUND,
      "port-forward to one of its pods directly (pod/NAME)",
    );
  }
  const pods = sortPods(await kube.listPods(namespace, { labelSelector: selector }));
  const ready = attachablePod(pods.filter(isPodReady));
  if (!ready) {
    throw new KodamaError(
      `service ${name} in namespace ${namespace} has no ready pod (selector ${selector}, ${pods.length} pods)`,
      ExitCode.NOT_FOUND,
      "wait for its pods with `kodama wait -n " + namespace + " svc/" + name + " --for ready`",
    );
  }
  return ready;
}

/** Resolve `svc/NAME` to the service and one ready pod behind it. */
export async function resolveService(
  kube: KubeObjects & KubePods,
  namespace: string,
  name: string,
): Promise<ResolvedTarget> {
  const service = await kube.getObject<V1Service>("services", namespace, name);
  return { service, pod: await servicePod(kube, namespace, service) };
}

// ---------------------------------------------------------------------------------------------
// Listeners
// ---------------------------------------------------------------------------------------------

export interface ForwardStats {
  connections: number;
  /** bytes received from the pod (pod -> local) */
  bytesIn: number;
  /** bytes sent to the pod (local -> pod) */
  bytesOut: number;
  /** connections open right now */
  active?: number;
  /** connections that failed (dial refused, error from the pod side) */
  errors?: number;
}

export interface ActiveForward {
  /** current pod (changes after a reconnect) */
  readonly pod: string;
  readonly namespace: string;
  readonly local: number;
  /** current pod port */
  readonly remote: number;
  readonly address: string;
  /** times the forward moved to another pod (shared by the forward's listeners) */
  readonly reconnects: number;
  close(): Promise<void>;
  stats(): ForwardStats;
}

export interface PortForwardOptions extends FollowOptions {
  /** the service the pod was chosen through (service port -> targetPort mapping) */
  service?: V1Service;
}

/** Expand `localhost` like kubectl (both loopbacks) and split comma lists. */
export function expandAddresses(address: string | undefined): string[] {
  const out: string[] = [];
  for (const a of (address ?? "127.0.0.1").split(",").map((s) => s.trim()).filter(Boolean)) {
    if (a === "localhost") out.push("127.0.0.1", "::1");
    else out.push(a.startsWith("[") && a.endsWith("]") ? a.slice(1, -1) : a);
  }
  return [...new Set(out)];
}

function listen(host: string, port: number, server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      const why = e.code === "EADDRINUSE"
        ? "address already in use"
        : e.code === "EACCES"
        ? "permission denied (ports below 1024 need root)"
        : e.code === "EADDRNOTAVAIL"
        ? "address not available on this machine"
        : e.message;
      const portProblem = e.code === "EADDRINUSE" || e.code === "EACCES";
      reject(
        new KodamaError(
          `unable to listen on ${host.includes(":") ? `[${host}]` : host}:${port}: ${why}`,
          ExitCode.FAILED,
          portProblem
            ? "pick another local port, e.g. :REMOTE for a free one"
            : "use --address with an address of this machine, e.g. 127.0.0.1",
        ),
      );
    };
    const onListening = () => {
      server.off("error", onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ host, port, exclusive: true });
  });
}

/** One port-forward invocation: the pod it follows (./pf_follow.ts), its listeners and their pods. */
class Forwarder extends PodFollower {
  /** resolved pod port per spec index for the current target */
  remotes: number[];
  listeners = new Set<Listener>();
  /** the pods connections went to (their SPDY connections are closed with the forward) */
  readonly usedPods = new Set<string>();

  constructor(
    readonly kube: Kube,
    namespace: string,
    target: ResolvedTarget,
    readonly specs: ForwardSpec[],
    o: PortForwardOptions,
  ) {
    super(kube, namespace, target, o);
    this.remotes = specs.map((s) => resolveSpec(target, s).remote);
  }

  protected override moved(t: ResolvedTarget): void {
    this.remotes = this.specs.map((s) => resolveSpec(t, s).remote);
  }

  /** Wait for a re-resolve in progress; then the current pod and port for spec `i`. */
  async targetFor(i: number, maxWaitMs = 30_000): Promise<{ pod: string; port: number }> {
    await this.settled(maxWaitMs);
    return { pod: podName(this.current.pod), port: this.remotes[i] };
  }

  override async close(): Promise<void> {
    await super.close();
    await Promise.all([...this.listeners].map((l) => l.close()));
    for (const pod of this.usedPods) closePortForwardSessions(this.kube.kc, this.namespace, pod);
  }
}

class Listener implements ActiveForward {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  private remotesOpen = new Set<Duplex>();
  private counters: Required<ForwardStats> = {
    connections: 0,
    bytesIn: 0,
    bytesOut: 0,
    active: 0,
    errors: 0,
  };
  local = 0;
  private closing?: Promise<void>;

  constructor(private f: Forwarder, private index: number, readonly address: string) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.handle(s));
  }

  get pod(): string {
    return podName(this.f.current.pod);
  }
  get namespace(): string {
    return this.f.namespace;
  }
  get remote(): number {
    return this.f.remotes[this.index];
  }
  get reconnects(): number {
    return this.f.reconnects;
  }

  async start(port: number): Promise<void> {
    this.local = await listen(this.address, port, this.server);
  }

  private async handle(sock: net.Socket): Promise<void> {
    sock.setNoDelay(true);
    this.counters.connections++;
    this.counters.active++;
    this.sockets.add(sock);
    const opened = Date.now();
    let bytesIn = 0, bytesOut = 0;
    sock.on("close", () => {
      this.sockets.delete(sock);
      this.counters.active--;
      this.f.event(
        `Closed connection for ${this.local} after ${Date.now() - opened}ms (${formatBytes(bytesIn)} in, ${
          formatBytes(bytesOut)
        } out)`,
      );
    });
    sock.on("error", () => {/* reported through the remote side / close */});
    this.f.event(`Handling connection for ${this.local}`);
    let target: { pod: string; port: number };
    try {
      target = await this.f.targetFor(this.index);
    } catch (e) {
      this.counters.errors++;
      this.f.event(`error forwarding port ${this.local}: ${(e as Error).message}`);
      sock.destroy();
      return;
    }
    let remote: Duplex | undefined;
    for (let attempt = 0; attempt < 2 && !remote; attempt++) {
      try {
        this.f.usedPods.add(target.pod);
        const kube = this.f.kube;
        const what = {
          verb: "create",
          resource: "pods/portforward",
          namespace: this.f.namespace,
          name: target.pod,
        };
        remote = await dialPortForward(kube.kc, this.f.namespace, target.pod, target.port, {
          signal: this.f.o.signal,
          answerTimeoutMs: kube.answerTimeoutMs,
          timeoutError: (method, url) => kube.timeoutError(what, method, url),
        });
      } catch (e) {
        const ke = e instanceof KodamaError ? e : new KodamaError(String(e));
        this.counters.errors++;
        this.f.event(
          `error forwarding port ${this.local} to pod ${target.pod}:${target.port}: ${ke.message}`,
        );
        if (ke.code === ExitCode.NOT_FOUND && !this.f.closed) {
          this.f.lost(`pod ${target.pod} is gone`);
          if (this.f.o.reconnect && attempt === 0) {
            try {
              target = await this.f.targetFor(this.index);
              continue;
            } catch { /* still no pod: give up on this connection */ }
          }
        }
        sock.destroy();
        return;
      }
    }
    if (!remote) return;
    if (sock.destroyed || this.f.closed) {
      remote.destroy();
      return;
    }
    this.remotesOpen.add(remote);
    const r = remote;
    sock.on("data", (c: Uint8Array) => {
      this.counters.bytesOut += c.length;
      bytesOut += c.length;
    });
    r.on("data", (c: Uint8Array) => {
      this.counters.bytesIn += c.length;
      bytesIn += c.length;
    });
    r.on("error", (e: Error) => {
      this.counters.errors++;
      this.f.event(`error forwarding port ${this.local} to pod ${target.pod}:${target.port}: ${e.message}`);
      sock.destroy();
    });
    r.on("close", () => {
      this.remotesOpen.delete(r);
      if (!sock.destroyed) sock.end();
    });
    sock.on("close", () => r.destroy());
    sock.pipe(r);
    r.pipe(sock);
    sock.resume();
  }

  stats(): ForwardStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.f.listeners.delete(this);
    this.closing = new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      for (const r of this.remotesOpen) r.destroy();
    });
    if (this.f.listeners.size === 0 && !this.f.closed) this.f.close();
    return this.closing;
  }
}

/**
 * Start forwarding `specs` to `pod`. Returns one ActiveForward per (spec, address) once every
 * listener is bound. Aborting `signal` closes everything. Throws (after closing what was
 * opened) when a local port cannot be bound or a named port does not exist.
 */
export async function portForward(
  kube: Kube,
  pod: V1Pod,
  specs: ForwardSpec[],
  o: PortForwardOptions = {},
): Promise<ActiveForward[]> {
  if (!specs.length) {
    throw usageError("port-forward needs at least one port", "e.g. 8080, 9000:8080 or :8080");
  }
  for (const s of specs) {
    if (s.address !== undefined) checkListenAddresses(s.address, "address", { list: true });
  }
  const namespace = pod.metadata?.namespace ?? kube.namespace;
  const target: ResolvedTarget = { pod, service: o.service };
  const f = new Forwarder(kube, namespace, target, specs, o);
  const out: Listener[] = [];
  try {
    for (let i = 0; i < specs.length; i++) {
      let port = resolveSpec(target, specs[i]).local;
      for (const address of expandAddresses(specs[i].address)) {
        const l = new Listener(f, i, address);
        try {
          await l.start(port);
        } catch (e) {
          // kubectl: with `localhost`, failing on one of the two loopbacks is only a warning
          if (address === "::1" && specs[i].address?.split(",").includes("localhost")) continue;
          throw e;
        }
        port = l.local; // the other addresses of the same spec use the same (maybe auto-picked) port
        f.listeners.add(l);
        out.push(l);
      }
    }
  } catch (e) {
    await f.close();
    throw e;
  }
  if (o.signal) {
    if (o.signal.aborted) await f.close();
    else o.signal.addEventListener("abort", () => f.close(), { once: true });
  }
  f.watchPod();
  return out;
}

/** Sum of the stats of several forwards. */
export function totalStats(fs: ActiveForward[]): ForwardStats {
  const t: Required<ForwardStats> = { connections: 0, bytesIn: 0, bytesOut: 0, active: 0, errors: 0 };
  for (const f of fs) {
    const s = f.stats();
    t.connections += s.connections;
    t.bytesIn += s.bytesIn;
    t.bytesOut += s.bytesOut;
    t.active += s.active ?? 0;
    t.errors += s.errors ?? 0;
  }
  return t;
}

/** "3 connections, 1.2 KiB in, 340 B out" (+ ", 1 failed" when some failed) */
export function formatStats(s: ForwardStats): string {
  return `${s.connections} connection${s.connections === 1 ? "" : "s"}, ${formatBytes(s.bytesIn)} in, ${
    formatBytes(s.bytesOut)
  } out${s.errors ? `, ${s.errors} failed` : ""}`;
}

/** `Forwarding from 127.0.0.1:8080 -> pod/api-1:8080` (IPv6 addresses in brackets like kubectl). */
export function forwardingLine(f: { address: string; local: number; pod: string; remote: number }): string {
  const host = f.address.includes(":") ? `[${f.address}]` : f.address;
  return `Forwarding from ${host}:${f.local} -> pod/${f.pod}:${f.remote}`;
}

// ---------------------------------------------------------------------------------------------
// Targets: pod/NAME, svc/NAME, or targeting flags (one pod, chosen like exec)
// ---------------------------------------------------------------------------------------------

export type ForwardTarget =
  | { kind: "pod"; namespace: string; name: string }
  | { kind: "service"; namespace: string; name: string }
  /** targeting flags (one pod, chosen like exec); with `flags.resource` (deploy/x, session/y) like kubectl */
  | { kind: "select"; flags: TargetFlags; choose?: ChooseOptions };

/**
 * Parse a `TYPE/NAME` target argument (pod/, svc/, deploy/, sts/, ds/, rs/, job/, session/); undefined
 * for anything else (a pod name, a port spec).
 */
export function parseResourceArg(arg: string): ResourceRef | undefined {
  return parseTargetArg(arg);
}

/** A target that follows its object to another pod when the current one goes away (kubectl does not). */
export function reconnectsByDefault(t: ForwardTarget): boolean {
  return t.kind === "service" ||
    (t.kind === "select" && !!t.flags.resource && t.flags.resource.kind !== "pod");
}

/** Why a pod cannot be forwarded to (its status and latest event), and how to wait for it. */
async function notRunning(kube: KubeObjects, p: V1Pod): Promise<KodamaError> {
  const { notRunningError } = await import("./notrunning.ts");
  return await notRunningError(kube, [p], {
    what: "unable to forward",
    hint:
      `wait for it with \`kodama wait -n ${p.metadata?.namespace} --pod ${p.metadata?.name} --for ready\``,
  });
}

/** Resolve a target to one pod (and its service), choosing among matches like exec does. */
export async function resolveForwardTarget(
  kube: KubeObjects & KubePods,
  t: ForwardTarget,
): Promise<ResolvedTarget> {
  if (t.kind === "service") return await resolveService(kube, t.namespace, t.name);
  if (t.kind === "pod") {
    const pod = await kube.getObject<V1Pod>("pods", t.namespace, t.name);
    if (pod.status?.phase !== "Running" || pod.metadata?.deletionTimestamp) throw await notRunning(kube, pod);
    return { pod };
  }
  const flags: TargetFlags = { ...t.flags, includeNotReady: t.flags.includeNotReady ?? false };
  const pods = await findPods(kube, flags);
  if (!pods.length && !flags.includeNotReady) {
    const { noRunningPods } = await import("./notrunning.ts");
    throw await noRunningPods(kube, flags, { what: "unable to forward" });
  }
  const { choosePods } = await import("./choose.ts");
  // exec's hint offers --all; a port-forward needs exactly one pod
  const chosen = await choosePods(kube, pods, flags, {
    ...t.choose,
    all: false,
    multi: false,
    selectOne: true,
    flagHint: "narrow it with -m/--pod/-l, or choose: --first (first by name), --pick (interactive picker)",
  });
  if (chosen.length !== 1) {
    throw usageError(
      `port-forward needs exactly one pod, ${chosen.length} were chosen`,
      "narrow the target (-m, --pod) or use --first",
    );
  }
  return { pod: chosen[0] };
}

/**
 * The non-interactive re-resolution used after the pod went away: a ready pod by the same service /
 * workload / name / filters.
 */
export function reresolver(kube: KubeObjects & KubePods, t: ForwardTarget): () => Promise<ResolvedTarget> {
  return async () => {
    if (t.kind === "service") return await resolveService(kube, t.namespace, t.name);
    if (t.kind === "pod") {
      const pod = await kube.getObject<V1Pod>("pods", t.namespace, t.name);
      if (!isPodReady(pod)) throw await notRunning(kube, pod);
      return { pod };
    }
    const pods = (await findPods(kube, { ...t.flags, includeNotReady: true })).filter(isPodReady);
    if (!pods.length) throw nothingMatched({ ...t.flags, includeNotReady: false }, kube.namespace);
    // a TYPE/NAME target takes the pod kubectl would; plain filters the first by name, as at the start
    return { pod: t.flags.resource ? attachablePod(pods)! : pods[0] };
  };
}

export interface StartForwardOptions {
  signal?: AbortSignal;
  onEvent?: (e: string) => void;
  /** follow the target to a new pod when the current one goes away */
  reconnect?: boolean;
  onLost?: (err: KodamaError) => void;
  /** listen address(es) for specs that name none (default 127.0.0.1; `localhost` = both loopbacks) */
  address?: string;
  /** the target, already resolved by the caller (resolveForwardTarget) */
  resolved?: ResolvedTarget;
  /** with `reconnect`: the line said once after the target moved to another pod (pf_follow.ts) */
  moved?: FollowOptions["moved"];
}

/**
 * Resolve `target`, then forward `specs` to it: what the CLI and the workflow `port-forward`
 * step call. The forwards run until closed or `signal` aborts.
 */
export async function startPortForward(
  kube: Kube,
  target: ForwardTarget,
  specs: ForwardSpec[],
  o: StartForwardOptions = {},
): Promise<{ forwards: ActiveForward[]; target: ResolvedTarget }> {
  const resolved = o.resolved ?? await resolveForwardTarget(kube, target);
  const withAddress = specs.map((s) => ({ ...s, address: s.address ?? o.address }));
  const forwards = await portForward(kube, resolved.pod, withAddress, {
    signal: o.signal,
    onEvent: o.onEvent,
    service: resolved.service,
    reconnect: o.reconnect ? reresolver(kube, target) : undefined,
    moved: o.moved,
    onLost: o.onLost,
  });
  return { forwards, target: resolved };
}
