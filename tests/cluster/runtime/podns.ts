/**
 * A container's own filesystem view, as close to a real pod's as a host process can get.
 *
 * Mode "namespace" (Linux with util-linux `unshare`, `nsenter`, `mount`, `chroot`): each container gets a
 * root directory `<pod dir>/rootfs/<container>/` and a holder process started by
 * `unshare --mount --uts [--map-root-user]` that bind-mounts the host's /usr, /etc (and /bin, /lib*, /sbin
 * where they are real dirs) read-only, /dev, /sys, the container's volumes at their real mount paths
 * (/workspace, the home volume, ConfigMaps, Secrets) and the test server's command dirs under /.kodama/,
 * sets the hostname to the pod name and `chroot`s into the root. Every process of the container (main
 * process, exec, probes) enters that view with `nsenter --root`, so `ls /workspace`, `cd /workspace` in a
 * script, the shell prompt and `kubectl cp` behave as in a real pod, and nothing the pod writes lands
 * outside its directories. Mounts live only in the holder's private mount namespace: the host never sees
 * them, and they vanish with the holder. As root no user namespace is needed; otherwise `--map-root-user`
 * makes one (root inside, the caller's uid outside).
 *
 * Processes, as on a node (a pod's default `shareProcessNamespace: false`: each container its own PID
 * namespace): each run of the container's main process is started by `unshare --pid --fork --mount-proc`
 * inside the view, so it is PID 1 of a PID namespace of its own, in a mount namespace of its own (a copy
 * of the holder's) with a /proc of that namespace over the view's /proc. `ls /proc`, `ps` and a grep of
 * each /proc/PID/environ in the pod show only that container's processes — never the test server's, the
 * gateway pod's or another pod's. Exec sessions and exec probes enter the running main process's
 * namespaces (`nsenter -t INIT --mount --uts --pid --root`; nsenter forks for --pid), so they are its
 * processes too. The kernel's rules then hold as on a node: the end of PID 1 kills every other process of
 * the namespace (exec sessions included), and a signal reaches PID 1 only if it has a handler for it — a
 * `sleep` as the main process ignores the kubelet's TERM and is killed after the grace period, as on a
 * node (keepalive.sh traps it). A pod's stop TERMs each container's PID 1 alone, as a kubelet does
 * (pod.ts `stop`); its other processes get nothing until PID 1 ends or the grace period does. In the view itself /proc is an empty read-only dir (only a namespace's own
 * proc is mounted over it). The runtime's process table (procs.ts) still works from the host, which sees
 * every pid: process groups, the ownership token, TERM then KILL. The unshare parent stays outside the
 * namespace and waits (it blocks TERM and INT and reports PID 1's exit; `--kill-child` takes PID 1 along
 * should it be killed). Where a PID namespace cannot be made (the probe's second trial fails, or
 * `KODAMA_TEST_PIDNS=host`) containers share the host's, with the host's /proc in the view, as before.
 *
 * Mode "paths" (anything else, or `KODAMA_TEST_PODFS=paths`): the fallback in pathmap.ts — pod paths are
 * rewritten in argv, `sh -c` scripts and env values only.
 */
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import type { ProcessTable } from "./procs.ts";

export type PodFsMode = "namespace" | "paths";

export interface PodFsInfo {
  mode: PodFsMode;
  /** namespace mode as a non-root user: a user namespace maps the caller to root */
  userns: boolean;
  /** namespace mode: each container's processes have a PID namespace (and a /proc) of their own */
  pidns: boolean;
  /** why containers share the host's PID namespace (namespace mode without pidns) */
  pidWhy?: string;
  /** why namespaces are not used (paths mode) */
  why?: string;
}

/** POSIX shell quoting for the stand-in's own scripts: its own, so kodama's quoting never vouches for itself. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const TOOLS = ["unshare", "nsenter", "mount", "chroot", "sleep", "env"] as const;
type Tools = Record<(typeof TOOLS)[number], string>;

function which(cmd: string): string | undefined {
  for (const d of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    const f = path.join(d, cmd);
    try {
      if ((fs.statSync(f).mode & 0o111) !== 0) return f;
    } catch { /* next */ }
  }
  return undefined;
}

let cached: { info: PodFsInfo; tools?: Tools } | undefined;

/** Host dirs every container sees read-only at the same path. */
const HOST_DIRS = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/**
 * npm packages a host may have installed globally (CI installs the real agent CLIs) that a pod image has
 * only when it is built with them (images.ts `agents`): hidden in every other container, so "claude is not
 * in the image" holds whatever the machine has. Their
 * commands' links in /usr/bin or /usr/local/bin then point at nothing, as in an image without them.
 */
export const HIDDEN_GLOBAL_PACKAGES = ["@anthropic-ai/claude-code", "@openai/codex"];
/** Where npm puts global packages (prefix /usr or /usr/local), both under the /usr pods see. */
const GLOBAL_NODE_MODULES = ["/usr/lib/node_modules", "/usr/local/lib/node_modules"];

/** The host's global installs of HIDDEN_GLOBAL_PACKAGES (real paths). */
export function hiddenGlobals(): string[] {
  const out: string[] = [];
  for (const root of GLOBAL_NODE_MODULES) {
    for (const pkg of HIDDEN_GLOBAL_PACKAGES) {
      const p = path.join(root, pkg);
      if (fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) out.push(fs.realpathSync(p));
    }
  }
  return out;
}

/** Which mode this machine gives pods (probed once: a real namespace is made and entered). */
export function podFsInfo(): PodFsInfo {
  return probe().info;
}

function probe(): { info: PodFsInfo; tools?: Tools } {
  if (cached) return cached;
  const forced = Deno.env.get("KODAMA_TEST_PODFS");
  const uid = typeof Deno.uid === "function" ? Deno.uid() : null;
  const paths = (why: string) => (cached = { info: { mode: "paths", userns: false, pidns: false, why } });
  if (forced === "paths") return paths("KODAMA_TEST_PODFS=paths");
  if (Deno.build.os !== "linux") return paths(`no Linux namespaces on ${Deno.build.os}`);
  const tools: Partial<Tools> = {};
  for (const t of TOOLS) {
    const f = which(t);
    if (!f) return paths(`${t} (util-linux/coreutils) not found`);
    tools[t] = f;
  }
  const userns = uid !== 0;
  // a real trial: make a namespace with a read-only bind mount, a hostname and a chroot, as pods will
  const dir = fs.mkdtempSync(path.join(Deno.env.get("TMPDIR") ?? "/tmp", "kodama-podfs-probe-"));
  try {
    fs.mkdirSync(path.join(dir, "usr"));
    fs.writeFileSync(
      path.join(dir, "fstab"),
      fstab([{ source: "/usr", target: "/usr", readOnly: true }], dir),
    );
    for (const l of ["bin", "lib", "lib64"]) {
      if (fs.lstatSync("/" + l, { throwIfNoEntry: false })?.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync("/" + l), path.join(dir, l));
      }
    }
    const r = spawnSync(tools.unshare!, [
      "--mount",
      "--uts",
      ...(userns ? ["--map-root-user"] : []),
      "--propagation",
      "private",
      "/bin/sh",
      "-c",
      `set -e; ${tools.mount} -a -T "$0/fstab"; ${
        SET_HOSTNAME("kodama-probe")
      }; ${tools.chroot} "$0" /usr/bin/env true`,
      dir,
    ], { stdio: ["ignore", "ignore", "pipe"], timeout: 5000 });
    if (r.status !== 0) {
      const err = (r.stderr?.toString() ?? "").trim().split("\n").pop() || `exit ${r.status}`;
      if (forced === "namespace") throw new Error(`KODAMA_TEST_PODFS=namespace, but: ${err}`);
      return paths(`namespaces unavailable: ${err}`);
    }
    const pid = pidTrial(tools as Tools, dir, userns);
    const info: PodFsInfo = {
      mode: "namespace",
      userns,
      pidns: pid === true,
      ...(pid === true ? {} : { pidWhy: pid }),
    };
    if (pid !== true && forced === "namespace" && Deno.env.get("KODAMA_TEST_PIDNS") !== "host") {
      throw new Error(`KODAMA_TEST_PODFS=namespace, but no PID namespace: ${pid}`);
    }
    cached = { info, tools: tools as Tools };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The second trial: in a view like a container's (an empty read-only /proc), `unshare --pid --fork
 * --mount-proc` makes a PID namespace whose first process sees itself as PID 1 in its /proc. True, or why
 * not. `KODAMA_TEST_PIDNS=host` skips it (containers then share the host's PID namespace, as before).
 */
function pidTrial(tools: Tools, dir: string, userns: boolean): true | string {
  if (Deno.env.get("KODAMA_TEST_PIDNS") === "host") return "KODAMA_TEST_PIDNS=host";
  if (!SETSID) return "setsid (util-linux) not found";
  fs.mkdirSync(path.join(dir, "proc"));
  fs.mkdirSync(path.join(dir, "empty"));
  fs.writeFileSync(
    path.join(dir, "fstab"),
    fstab([
      { source: "/usr", target: "/usr", readOnly: true },
      { source: path.join(dir, "empty"), target: "/proc", readOnly: true },
    ], dir),
  );
  const r = spawnSync(tools.unshare, [
    "--mount",
    ...(userns ? ["--map-root-user"] : []),
    "--propagation",
    "private",
    "/bin/sh",
    "-c",
    `set -e; ${tools.mount} -a -T "$0/fstab"; exec ${tools.chroot} "$0" ${
      INIT_ARGS(tools).join(" ")
    } /usr/bin/readlink /proc/self`,
    dir,
  ], { stdio: ["ignore", "pipe", "pipe"], timeout: 5000 });
  if (r.status === 0 && r.stdout?.toString() === "1\n") return true;
  const err = (r.stderr?.toString() ?? "").trim().split("\n").pop();
  return `PID namespaces unavailable: ${
    err || `exit ${r.status}, /proc/self is ${r.stdout?.toString().trim()}`
  }`;
}

/**
 * How a main process starts inside its view: PID 1 of a new PID namespace, in a copy of the view's mount
 * namespace with that namespace's /proc (the view is chrooted, so its root is no mount point whose
 * propagation could be changed: it stays as the holder made it, private).
 */
const INIT_ARGS = (tools: Tools) => [
  tools.unshare,
  "--pid",
  "--fork",
  "--kill-child",
  "--mount-proc",
  "--propagation",
  "unchanged",
  "--",
];

/**
 * A terminal's process (TTY exec, `tty: true` container) in a PID namespace: a shell's job control needs
 * its session leader and the terminal's process group in sight, which the PTY helper's child (outside)
 * is not; so it leads a session of its own in the namespace, with the terminal as its controlling one
 * (the helper, `--no-ctty`, leaves it free: no steal, which a user namespace could not do).
 */
const SETSID = which("setsid");

/** `pid`'s pid in the innermost PID namespace it is in (the last field of NSpid), or undefined. */
function innerPid(pid: number): number | undefined {
  try {
    const m = /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    const ids = m ? m[1].trim().split(/\s+/) : [];
    return ids.length >= 2 ? Number(ids[ids.length - 1]) : undefined;
  } catch {
    return undefined;
  }
}

let listsChildren: boolean | undefined;
/**
 * The kernel lists a process's children (CONFIG_PROC_CHILDREN); otherwise they are found by ppid. Asked
 * when first needed: a process that may not read /proc (the OS matrix's, as macOS) only loads this module.
 */
function listsChildrenOf(): boolean {
  if (listsChildren === undefined) {
    try {
      listsChildren = fs.existsSync(`/proc/${Deno.pid}/task/${Deno.pid}/children`);
    } catch {
      listsChildren = false;
    }
  }
  return listsChildren;
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((x) => x)
      .map(Number);
  } catch {
    return [];
  }
}

/** Every process's children, from each /proc/PID/stat's ppid. */
function byParent(): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const n of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${n}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.set(ppid, [...(out.get(ppid) ?? []), Number(n)]);
    } catch { /* gone */ }
  }
  return out;
}

/**
 * The host pid of the PID 1 that `unshare --pid --fork` started below `root` (the main process's spawned
 * pid: the unshare parent, or the PTY helper whose child it is), or undefined while there is none.
 */
export function initBelow(root: number): number | undefined {
  const all = listsChildrenOf() ? undefined : byParent();
  const kids = (p: number) => all ? all.get(p) ?? [] : childrenOf(p);
  let level = [root];
  for (let depth = 0; depth < 4 && level.length; depth++) {
    const next: number[] = [];
    for (const p of level) {
      if (depth > 0 && innerPid(p) === 1) return p;
      next.push(...kids(p));
    }
    level = next;
  }
  return undefined;
}

/**
 * The holder's mounts as an fstab for one `mount --all --fstab` (in order: parents before children): one
 * process where a `mount` per bind and another per read-only remount made two per bind (33,600 `mount`
 * processes in a test run). libmount binds and then remounts an entry with "bind,ro" read-only, as
 * `mount -o remount,bind,ro` did; fstab fields escape blanks and backslashes as octal.
 */
export function fstab(mounts: ViewMount[], root: string): string {
  const field = (s: string) =>
    s.replace(/[\\ \t\n]/g, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0"));
  return mounts.map((m) => {
    // a recursive read-only bind is remounted read-only on its own (its submounts may refuse it)
    const opts = [m.recursive ? "rbind" : "bind", ...(m.readOnly && !m.recursive ? ["ro"] : [])];
    return `${field(m.source)} ${field(path.posix.join(root, m.target))} none ${opts.join(",")} 0 0\n`;
  }).join("");
}

/** Set the UTS namespace's hostname with the shell alone (no `hostname` process per container). */
const SET_HOSTNAME = (name: string) => `printf '%s' ${shellQuote(name)} > /proc/sys/kernel/hostname`;

/** One mount of a container view: `source` (host path) appears at `target` (absolute pod path). */
export interface ViewMount {
  target: string;
  source: string;
  readOnly?: boolean;
  /** recursive bind (/dev, /proc) */
  recursive?: boolean;
}

/** A host command line that runs a process in a container's view (ContainerView.command). */
export interface ViewCommand {
  file: string;
  args: string[];
  cwd: string;
  /** with a TTY: the command makes the terminal its controlling one itself (Proc `ownCtty`) */
  ownCtty?: boolean;
}

/** Where the test server's own command dirs appear in a namespaced pod. */
export const VIEW_BIN = "/.kodama/bin";
export const VIEW_SHARED_BIN = "/.kodama/shared-bin";
export const VIEW_BUSYBOX = "/.kodama/busybox";
/** A Debian image's PATH (the default of kodama-dev and node images). */
export const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * A container's filesystem view in namespace mode: the holder process that owns the mount namespace and
 * the way every process of the container enters it.
 */
export class ContainerView {
  private holder?: { pid: number; done: Promise<void> };
  /** host dirs given as a dir of links, since a volume is mounted inside them */
  private readonly farmed: string[] = [];
  private starting?: Promise<void>;
  readonly mounts: ViewMount[];
  /** host paths hidden by an empty dir (HIDDEN_GLOBAL_PACKAGES) */
  private readonly hidden: string[];
  /** each run of the main process is PID 1 of its own PID namespace (podFsInfo().pidns) */
  readonly pidns: boolean;
  /** pidns: the host pid of the running main process (PID 1 of its namespace), which execs join */
  init?: number;

  constructor(
    readonly rootfs: string,
    volumeMounts: ViewMount[],
    readonly hostname: string,
    extra: ViewMount[],
    /** the image ships the agent CLIs: the host's global installs of them are not hidden */
    agents = false,
  ) {
    const host: ViewMount[] = [];
    for (const d of HOST_DIRS) {
      const st = fs.lstatSync(d, { throwIfNoEntry: false });
      if (!st || st.isSymbolicLink() || !st.isDirectory()) continue;
      if (volumeMounts.some((m) => m.target.startsWith(d + "/"))) {
        // a volume inside it (/etc/kodama/editor): the dir is the container's own, its entries link to
        // the host's (read-only at /.kodama/host/etc), as an image layer plus a mount point would be
        this.farmed.push(d);
        host.push({ target: `/.kodama/host${d}`, source: d, readOnly: true });
      } else host.push({ target: d, source: d, readOnly: true });
    }
    // the host's global agent CLIs: an empty dir over each (the image does not have them)
    this.hidden = agents ? [] : hiddenGlobals();
    for (const h of this.hidden) {
      host.push({ target: h, source: path.join(rootfs, "..", ".hidden"), readOnly: true });
    }
    host.push({ target: "/dev", source: "/dev", recursive: true });
    // with PID namespaces the view's /proc is an empty dir each main process mounts its own proc over
    this.pidns = probe().info.pidns;
    if (this.pidns) {
      host.push({ target: "/proc", source: path.join(rootfs, "..", ".noproc"), readOnly: true });
    } else host.push({ target: "/proc", source: "/proc", recursive: true });
    host.push({ target: "/sys", source: "/sys", recursive: true, readOnly: true });
    // parents before children, so a volume at /etc/foo lands on top of the host's /etc
    this.mounts = [...host, ...extra, ...volumeMounts];
  }

  /** The host path behind an absolute pod path (to resolve executables before spawning). */
  hostPath(p: string): string {
    p = path.posix.normalize(p);
    let best: ViewMount | undefined;
    for (const m of this.mounts) {
      if (
        (p === m.target || p.startsWith(m.target + "/")) && (!best || m.target.length > best.target.length)
      ) {
        best = m;
      }
    }
    if (best) return best.source + p.slice(best.target.length);
    // symlinked top-level dirs of the host (/bin -> usr/bin) are mirrored in the root
    const top = "/" + p.split("/")[1];
    const lt = fs.lstatSync(top, { throwIfNoEntry: false });
    if (lt?.isSymbolicLink() && HOST_DIRS.includes(top)) return p;
    return path.join(this.rootfs, p);
  }

  /** Resolve a command as execvp would inside the view; returns the pod path, or undefined. */
  resolve(cmd: string, envPath: string, cwd: string): string | undefined {
    const ok = (podPath: string) => {
      const host = this.hostPath(podPath);
      const st = fs.statSync(host, { throwIfNoEntry: false });
      if (!st || !st.isFile() || (st.mode & 0o111) === 0) return false;
      // a link into a hidden package points at nothing inside the view
      if (!this.hidden.length) return true;
      const real = fs.realpathSync(host);
      return !this.hidden.some((h) => real.startsWith(h + "/"));
    };
    if (cmd.includes("/")) {
      const p = path.posix.resolve(cwd, cmd);
      return ok(p) ? p : undefined;
    }
    for (const d of envPath.split(":")) {
      if (!d.startsWith("/")) continue;
      const p = path.posix.join(d, cmd);
      if (ok(p)) return p;
    }
    return undefined;
  }

  /** Make the root dir and mount points, start the holder; resolves once the view is ready. */
  start(table: ProcessTable): Promise<void> {
    if (this.holder) return Promise.resolve();
    this.starting ??= this.startHolder(table).finally(() => (this.starting = undefined));
    return this.starting;
  }

  get running(): boolean {
    return !!this.holder;
  }

  /** Process groups of the holder (stopped with the pod). */
  groups(): number[] {
    return this.holder ? [this.holder.pid] : [];
  }

  private prepareRoot(): void {
    const r = this.rootfs;
    fs.mkdirSync(r, { recursive: true, mode: 0o755 });
    for (const d of HOST_DIRS) {
      const st = fs.lstatSync(d, { throwIfNoEntry: false });
      const at = path.join(r, d);
      if (st?.isSymbolicLink() && !fs.lstatSync(at, { throwIfNoEntry: false })) {
        fs.symlinkSync(fs.readlinkSync(d), at);
      }
    }
    for (const d of ["root", "home", "var/tmp", "run", "opt", "srv", "mnt"]) {
      fs.mkdirSync(path.join(r, d), { recursive: true });
    }
    for (const d of ["tmp", "var/tmp"]) {
      fs.mkdirSync(path.join(r, d), { recursive: true });
      fs.chmodSync(path.join(r, d), 0o1777);
    }
    fs.chmodSync(path.join(r, "root"), 0o700);
    const targets = this.mounts.map((m) => m.target);
    // a link per host entry: what is there already is read once, not found by a failed lstat per entry
    // (each builds an error: with /etc's entries for every container of eight pods started at once, that
    // blocked the server's loop for seconds)
    const farm = (hostDir: string) => {
      const at = path.join(r, hostDir);
      fs.mkdirSync(at, { recursive: true });
      const have = new Set(fs.readdirSync(at));
      for (const e of fs.readdirSync(hostDir, { withFileTypes: true })) {
        const h = path.posix.join(hostDir, e.name);
        if (have.has(e.name)) continue;
        if (targets.includes(h)) continue; // the mount point itself
        const inside = targets.some((t) => t.startsWith(h + "/"));
        if (inside && e.isDirectory()) farm(h);
        else Deno.symlinkSync(`/.kodama/host${h}`, path.join(at, e.name));
      }
    };
    for (const d of this.farmed) if (!fs.lstatSync(path.join(r, d), { throwIfNoEntry: false })) farm(d);
    for (const m of this.mounts) {
      const at = path.join(r, m.target);
      let isFile = false;
      try {
        isFile = fs.statSync(m.source).isFile();
      } catch { /* made below */ }
      if (!isFile) fs.mkdirSync(m.source, { recursive: true });
      if (fs.lstatSync(at, { throwIfNoEntry: false })) continue;
      fs.mkdirSync(path.dirname(at), { recursive: true });
      if (isFile) fs.writeFileSync(at, "");
      else fs.mkdirSync(at, { recursive: true });
    }
  }

  private async startHolder(table: ProcessTable): Promise<void> {
    const { info, tools } = probe();
    if (info.mode !== "namespace" || !tools) throw new Error("pod namespaces are not available here");
    this.prepareRoot();
    const q = shellQuote;
    const table_ = `${this.rootfs}.fstab`;
    fs.writeFileSync(table_, fstab(this.mounts, this.rootfs));
    const lines = ["set -e", `R=${q(this.rootfs)}`, `${tools.mount} --all --fstab ${q(table_)}`];
    for (const m of this.mounts.filter((m) => m.recursive && m.readOnly)) {
      lines.push(`${tools.mount} -o remount,bind,ro "$R"${q(m.target)} 2>/dev/null || true`);
    }
    lines.push(SET_HOSTNAME(this.hostname));
    // "ready" comes from inside the chroot: nsenter --root takes the holder's root, so it must be the view
    lines.push(
      `exec ${tools.chroot} "$R" /bin/sh -c 'echo ready; exec sleep infinity </dev/null >/dev/null 2>&1'`,
    );
    const child = table.spawn(tools.unshare, [
      "--mount",
      "--uts",
      ...(info.userns ? ["--map-root-user"] : []),
      "--propagation",
      "private",
      "/bin/sh",
      "-c",
      lines.join("\n"),
    ], { cwd: "/", env: { PATH: IMAGE_PATH }, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr?.on("data", (d) => (err += String(d)));
    const done = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d) => {
        out += String(d);
        if (out.includes("ready\n")) resolve();
      });
      child.on("error", reject);
      child.on(
        "exit",
        (code) =>
          reject(
            new Error(
              `pod filesystem setup failed (exit ${code}): ${
                err.trim().split("\n").find((l) => l.trim()) ?? ""
              }`,
            ),
          ),
      );
    });
    const pid = child.pid!;
    table.infra.add(pid);
    this.holder = { pid, done };
    done.then(() => {
      this.holder = undefined;
      table.infra.delete(pid);
    });
  }

  /**
   * The host command that runs `file args` (pod paths) in the view, in pod directory `cwd`: the container's
   * main process (`main`: PID 1 of a new PID namespace, with pidns) or a process of the running main
   * process's namespaces (exec, probe).
   */
  command(
    file: string,
    args: string[],
    cwd: string,
    o: { main?: boolean; tty?: boolean } = {},
  ): ViewCommand {
    const { info, tools } = probe();
    if (!this.holder || !tools) throw new Error("the container's filesystem view is not running");
    const user = info.userns ? ["--user", "--preserve-credentials"] : [];
    const ownCtty = !!o.tty && this.pidns && !!SETSID;
    const run = [...(ownCtty ? [SETSID!, "--ctty"] : []), "/usr/bin/env", "-C", cwd, file, ...args];
    const main = o.main;
    if (!this.pidns) {
      return {
        file: tools.nsenter,
        args: ["-t", String(this.holder.pid), ...user, "--mount", "--uts", "--root", "--", ...run],
        cwd: "/",
      };
    }
    if (main) {
      return {
        file: tools.nsenter,
        args: [
          "-t",
          String(this.holder.pid),
          ...user,
          "--mount",
          "--uts",
          "--root",
          "--",
          ...INIT_ARGS(tools),
          ...run,
        ],
        cwd: "/",
        ownCtty,
      };
    }
    if (!this.init) throw new Error("container is not running");
    return {
      file: tools.nsenter,
      args: ["-t", String(this.init), ...user, "--mount", "--uts", "--pid", "--root", "--", ...run],
      cwd: "/",
      ownCtty,
    };
  }

  /**
   * pidns: wait for the main process just spawned (host pid `root`) to be PID 1 of its namespace and note
   * its host pid for execs; resolves at once without pidns, or undefined if `root` ends first.
   */
  async awaitInit(root: number, ended: () => boolean): Promise<number | undefined> {
    this.init = undefined;
    if (!this.pidns) return undefined;
    for (let i = 0; i < 2000 && !ended(); i++) {
      const init = initBelow(root);
      if (init) return (this.init = init);
      await new Promise((r) => setTimeout(r, i < 20 ? 2 : 10));
    }
    return undefined;
  }
}
