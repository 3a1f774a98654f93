/**
 * Exec for the in-memory cluster (./memcluster.ts): a command "in a pod" runs on this machine, in a directory
 * that stands for the container's filesystem. Each of the container's volume mounts is a directory of the
 * cluster's state: a PersistentVolumeClaim's by the claim's name (a new pod of the same claims sees the same
 * files, as on a cluster), any other volume's by the pod and volume. The container's `workingDir`, its
 * environment (`value`, the downward API's `metadata.uid/name/namespace`) and the command's arguments
 * (`tar -C /data`, `sh -c UNTAR sh /data`) are given, with any absolute path under a mount moved to where
 * that mount's directory is; a path on no mount is left as it is (the image's own files are not modelled). Pod programs (src/**\/pod/*.sh) use `$HOME`,
 * `$PWD` and the `KODAMA_*` variables, so the real programs run unchanged.
 *
 * What it does not model: the exec wire protocol and its wrapper (./streams/exec.ts and the HTTPS server do),
 * a TTY, the image's own files, users and permissions.
 */
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { ExecResult, ExecStreams } from "../../src/kube/exec.ts";
import { ExitCode, KodamaError } from "../../src/base/errors.ts";
import { quote } from "../../src/base/text/escape.ts";

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_");

/** The container's mounts as [mountPath, local directory], longest path first. */
function mounts(stateDir: string, pod: V1Pod, c: V1Container): [string, string][] {
  const ns = safe(pod.metadata?.namespace ?? "default");
  const out: [string, string][] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = pod.spec?.volumes?.find((v) => v.name === m.name);
    const claim = v?.persistentVolumeClaim?.claimName;
    const base = claim
      ? `${stateDir}/volumes/${ns}/pvc-${safe(claim)}`
      : `${stateDir}/volumes/${ns}/pod-${safe(pod.metadata?.name ?? "?")}-${safe(m.name)}`;
    const dir = m.subPath ? `${base}/${m.subPath}` : base;
    Deno.mkdirSync(dir, { recursive: true });
    out.push([m.mountPath.replace(/\/+$/, "") || "/", dir]);
  }
  return out.sort((a, b) => b[0].length - a[0].length);
}

/** `path` in the container as a local path (under the mount that holds it), or undefined. */
function local(ms: [string, string][], path: string): string | undefined {
  for (const [at, dir] of ms) {
    if (path === at) return dir;
    if (path.startsWith(at + "/")) return dir + path.slice(at.length);
  }
  return undefined;
}

function container(pod: V1Pod, name: string): V1Container {
  const c = pod.spec?.containers.find((c) => c.name === name);
  if (!c) {
    const msg = `container ${name} is not valid for pod ${pod.metadata?.name}`;
    throw new KodamaError(`container ${quote(name)} not found in pod ${pod.metadata?.name}`, 3, msg);
  }
  return c;
}

/** Where `path` of the pod's container is on this machine (the test writes and reads the pod's files there). */
export function podPath(stateDir: string, pod: V1Pod, containerName: string, path: string): string {
  const at = local(mounts(stateDir, pod, container(pod, containerName)), path);
  if (at === undefined) throw new Error(`${path} is on no volume of ${pod.metadata?.name}/${containerName}`);
  return at;
}

function envOf(pod: V1Pod, c: V1Container, ms: [string, string][]): Record<string, string> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  const field: Record<string, string | undefined> = {
    "metadata.uid": pod.metadata?.uid,
    "metadata.name": pod.metadata?.name,
    "metadata.namespace": pod.metadata?.namespace,
  };
  for (const e of c.env ?? []) {
    const v = e.value ?? (e.valueFrom?.fieldRef ? field[e.valueFrom.fieldRef.fieldPath] : undefined);
    if (v !== undefined) env[e.name] = v.startsWith("/") ? local(ms, v) ?? v : v;
  }
  return env;
}

/**
 * Run `command` in the pod's container, as the kubelet would: a pod that is not Running refuses (the
 * message the API server gives, mapped as exec.ts maps it). An aborted command's process is killed.
 */
export async function runInPod(
  stateDir: string,
  pod: V1Pod,
  containerName: string,
  command: string[],
  s: ExecStreams = {},
): Promise<ExecResult> {
  const c = container(pod, containerName);
  const name = pod.metadata?.name;
  if (pod.status?.phase !== "Running") {
    const msg = `unable to upgrade connection: container not running (${containerName})`;
    throw new KodamaError(
      `cannot exec in pod ${name}: ${msg}`,
      ExitCode.FAILED,
      "wait for the pod: kodama wait --for ready",
    );
  }
  if (s.signal?.aborted) {
    return { exitCode: 1, error: "cancelled", errorKind: "aborted", remote: "not started" };
  }
  const ms = mounts(stateDir, pod, c);
  const cwd = c.workingDir ? local(ms, c.workingDir) : undefined;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command[0], {
      args: command.slice(1).map((a) => a.startsWith("/") ? local(ms, a) ?? a : a),
      cwd,
      clearEnv: true,
      env: envOf(pod, c, ms),
      stdin: s.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    // what the runtime says for a command that is not in the image
    const msg = `exec: "${command[0]}": executable file not found in $PATH: ${(e as Error).message}`;
    return { exitCode: 1, error: msg, errorKind: "remote" };
  }
  const onAbort = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
  };
  s.signal?.addEventListener("abort", onAbort, { once: true });
  const pump = async (r: ReadableStream<Uint8Array>, to?: (c: Uint8Array) => void | Promise<void>) => {
    for await (const chunk of r) await to?.(chunk);
  };
  const feed = async () => {
    if (s.stdin === undefined) return;
    const w = child.stdin.getWriter();
    try {
      if (s.stdin instanceof Uint8Array) await w.write(s.stdin);
      else if (s.stdin instanceof ReadableStream) { for await (const chunk of s.stdin) await w.write(chunk); }
      else if (s.stdin) {
        // a reader (exec -i's file or pipe): read as the transports do
        const buf = new Uint8Array(64 * 1024);
        for (let n = await s.stdin.read(buf); n !== null; n = await s.stdin.read(buf)) {
          await w.write(buf.slice(0, n));
        }
      }
      await w.close();
    } catch { /* the command ended without reading it all */ }
  };
  s.onOpen?.("memory");
  const [st] = await Promise.all([
    child.status,
    feed(),
    pump(child.stdout, s.stdout),
    pump(child.stderr, s.stderr),
  ]);
  s.signal?.removeEventListener("abort", onAbort);
  if (s.signal?.aborted) return { exitCode: 1, error: "cancelled", errorKind: "aborted", remote: "ended" };
  return { exitCode: st.code };
}
