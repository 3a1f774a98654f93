/** Readiness probes (exec, tcpSocket, httpGet) for local pod processes. */
import net from "node:net";
import http from "node:http";
import { spawn } from "node:child_process";

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
    return new Promise((resolve) => {
      const p = spawn(cmd.file, cmd.args, { cwd: cmd.cwd, env: t.env, stdio: "ignore", timeout: timeoutMs });
      p.on("error", () => resolve(false));
      p.on("exit", (code) => resolve(code === 0));
    });
  }
  return Promise.resolve(true);
}
