/**
 * One pod process (container main process or exec session), with or without a PTY.
 * Binary-safe: stdout/stderr are Buffers; stdin takes Buffers.
 */
import type { ChildProcess } from "node:child_process";
import { Buffer } from "node:buffer";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { ProcessTable } from "./procs.ts";
import { hostPython } from "./python.ts";

const PTY_HELPER = fileURLToPath(new URL("./ptyhelper.py", import.meta.url));
/** the host's python3 (resolved once, so a pod's PATH cannot shadow it) */
const PYTHON = hostPython() ?? "/usr/bin/python3";

export interface ProcOptions {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty?: { cols: number; rows: number };
  /**
   * With `tty`: the command makes the terminal its controlling terminal itself (podns.ts: `setsid --ctty`
   * inside the container's PID namespace), so the PTY helper's child only leads a session.
   */
  ownCtty?: boolean;
  /** the runtime's process table (spawns, owns and kills) */
  table: ProcessTable;
  /** called with every process group created for this process (leader, PTY child session) */
  onGroup?: (pgid: number) => void;
  /**
   * An exec without a TTY, as containerd runs one (pkg/cri/io/exec_io.go, 1.6 and 2.x): the moment the
   * process's stdout or stderr reaches its end, its stdin is closed and what the client still sends is
   * dropped. `sh -c 'cat > f'` (cat's stdout is the file, sh exec'd into it) gets an early end of input.
   */
  stdinEndsWithOutput?: boolean;
}

export interface ProcExit {
  /** exit code; 128+N when killed by signal N */
  code: number;
  signal: string | null;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

export class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly tty: boolean;
  /** group ids to signal: the leader's group plus the PTY child's session */
  readonly groups: number[] = [];
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exited: Promise<ProcExit>;
  private stdinEnded = false;

  constructor(o: ProcOptions) {
    this.tty = !!o.tty;
    if (o.tty) {
      this.child = o.table.spawn(PYTHON, [
        PTY_HELPER,
        ...(o.ownCtty ? ["--no-ctty"] : []),
        String(o.tty.cols),
        String(o.tty.rows),
        o.file,
        ...o.args,
      ], {
        cwd: o.cwd,
        env: o.env,
        stdio: ["pipe", "pipe", "pipe"],
      });
      this.stdout = this.child.stdout;
      this.stderr = null;
      // first stderr line of the helper is "pid N" (the PTY child's own session); the rest is noise.
      let head = "";
      this.child.stderr!.on("data", (d: Buffer) => {
        if (head === null) return;
        head += d.toString();
        const m = /^pid (\d+)\n/.exec(head);
        if (m) {
          const pid = Number(m[1]);
          o.table.track(pid);
          this.groups.push(pid);
          o.onGroup?.(pid);
          head = null as unknown as string;
        }
      });
    } else {
      this.child = o.table.spawn(o.file, o.args, {
        cwd: o.cwd,
        env: o.env,
        stdio: [o.stdin ? "pipe" : "ignore", o.stdout ? "pipe" : "ignore", o.stderr ? "pipe" : "ignore"],
      });
      this.stdout = this.child.stdout;
      this.stderr = this.child.stderr;
      if (o.stdinEndsWithOutput) {
        this.stdout?.once("end", () => this.endInput());
        this.stderr?.once("end", () => this.endInput());
      }
    }
    this.pid = this.child.pid ?? -1;
    if (this.pid > 0) {
      this.groups.unshift(this.pid);
      o.onGroup?.(this.pid);
    }
    this.child.stdin?.on("error", () => {});
    this.exited = new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: string | null) => {
        if (done) return;
        done = true;
        resolve({ code: code ?? (signal ? 128 + (SIGNALS[signal] ?? 1) : 1), signal });
      };
      this.child.on("error", () => finish(127, null));
      // wait for stdio to drain after exit, but not forever (background children may hold pipes)
      this.child.on("exit", (code, signal) => {
        const t = setTimeout(() => finish(code, signal), 1000);
        this.child.on("close", () => {
          clearTimeout(t);
          finish(code, signal);
        });
      });
    });
  }

  /** Write terminal/stdin bytes; returns false when the caller should wait for 'drain'. */
  write(data: Buffer): boolean {
    const stdin = this.child.stdin;
    if (!stdin || this.stdinEnded || stdin.destroyed) return true;
    return stdin.write(this.tty ? frame(0, data) : data);
  }

  onDrain(cb: () => void): void {
    this.child.stdin?.once("drain", cb);
  }

  endInput(): void {
    const stdin = this.child.stdin;
    if (!stdin || this.stdinEnded) return;
    if (this.tty) stdin.write(frame(2, Buffer.alloc(0)));
    else {
      this.stdinEnded = true;
      stdin.end();
    }
  }

  resize(cols: number, rows: number): void {
    if (!this.tty || !this.child.stdin || this.child.stdin.destroyed) return;
    if (!(cols > 0 && rows > 0)) return;
    this.child.stdin.write(frame(1, Buffer.from(`${Math.floor(cols)} ${Math.floor(rows)}`)));
  }
}

function frame(kind: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = kind;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}
