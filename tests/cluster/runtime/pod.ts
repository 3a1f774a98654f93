/**
 * One pod's life: schedule -> init containers in order -> containers as local processes ->
 * restarts per restartPolicy -> stop. Reports status through RuntimeHost.updatePodStatus.
 */
import fs from "node:fs";
import path from "node:path";
import type { Buffer } from "node:buffer";
import type { PodObject, RuntimeHost } from "../contract.ts";
import { ContainerLog, nowRFC3339 } from "./logstore.ts";
import {
  containerCwd,
  containerEnv,
  expandVars,
  mapPath,
  mountVolumes,
  type PodLayout,
  podLayout,
  preparePodDir,
  resolveExecutable,
  volumeSources,
} from "./podfs.ts";
import { Proc, type ProcExit } from "./proc.ts";
import { mapArgv, pathMapFor } from "./pathmap.ts";
import {
  ContainerView,
  podFsInfo,
  VIEW_BUSYBOX,
  VIEW_SHARED_BIN,
  type ViewCommand,
  type ViewMount,
} from "./podns.ts";
import {
  AGENT_CLI_BIN,
  containerArgv,
  type ImageConfig,
  imageHasAgents,
  type KubeletEvent,
  needsPull,
  parseImage,
  pullBackOff,
  pullBackoffMs,
  pullImage,
} from "./images.ts";
import { busyboxBinDir } from "./busybox.ts";
import { GroupSet, type ProcessTable } from "./procs.ts";
import { runHookExec, runProbe } from "./probes.ts";
import {
  backoffMs,
  Conditions,
  type ContainerState,
  containerStatus,
  finalPhase,
  newContainerID,
  type Phase,
} from "./status.ts";

// deno-lint-ignore no-explicit-any
type Spec = Record<string, any>;
export type OutputListener = (channel: 1 | 2, data: Buffer) => void;

export class ContainerRun {
  restartCount = 0;
  state: ContainerState;
  lastState?: ContainerState;
  ready = false;
  started = false;
  containerID?: string;
  proc?: Proc;
  log?: ContainerLog;
  startedAtMs = 0;
  /** the environment the current run started with (exec sessions get it too, as in a container) */
  env?: Record<string, string>;
  /** attach listeners for live output of the current run */
  readonly output = new Set<OutputListener>();
  /** called once when the current run's process exits */
  readonly exitWaiters = new Set<() => void>();
  timer?: ReturnType<typeof setTimeout>;
  probeGen = 0;
  done = false;
  /** namespace mode: the container's own filesystem view (podns.ts) */
  view?: ContainerView;
  /** the kernel's OOM killer ended the current run (faults: oomKill): its reason is OOMKilled */
  oomKilled = false;
  constructor(readonly spec: Spec, readonly init: boolean, waitingReason: string) {
    this.state = { waiting: { reason: waitingReason } };
  }
  get name(): string {
    return this.spec.name;
  }
  logFile(layout: PodLayout, restart = this.restartCount): string {
    return path.join(layout.logs, `${this.name}.${restart}.log`);
  }
  get running(): boolean {
    return "running" in this.state && !!this.proc;
  }
}

export class PodRun {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly layout: PodLayout;
  readonly podIP: string;
  readonly inits: ContainerRun[];
  readonly containers: ContainerRun[];
  readonly execs = new Set<Proc>();
  /** process groups of exec sessions (background children outlive the session, not the pod) */
  private execGroups = new GroupSet();
  /**
   * the same, by container: they live in that container's processes, so its main process's end takes them
   * along (runc: the container's pid namespace goes, and every process in it with a SIGKILL)
   */
  private containerExecs = new Map<ContainerRun, GroupSet>();
  phase: Phase = "Pending";
  initialized = false;
  stopping = false;
  private startTime = nowRFC3339();
  private conditions = new Conditions();
  private publishQueued = false;
  private failMessage?: { reason: string; message: string };

  constructor(
    private pod: PodObject,
    stateDir: string,
    podIP: string,
    private host: RuntimeHost,
    readonly table: ProcessTable,
  ) {
    this.namespace = pod.metadata.namespace;
    this.name = pod.metadata.name;
    this.uid = pod.metadata.uid;
    this.layout = podLayout(stateDir, this.namespace, this.name);
    this.podIP = podIP;
    const initSpecs: Spec[] = pod.spec.initContainers ?? [];
    this.inits = initSpecs.map((s) => new ContainerRun(s, true, "PodInitializing"));
    this.containers = (pod.spec.containers ?? []).map((s: Spec) =>
      new ContainerRun(s, false, initSpecs.length ? "PodInitializing" : "ContainerCreating")
    );
  }

  get restartPolicy(): "Always" | "OnFailure" | "Never" {
    return this.pod.spec.restartPolicy ?? "Always";
  }

  container(name: string): ContainerRun | undefined {
    return this.containers.find((c) => c.name === name) ?? this.inits.find((c) => c.name === name);
  }

  /** The pod as the runtime last saw it, with the podIP it runs on. */
  podObject(): PodObject {
    const cur = this.host.getPod(this.namespace, this.name) ?? this.pod;
    return { ...cur, status: { ...(cur.status ?? {}), podIP: this.podIP } };
  }

  event(type: "Normal" | "Warning", reason: string, message: string): void {
    try {
      this.host.recordEvent(this.namespace, this.name, type, reason, message);
    } catch { /* the pod may be gone */ }
  }

  /** The container's environment: fixed when its current run started, like a real container's. */
  env(c: ContainerRun): Record<string, string> {
    return c.env ?? containerEnv(this.layout, this.podObject(), c.spec, this.host, !!c.view);
  }

  /** The container's working dir: a pod path in namespace mode (made on demand), else a host path. */
  cwd(c: ContainerRun): string {
    if (!c.view) return containerCwd(this.layout, c.spec);
    const wd = typeof c.spec.workingDir === "string" && c.spec.workingDir.startsWith("/")
      ? path.posix.normalize(c.spec.workingDir)
      : "/";
    const host = c.view.hostPath(wd);
    try {
      Deno.mkdirSync(host, { recursive: true });
    } catch { /* a read-only host dir: the command fails as a runtime would */ }
    return wd;
  }

  /**
   * How to start `argv` (as given in the pod) in container `c`: the host command line, or undefined when
   * argv[0] is not found on the container's PATH. `main`: the container's main process (in namespace mode
   * PID 1 of its own PID namespace); otherwise a process of the running container (exec, probe), which
   * throws when the container's main process is not running there.
   */
  command(
    c: ContainerRun,
    argv: string[],
    env: Record<string, string>,
    o: { main?: boolean; tty?: boolean } = {},
  ): ViewCommand | undefined {
    const cwd = this.cwd(c);
    if (c.view) {
      const file = c.view.resolve(argv[0], env.PATH ?? "", cwd);
      return file ? c.view.command(file, argv.slice(1), cwd, o) : undefined;
    }
    const podArgv = mapArgv(pathMapFor(this.layout.root, c.spec), argv);
    const file = resolveExecutable(podArgv[0], env.PATH ?? "", cwd);
    return file ? { file, args: podArgv.slice(1), cwd } : undefined;
  }

  /** Namespace mode: the container's root dir, its volumes and the test server's command dirs. */
  private makeView(c: ContainerRun): ContainerView {
    const extra: ViewMount[] = [{ target: VIEW_SHARED_BIN, source: this.layout.sharedBin, readOnly: true }];
    const bb = busyboxBinDir(path.dirname(this.layout.sharedBin));
    if (bb) extra.push({ target: VIEW_BUSYBOX, source: bb, readOnly: true });
    const vols = volumeSources(this.layout, this.pod, c.spec, this.host).map((v) => ({
      target: v.mountPath,
      source: v.source,
      readOnly: v.readOnly,
    }));
    const agents = imageHasAgents(c.spec.image ?? "");
    return new ContainerView(path.join(this.layout.dir, "rootfs", c.name), vols, this.name, extra, agents);
  }

  addExecGroup(pgid: number, c?: ContainerRun): void {
    this.execGroups.add(pgid);
    if (!c) return;
    let set = this.containerExecs.get(c);
    if (!set) this.containerExecs.set(c, set = new GroupSet());
    set.add(pgid);
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    this.publish();
    this.event(
      "Normal",
      "Scheduled",
      `Successfully assigned ${this.namespace}/${this.name} to ${this.pod.spec.nodeName ?? "kodama-node"}`,
    );
    // the work (dirs, spawning) happens on a later tick, so startPod() returns at once
    setTimeout(() =>
      this.run().catch((e) => {
        this.failMessage = { reason: "RuntimeError", message: String(e?.message ?? e) };
        this.phase = "Failed";
        this.publish();
      }), 0);
  }

  private async run(): Promise<void> {
    if (this.stopping) return;
    preparePodDir(this.layout, this.pod);
    const namespaced = podFsInfo().mode === "namespace";
    for (const c of [...this.inits, ...this.containers]) {
      if (namespaced) c.view = this.makeView(c);
      else mountVolumes(this.layout, this.pod, c.spec, this.host);
    }
    for (const init of this.inits) {
      for (;;) {
        if (this.stopping) return;
        const exit = await this.runContainer(init);
        if (this.stopping) return;
        if (exit === 0) break;
        if (this.restartPolicy === "Never") {
          this.phase = "Failed";
          for (const c of this.containers) c.state = { waiting: { reason: "PodInitializing" } };
          this.publish();
          return;
        }
        await this.backoff(init);
        if (this.stopping) return;
        init.restartCount++;
      }
    }
    this.initialized = true;
    for (const c of this.containers) c.state = { waiting: { reason: "ContainerCreating" } };
    for (const c of this.containers) this.keepRunning(c);
  }

  /** Start a main container and apply the restart policy each time it exits. */
  private async keepRunning(c: ContainerRun): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      const exit = await this.runContainer(c);
      if (this.stopping) return;
      const restart = this.restartPolicy === "Always" || (this.restartPolicy === "OnFailure" && exit !== 0);
      if (!restart) {
        c.done = true;
        if (this.containers.every((x) => x.done)) {
          this.phase = finalPhase(
            this.containers.map((x) => ("terminated" in x.state ? x.state.terminated.exitCode : 1)),
          );
        }
        this.publish();
        return;
      }
      await this.backoff(c);
      if (this.stopping) return;
      c.restartCount++;
    }
  }

  private backoff(c: ContainerRun): Promise<void> {
    const ranMs = Date.now() - c.startedAtMs;
    const attempt = ranMs > 10_000 ? 0 : c.restartCount;
    const ms = backoffMs(attempt);
    c.lastState = c.state;
    c.state = {
      waiting: {
        reason: "CrashLoopBackOff",
        message: `back-off ${
          Math.round(ms / 1000)
        }s restarting failed container=${c.name} pod=${this.name}_${this.namespace}(${this.uid})`,
      },
    };
    this.event(
      "Warning",
      "BackOff",
      `Back-off restarting failed container ${c.name} in pod ${this.name}_${this.namespace}(${this.uid})`,
    );
    this.publish();
    return new Promise((resolve) => {
      c.timer = setTimeout(() => {
        c.timer = undefined;
        resolve();
      }, ms);
      c.exitWaiters.add(resolve); // stop() resolves it early
    });
  }

  /** Sleep `ms` for container `c`; a stop ends the wait early. */
  private pause(c: ContainerRun, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (c.timer !== undefined) clearTimeout(c.timer);
        c.timer = undefined;
        c.exitWaiters.delete(done);
        resolve();
      };
      c.timer = setTimeout(done, ms);
      c.exitWaiters.add(done); // stop() resolves it early
    });
  }

  private events(list: KubeletEvent[]): void {
    for (const e of list) this.event(e.type, e.reason, e.message);
  }

  /**
   * The kubelet's image step before a container starts (EnsureImageExists): the image's config
   * once it is on the node, or undefined when the pod is stopping. Unpullable images cycle through
   * ErrImagePull and ImagePullBackOff with the kubelet's events and a doubling back-off.
   */
  private async ensureImage(c: ContainerRun): Promise<ImageConfig | undefined> {
    const image = String(c.spec.image ?? "");
    let failures = 0;
    for (;;) {
      if (this.stopping) return undefined;
      const started = Date.now();
      // a pull from the node's registry takes a moment (the Pulled event says how long)
      if (needsPull(image, c.spec.imagePullPolicy)) await this.pause(c, 5);
      if (this.stopping) return undefined;
      const out = pullImage(image, c.spec.imagePullPolicy, Date.now() - started);
      this.events(out.events);
      if (out.ok) return out.image;
      c.state = { waiting: { reason: out.reason, message: out.message } };
      this.publish();
      if (out.reason !== "ErrImagePull") {
        // Never / an invalid name: nothing changes until the pod does; the kubelet says so on each sync
        await this.pause(c, 10_000);
        continue;
      }
      failures++;
      // the kubelet's next sync finds the image in back-off
      await this.pause(c, 1000);
      if (this.stopping) return undefined;
      const bo = pullBackOff(image);
      this.events(bo.events);
      c.state = { waiting: { reason: bo.reason, message: bo.message } };
      this.publish();
      await this.pause(c, pullBackoffMs(failures));
    }
  }

  /** Run the container process once; resolves with its exit code. */
  private async runContainer(c: ContainerRun): Promise<number> {
    const spec = c.spec;
    const image = await this.ensureImage(c);
    if (!image) return 137; // stopped while waiting for the image
    let viewError: string | undefined;
    if (c.view) await c.view.start(this.table).catch((e) => (viewError = String(e?.message ?? e)));
    if (this.stopping) return 137;
    const env = containerEnv(this.layout, this.podObject(), spec, this.host, !!c.view);
    if (image.busybox) {
      // a busybox image has busybox's commands (httpd, nc, ps, ...) behind the pod's own and the shared ones
      const bb = c.view ? VIEW_BUSYBOX : busyboxBinDir(path.dirname(this.layout.sharedBin));
      if (bb && (!c.view || c.view.mounts.some((m) => m.target === VIEW_BUSYBOX))) {
        const parts = env.PATH.split(":");
        parts.splice(c.view ? 1 : 2, 0, bb);
        env.PATH = parts.join(":");
      }
    }
    // an image built with the agent CLIs has them on its PATH (its ENV PATH): where CI installs them
    if (image.agents) env.PATH = [AGENT_CLI_BIN, env.PATH].join(":");
    c.env = env;
    const command: string[] = (spec.command ?? []).map((s: string) => expandVars(String(s), env));
    const args: string[] = (spec.args ?? []).map((s: string) => expandVars(String(s), env));
    const argv = containerArgv(image, command, args);
    const startedAt = nowRFC3339();
    c.startedAtMs = Date.now();
    c.containerID = newContainerID();
    const cmd = viewError ? undefined : this.command(c, argv, env, { main: true, tty: !!spec.tty });
    if (!cmd) {
      const message = viewError
        ? `failed to create containerd task: ${viewError}`
        : `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${
          argv[0]
        }": executable file not found in $PATH: unknown`;
      c.state = {
        terminated: {
          exitCode: 128,
          reason: "StartError",
          message,
          startedAt: "1970-01-01T00:00:00Z",
          finishedAt: nowRFC3339(),
          containerID: c.containerID,
        },
      };
      this.event("Warning", "Failed", `Error: ${message}`);
      this.publish();
      return 128;
    }
    this.event("Normal", "Created", `Created container ${c.name}`);
    c.log = new ContainerLog(c.logFile(this.layout));
    const proc = new Proc({
      file: cmd.file,
      args: cmd.args,
      cwd: cmd.cwd,
      env,
      stdin: !!spec.stdin,
      stdout: true,
      stderr: true,
      tty: spec.tty ? { cols: 80, rows: 24 } : undefined,
      ownCtty: cmd.ownCtty,
      table: this.table,
    });
    c.proc = proc;
    const log = c.log;
    proc.stdout?.on("data", (d: Buffer) => {
      log.write("stdout", d);
      for (const l of c.output) l(1, d);
    });
    proc.stderr?.on("data", (d: Buffer) => {
      log.write("stderr", d);
      for (const l of c.output) l(2, d);
    });
    // its own PID namespace: execs and probes join it once its PID 1 is there
    let ended = false;
    void proc.exited.then(() => (ended = true));
    proc.child.once("exit", () => (ended = true));
    if (c.view) await c.view.awaitInit(proc.pid, () => ended || this.stopping);
    // a postStart hook: the kubelet runs it before the container counts as running (the pod stays Pending,
    // ContainerCreating, not Ready, meanwhile); its failure kills the container (seen on v1.24)
    this.event("Normal", "Started", `Started container ${c.name}`);
    const hook = spec.lifecycle?.postStart;
    const killed = hook && !c.init && !ended && !this.stopping &&
      await this.postStart(c, hook, env, () => ended);
    if (!killed) {
      c.state = { running: { startedAt } };
      c.started = true;
      c.ready = !spec.readinessProbe && !c.init;
      if (!c.init && this.phase === "Pending") this.phase = "Running";
      if (spec.readinessProbe && !c.init) this.probeLoop(c, env);
      this.publish();
    }
    const exit: ProcExit = await proc.exited;
    if (c.view) c.view.init = undefined;
    // what was started in the container through exec ends with it (its exec streams end too): the kernel
    // has done so already where the container has its own PID namespace
    const execs = this.containerExecs.get(c);
    this.containerExecs.delete(c);
    if (execs?.size) await this.table.terminate([...execs], 0);
    c.probeGen++;
    log.close();
    c.proc = undefined;
    c.ready = false;
    c.started = false;
    const message = this.terminationMessage(c);
    c.state = {
      terminated: {
        exitCode: exit.code,
        ...(exit.signal ? { signal: exit.code - 128 } : {}),
        reason: c.oomKilled ? "OOMKilled" : exit.code === 0 ? "Completed" : "Error",
        ...(message ? { message } : {}),
        startedAt,
        finishedAt: nowRFC3339(),
        containerID: c.containerID,
      },
    };
    const waiters = [...c.exitWaiters];
    c.exitWaiters.clear();
    for (const w of waiters) w();
    this.publish();
    return exit.code;
  }

  /**
   * The kubelet's termination message: what the container wrote to its terminationMessagePath (at most
   * 4096 bytes). Under /dev the test server's containers see the host's /dev, so such a path is not read.
   */
  private terminationMessage(c: ContainerRun): string | undefined {
    const p = String(c.spec.terminationMessagePath ?? "/dev/termination-log");
    if (!p.startsWith("/") || p.startsWith("/dev/")) return undefined;
    try {
      const host = c.view ? c.view.hostPath(p) : mapPath(this.layout, p);
      const fd = fs.openSync(host, "r");
      try {
        const buf = new Uint8Array(4096);
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        return n > 0 ? new TextDecoder().decode(buf.subarray(0, n)) : undefined;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  private probeLoop(c: ContainerRun, env: Record<string, string>): void {
    const probe = c.spec.readinessProbe;
    const gen = ++c.probeGen;
    const period = Math.max(1, Number(probe.periodSeconds ?? 10));
    const tick = async () => {
      if (gen !== c.probeGen || this.stopping) return;
      const ok = await runProbe(probe, {
        podIP: this.podIP,
        container: c.spec,
        env,
        command: (argv) => {
          try {
            return this.command(c, argv, env);
          } catch {
            return undefined; // the main process ended meanwhile: the probe fails
          }
        },
      });
      if (gen !== c.probeGen || this.stopping) return;
      if (ok !== c.ready) {
        c.ready = ok;
        this.publish();
      }
      // re-probe fast until ready, then at the spec's period (capped for a test server)
      setTimeout(tick, ok ? Math.min(period, 10) * 1000 : 500);
    };
    setTimeout(tick, Math.max(0, Number(probe.initialDelaySeconds ?? 0)) * 1000);
  }

  /**
   * SIGTERM the pod, SIGKILL what is left after the grace period; resolves when all is gone. Where the
   * containers have PID namespaces, as a kubelet does: the TERM goes to each container's PID 1 alone (it
   * passes it on, or ignores it without a handler), and the kernel takes a namespace's other processes
   * with its PID 1; otherwise to every process group of the pod. The containers' filesystem holders go
   * last.
   */
  async stop(graceSeconds: number): Promise<void> {
    const all = [...this.inits, ...this.containers];
    const inits = all.map((c) => c.view?.pidns && c.proc ? c.view.init : undefined);
    const termOnly = all.every((c, i) => !c.proc || inits[i])
      ? inits.filter((p) => p !== undefined)
      : undefined;
    const holders = new Set(all.flatMap((c) => c.view?.groups() ?? []));
    const groups = this.beginStop();
    await this.table.terminate(
      groups.filter((g) => !holders.has(g)),
      Math.max(0, graceSeconds) * 1000,
      { termOnly },
    );
    await this.table.terminate([...holders], 0);
    await this.finishStop();
  }

  /**
   * Run a container's postStart hook (exec; httpGet as a probe runs it), with no timeout (a hook has none).
   * A failure is the kubelet's FailedPostStartHook event (its v1.24 text), then the container is stopped as
   * a delete stops it (Killing, TERM, the grace period, KILL): true then, and its exit takes the
   * restartPolicy.
   */
  private async postStart(
    c: ContainerRun,
    // deno-lint-ignore no-explicit-any
    hook: Record<string, any>,
    env: Record<string, string>,
    ended: () => boolean,
  ): Promise<boolean> {
    const target = {
      podIP: this.podIP,
      container: c.spec,
      env,
      command: (argv: string[]) => {
        try {
          return this.command(c, argv, env);
        } catch {
          return undefined;
        }
      },
    };
    const pod = `${this.name}_${this.namespace}(${this.podObject().metadata?.uid ?? ""})`;
    let message: string | undefined;
    if (hook.exec?.command) {
      const argv = (hook.exec.command as unknown[]).map(String);
      const r = await runHookExec(argv, target);
      if (r.code !== 0) {
        message =
          `Exec lifecycle hook ([${argv.join(" ")}]) for Container "${c.name}" in Pod "${pod}" failed - ` +
          `error: command '${argv.join(" ")}' exited with ${r.code}: ${r.output}, message: ${
            JSON.stringify(r.output)
          }`;
      }
    } else if (!await runProbe({ ...hook, timeoutSeconds: 86_400 }, target)) {
      message = `Http lifecycle hook (${
        hook.httpGet?.path ?? "/"
      }) for Container "${c.name}" in Pod "${pod}" failed`;
    }
    if (message === undefined || ended() || this.stopping || !c.proc) return false;
    this.event("Warning", "FailedPostStartHook", message);
    this.event("Normal", "Killing", "FailedPostStartHook");
    const grace = Number(this.podObject().spec?.terminationGracePeriodSeconds ?? 30);
    await this.table.terminate([...c.proc.groups], Math.max(0, grace) * 1000);
    return true;
  }

  /**
   * The kernel's OOM killer ends a container (the first running one, or `container`): SIGKILL, exit 137,
   * reason OOMKilled; then the restartPolicy as for any exit. False when none runs.
   */
  async oomKill(container?: string): Promise<boolean> {
    const c = this.containers.find((x) => x.proc && (!container || x.name === container));
    if (!c?.proc) return false;
    c.oomKilled = true;
    const exited = new Promise<void>((r) => c.exitWaiters.add(r));
    await this.table.terminate([...c.proc.groups], 0);
    await exited;
    c.oomKilled = false;
    return true;
  }

  /** Stop restarting and probing; returns the process groups to terminate. */
  beginStop(): number[] {
    this.stopping = true;
    const groups: number[] = [];
    for (const c of [...this.inits, ...this.containers]) {
      c.probeGen++;
      if (c.timer !== undefined) clearTimeout(c.timer);
      for (const w of [...c.exitWaiters]) w();
      if (c.proc) {
        this.event("Normal", "Killing", `Stopping container ${c.name}`);
        groups.push(...c.proc.groups);
      }
      groups.push(...(c.view?.groups() ?? []));
    }
    for (const e of this.execs) groups.push(...e.groups);
    groups.push(...this.execGroups);
    return [...new Set(groups)];
  }

  /** After the processes are gone: let exit handlers run, close the log files. */
  async finishStop(): Promise<void> {
    const exits = [...this.inits, ...this.containers].map((c) => c.proc?.exited).filter((p) => p);
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 1500))]);
    for (const c of [...this.inits, ...this.containers]) c.log?.close();
    this.markUnlocated();
  }

  /**
   * The kubelet's TerminatePod: a container the stop found with no process (still pulling, being created,
   * or waiting out a back-off) is reported terminated all the same, and never as a success. No start or
   * finish time: it did not run.
   */
  private markUnlocated(): void {
    let changed = false;
    for (const c of [...this.inits, ...this.containers]) {
      if (c.proc || "terminated" in c.state) continue;
      c.state = {
        terminated: {
          exitCode: 137,
          reason: "ContainerStatusUnknown",
          message: "The container could not be located when the pod was terminated",
          startedAt: null,
          finishedAt: null,
        },
      };
      changed = true;
    }
    if (changed) this.publish();
  }

  // ---------------------------------------------------------------- status

  publish(): void {
    if (this.publishQueued) return;
    this.publishQueued = true;
    queueMicrotask(() => {
      this.publishQueued = false;
      const cur = this.host.getPod(this.namespace, this.name);
      if (!cur || cur.metadata.uid !== this.uid) return;
      try {
        this.host.updatePodStatus(this.namespace, this.name, this.status(cur));
      } catch { /* deleted meanwhile */ }
    });
  }

  status(cur: PodObject = this.pod): Record<string, unknown> {
    const now = nowRFC3339();
    const terminal = this.phase === "Succeeded" || this.phase === "Failed";
    const allReady = this.initialized && !terminal && this.containers.every((c) => c.ready);
    const notReady = this.containers.filter((c) => !c.ready).map((c) => c.name);
    // PodCompleted once the containers ran to their end; a pod whose init failed never ran them
    const completed = terminal && this.initialized;
    const notReadyReason = completed ? "PodCompleted" : "ContainersNotReady";
    const notReadyMsg = completed ? undefined : `containers with unready status: [${notReady.join(" ")}]`;
    const initPending = this.inits.filter((c) =>
      !("terminated" in c.state && c.state.terminated.exitCode === 0)
    );
    const conditions = this.conditions.build([
      { type: "PodReadyToStartContainers", status: true },
      {
        type: "Initialized",
        status: this.initialized || this.inits.length === 0,
        ...(this.initialized || this.inits.length === 0 ? {} : {
          reason: "ContainersNotInitialized",
          message: `containers with incomplete status: [${initPending.map((c) => c.name).join(" ")}]`,
        }),
      },
      {
        type: "Ready",
        status: allReady,
        ...(allReady ? {} : { reason: notReadyReason, message: notReadyMsg }),
      },
      {
        type: "ContainersReady",
        status: allReady,
        ...(allReady ? {} : { reason: notReadyReason, message: notReadyMsg }),
      },
      { type: "PodScheduled", status: true },
    ], now);
    const view = (c: ContainerRun) =>
      containerStatus({
        name: c.name,
        // containerd reports a created container's image fully qualified; before that the spec's name
        image: c.containerID ? parseImage(c.spec.image ?? "")?.full ?? c.spec.image : c.spec.image ?? "",
        state: c.state,
        lastState: c.lastState,
        ready: c.ready,
        started: c.started,
        restartCount: c.restartCount,
        containerID: c.containerID,
      });
    const status: Record<string, unknown> = {
      ...(cur.status ?? {}),
      phase: this.phase,
      conditions,
      hostIP: "127.0.0.1",
      hostIPs: [{ ip: "127.0.0.1" }],
      podIP: this.podIP,
      podIPs: [{ ip: this.podIP }],
      startTime: this.startTime,
      containerStatuses: this.containers.map(view),
      qosClass: (cur.status?.qosClass as string | undefined) ?? "BestEffort",
    };
    if (this.inits.length) status.initContainerStatuses = this.inits.map(view);
    if (this.failMessage) Object.assign(status, this.failMessage);
    return status;
  }
}
