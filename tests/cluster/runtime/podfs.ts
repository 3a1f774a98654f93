/**
 * Pod file-system layout for the test server's local "containers".
 *
 *   <stateDir>/bin/                     shared bin dir on every pod's PATH (seeded commands, e.g. `weka`)
 *   <stateDir>/pods/<ns>/<name>/        the pod dir (HOME, default cwd)
 *       bin/        per-pod commands (`hostname` prints the pod name)
 *       root/       absolute spec paths are mapped here: /workspace -> root/workspace
 *       volumes/    emptyDir / secret / configMap volume contents
 *       logs/       <container>.<restartCount>.log (CRI-style lines, see logstore.ts)
 */
import fs from "node:fs";
import path from "node:path";
import { Buffer } from "node:buffer";
import type { PodObject, RuntimeHost } from "../contract.ts";
import { mapArg, pathMapFor } from "./pathmap.ts";
import { IMAGE_PATH, shellQuote, VIEW_SHARED_BIN } from "./podns.ts";

export interface PodLayout {
  dir: string;
  bin: string;
  root: string;
  volumes: string;
  logs: string;
  sharedBin: string;
}

export function sharedBinDir(stateDir: string): string {
  return path.join(stateDir, "bin");
}

export function podLayout(stateDir: string, namespace: string, name: string): PodLayout {
  const dir = path.join(stateDir, "pods", namespace, name);
  return {
    dir,
    bin: path.join(dir, "bin"),
    root: path.join(dir, "root"),
    volumes: path.join(dir, "volumes"),
    logs: path.join(dir, "logs"),
    sharedBin: sharedBinDir(stateDir),
  };
}

/** Map an absolute path from the pod spec under the pod root; relative paths are relative to the pod dir. */
export function mapPath(layout: PodLayout, p: string): string {
  if (path.isAbsolute(p)) return path.join(layout.root, p);
  return path.join(layout.dir, p);
}

/** Optional host extension (see RuntimeHost.getObject) used to resolve secrets/configmaps. */
type ObjectGetter = NonNullable<RuntimeHost["getObject"]>;

function getter(host: RuntimeHost): ObjectGetter | undefined {
  return host.getObject?.bind(host);
}

/** Key -> bytes of a Secret (base64 `data` + `stringData`) or ConfigMap (`data` + `binaryData`). */
function objectData(
  host: RuntimeHost,
  kind: "secrets" | "configmaps",
  namespace: string,
  name: string,
): Map<string, Buffer> | undefined {
  const obj = getter(host)?.(kind, namespace, name);
  if (!obj) return undefined;
  const out = new Map<string, Buffer>();
  if (kind === "secrets") {
    for (const [k, v] of Object.entries(obj.data ?? {})) out.set(k, Buffer.from(String(v), "base64"));
    for (const [k, v] of Object.entries(obj.stringData ?? {})) out.set(k, Buffer.from(String(v)));
  } else {
    for (const [k, v] of Object.entries(obj.data ?? {})) out.set(k, Buffer.from(String(v)));
    for (const [k, v] of Object.entries(obj.binaryData ?? {})) out.set(k, Buffer.from(String(v), "base64"));
  }
  return out;
}

/** Create the pod dir (wiping a stale one from an earlier pod of the same name) and its shims. */
export function preparePodDir(layout: PodLayout, pod: PodObject): void {
  const uidFile = path.join(layout.dir, ".uid");
  let old: string | undefined;
  try {
    old = fs.readFileSync(uidFile, "utf8");
  } catch { /* fresh */ }
  if (old !== undefined && old !== pod.metadata.uid) fs.rmSync(layout.dir, { recursive: true, force: true });
  for (const d of [layout.bin, layout.root, layout.volumes, layout.logs, layout.sharedBin]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.writeFileSync(uidFile, pod.metadata.uid);
  const shim = path.join(layout.bin, "hostname");
  fs.writeFileSync(shim, `#!/bin/sh\necho ${shellQuote(pod.metadata.name)}\n`, { mode: 0o755 });
  // a shell in a pod runs on this machine: its prompt names the pod, so it never looks like the host's
  // own shell (bash reads $HOME/.bashrc after /etc/bash.bashrc's host prompt; sh/dash read $ENV, also
  // after the root default "# "; plain text, as dash expands no escapes)
  const rc = `PS1=${shellQuote(`${pod.metadata.name} $ `)}\n`;
  fs.writeFileSync(path.join(layout.dir, ".bashrc"), rc);
  fs.writeFileSync(path.join(layout.dir, ".shrc"), rc);
}

/** One volume mount of a container: the host dir (or file) `source` appears at pod path `mountPath`. */
export interface VolumeSource {
  mountPath: string;
  source: string;
  readOnly: boolean;
}

/** The container's volume mounts with their host sources (secret/configMap contents written out). */
export function volumeSources(
  layout: PodLayout,
  pod: PodObject,
  // deno-lint-ignore no-explicit-any
  container: Record<string, any>,
  host: RuntimeHost,
): VolumeSource[] {
  const ns = pod.metadata.namespace;
  // deno-lint-ignore no-explicit-any
  const volumes = new Map<string, Record<string, any>>();
  for (const v of pod.spec.volumes ?? []) volumes.set(v.name, v);
  const out: VolumeSource[] = [];
  for (const m of container.volumeMounts ?? []) {
    const vol = volumes.get(m.name);
    if (!vol || typeof m.mountPath !== "string") continue;
    let source: string;
    let readOnly = !!m.readOnly;
    if (vol.persistentVolumeClaim?.claimName) {
      source = host.pvcDir(ns, vol.persistentVolumeClaim.claimName);
      readOnly ||= !!vol.persistentVolumeClaim.readOnly;
    } else if (vol.hostPath?.path) {
      source = vol.hostPath.path;
    } else {
      source = path.join(layout.volumes, vol.name);
      // the kubelet mounts Secrets and ConfigMaps read-only
      if (vol.secret || vol.configMap) readOnly = true;
      if (!fs.existsSync(source)) {
        fs.mkdirSync(source, { recursive: true });
        const data = vol.secret?.secretName
          ? objectData(host, "secrets", ns, vol.secret.secretName)
          : vol.configMap?.name
          ? objectData(host, "configmaps", ns, vol.configMap.name)
          : undefined;
        const items: { key: string; path: string }[] | undefined = vol.secret?.items ?? vol.configMap?.items;
        if (data) {
          const entries = items ? items.map((i) => [i.path, data.get(i.key)] as const) : [...data.entries()];
          for (const [rel, bytes] of entries) {
            if (!bytes) continue;
            const f = path.join(source, rel);
            fs.mkdirSync(path.dirname(f), { recursive: true });
            fs.writeFileSync(f, bytes);
          }
        }
      }
    }
    if (m.subPath) source = path.join(source, m.subPath);
    if (!fs.statSync(source, { throwIfNoEntry: false })?.isFile()) fs.mkdirSync(source, { recursive: true });
    out.push({ mountPath: path.posix.normalize(m.mountPath).replace(/(.)\/+$/, "$1"), source, readOnly });
  }
  return out;
}

/** Path mode: materialise the container's mounts under the pod root as symlinks. */
export function mountVolumes(
  layout: PodLayout,
  pod: PodObject,
  // deno-lint-ignore no-explicit-any
  container: Record<string, any>,
  host: RuntimeHost,
): void {
  for (const v of volumeSources(layout, pod, container, host)) {
    const target = mapPath(layout, v.mountPath);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    try {
      fs.lstatSync(target);
      continue; // already mounted (another container, same path)
    } catch { /* not yet */ }
    fs.symlinkSync(v.source, target);
  }
}

/** Working directory of a container: its mapped workingDir (created on demand) or the pod dir. */
// deno-lint-ignore no-explicit-any
export function containerCwd(layout: PodLayout, container: Record<string, any>): string {
  if (!container.workingDir) return layout.dir;
  const dir = mapPath(layout, container.workingDir);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function fieldRef(pod: PodObject, fieldPath: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return String((pod.metadata[m[1]] as Record<string, string> | undefined)?.[m[2]] ?? "");
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "spec.nodeName":
      return pod.spec.nodeName ?? "kodama-node";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.hostIP":
      return "127.0.0.1";
    default:
      return "";
  }
}

/** The container's environment (spec env/envFrom + pod identity + PATH/HOME), like the kubelet builds it. */
export function containerEnv(
  layout: PodLayout,
  pod: PodObject,
  // deno-lint-ignore no-explicit-any
  container: Record<string, any>,
  host: RuntimeHost,
  /** namespace mode: the container sees its own root (podns.ts), so pod paths are real paths */
  view = false,
): Record<string, string> {
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = view
    ? {
      // as a container runtime builds it: the image's PATH and HOME, the pod's identity; no host paths
      PATH: [VIEW_SHARED_BIN, IMAGE_PATH].join(":"),
      HOME: "/root",
      HOSTNAME: pod.metadata.name,
      POD_NAME: pod.metadata.name,
      POD_NAMESPACE: ns,
      POD_IP: pod.status?.podIP ?? "",
      LANG: Deno.env.get("LANG") ?? "C.UTF-8",
      TERM: "xterm",
    }
    : {
      PATH: [layout.bin, layout.sharedBin, Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin"].join(":"),
      HOME: layout.dir,
      HOSTNAME: pod.metadata.name,
      POD_NAME: pod.metadata.name,
      POD_NAMESPACE: ns,
      POD_IP: pod.status?.podIP ?? "",
      LANG: Deno.env.get("LANG") ?? "C.UTF-8",
      TERM: "xterm",
      // interactive shells name the pod in their prompt (see preparePodDir)
      PS1: `${pod.metadata.name} $ `,
      ENV: path.join(layout.dir, ".shrc"),
    };
  for (const src of container.envFrom ?? []) {
    const data = src.secretRef?.name
      ? objectData(host, "secrets", ns, src.secretRef.name)
      : src.configMapRef?.name
      ? objectData(host, "configmaps", ns, src.configMapRef.name)
      : undefined;
    for (const [k, v] of data ?? []) env[(src.prefix ?? "") + k] = v.toString("utf8");
  }
  // a value that is one of the pod's own paths (HOME=/home/x on a mounted volume) names it under the pod root
  const paths = pathMapFor(layout.root, view ? {} : container);
  for (const e of container.env ?? []) {
    if (typeof e?.name !== "string") continue;
    if (e.value !== undefined) env[e.name] = mapArg(paths, expandVars(String(e.value), env));
    else if (e.valueFrom?.fieldRef?.fieldPath) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.secretKeyRef) {
      const r = e.valueFrom.secretKeyRef;
      const v = objectData(host, "secrets", ns, r.name)?.get(r.key);
      if (v) env[e.name] = v.toString("utf8");
    } else if (e.valueFrom?.configMapKeyRef) {
      const r = e.valueFrom.configMapKeyRef;
      const v = objectData(host, "configmaps", ns, r.name)?.get(r.key);
      if (v) env[e.name] = v.toString("utf8");
    } else env[e.name] = "";
  }
  return env;
}

/** Kubernetes `$(VAR)` expansion in env values, command and args (`$$` escapes). */
export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name) => {
    if (all === "$$") return "$";
    return name in env ? env[name] : all;
  });
}

function isExecutableFile(file: string): boolean {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return !!st && st.isFile() && (st.mode & 0o111) !== 0;
}

/** Earlier PATH lookups that found something (checked again with one stat before use). */
const found = new Map<string, string>();

/** Resolve a command like execvp would, against the pod's PATH. undefined = not found / not executable. */
export function resolveExecutable(cmd: string, envPath: string, cwd: string): string | undefined {
  if (cmd.includes("/")) {
    const file = path.resolve(cwd, cmd);
    return isExecutableFile(file) ? file : undefined;
  }
  // A cached hit is only valid if no earlier PATH entry gained the command since; that is rare in a
  // test and a stale answer still runs the same program, so one stat of the hit is enough.
  const key = `${envPath}\0${cmd}`;
  const hit = found.get(key);
  if (hit && isExecutableFile(hit)) return hit;
  for (const d of envPath.split(":")) {
    if (!d) continue;
    const file = path.join(d, cmd);
    if (isExecutableFile(file)) {
      if (found.size > 4096) found.clear();
      found.set(key, file);
      return file;
    }
  }
  found.delete(key);
  return undefined;
}
