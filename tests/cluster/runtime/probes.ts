/** Readiness probes (exec, tcpSocket, httpGet) for local pod processes. */
import net from "node:net";
import http from "node:http";
import { spawn } from "node:child_process";
import process from "node:process";
import { SETSID } from "./procs.ts";

export interface ProbeTarget {
  podIP: string;
  // deno-lint-ignore no-explicit-any
  container: Record<string, any>;
  env: Record<string, string>;
  /** the host command for argv run in the container (undefined: not found) */
  command: (argv: string[]) => { file: string; args: string[]; cwd: string } | undefined;
}

// deno-lint-ignore no-explicit-any
function portOf(container: Record<string, any>, port: unknown): number {
  if (typeof port === "number") return port;
  const named = (container.ports ?? []).find((p: { name?: string }) => p.name === port);
  return named ? Number(named.containerPort) : Number(port);
}

/** Run one probe; resolves true on success. */
// deno-lint-ignore no-explicit-any
export function runProbe(probe: Record<string, any>, t: ProbeTarget): Promise<boolean> {
  const timeoutMs = Math.max(1, Number(probe.timeoutSeconds ?? 1)) * 1000;
  if (probe.tcpSocket) {
    const port = portOf(t.container, probe.tcpSocket.port);
    return new Promise((resolve) => {
      const s = net.connect({ host: probe.tcpSocket.host || t.podIP, port });
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(timeoutMs, () => done(false));
      s.on("connect", () => done(true));
      s.on("error", () => done(false));
    });
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    return new Promise((resolve) => {
      const req = http.get({
        host: g.host || t.podIP,
        port: portOf(t.container, g.port),
        path: g.path ?? "/",
        timeout: timeoutMs,
        headers: Object.fromEntries(
          (g.httpHeaders ?? []).map((h: { name: string; value: string }) => [h.name, h.value]),
        ),
      }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
    });
  }
  if (probe.exec?.command?.length) {
    const cmd = t.command(probe.exec.command as string[]);
    if (!cmd) return Promise.resolve(false);
    // a group of its own, killed whole at the timeout: in a PID namespace the probe runs in nsenter's child,
    // which a signal to nsenter alone would leave running (as it left a probe's own children before)
    return new Promise((resolve) => {
      const o = { cwd: cmd.cwd, env: t.env, stdio: "ignore" as const, detached: !SETSID };
      const p = SETSID ? spawn(SETSID, [cmd.file, ...cmd.args], o) : spawn(cmd.file, cmd.args, o);
      const timer = setTimeout(() => {
        try {
          if (p.pid) process.kill(-p.pid, "SIGKILL");
        } catch { /* gone */ }
      }, timeoutMs);
      p.on("error", () => {
        clearTimeout(timer);
        resolve(false);
      });
      p.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
  }
  return Promise.resolve(true);
}

/** A postStart hook's exec, to its end: its exit code and what it wrote (stdout and stderr, as the kubelet keeps). */
export function runHookExec(
  argv: string[],
  t: ProbeTarget,
): Promise<{ code: number; output: string }> {
  const cmd = t.command(argv);
  if (!cmd) {
    return Promise.resolve({ code: 127, output: `exec: "${argv[0]}": executable file not found in $PATH` });
  }
  return new Promise((resolve) => {
    const o = { cwd: cmd.cwd, env: t.env, stdio: ["ignore", "pipe", "pipe"] as ("ignore" | "pipe")[] };
    const p = SETSID ? spawn(SETSID, [cmd.file, ...cmd.args], o) : spawn(cmd.file, cmd.args, o);
    const out: Buffer[] = [];
    p.stdout?.on("data", (d: Buffer) => out.push(d));
    p.stderr?.on("data", (d: Buffer) => out.push(d));
    p.on("error", (e) => resolve({ code: 126, output: String(e.message) }));
    p.on("close", (code) => resolve({ code: code ?? 137, output: Buffer.concat(out).toString() }));
  });
}
