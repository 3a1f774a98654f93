/**
 * `kodama cp`: copy files between the local machine and pods with tar over exec (in-process),
 * like `kubectl cp`. `[ns/]pod:path` names a pod side; the other side is local. With `pods`
 * (--all) one local file or directory is copied into every given pod.
 */
import { escapeControl } from "../base/text/escape.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { stat } from "node:fs/promises";
import { basename, dirname, join, posix, resolve } from "node:path";
import { existsSync } from "node:fs";
import type { KubeObjects, KubePods, KubeStreams } from "../kube/seam.ts";
import { ExitCode, KodamaError, notFound, usageError } from "../base/errors.ts";
import type { Sink } from "../base/sink.ts";
import { chooseContainer, findPods } from "./target.ts";
import { noRunningPods, notRunningError } from "./notrunning.ts";
import { podProblem } from "../kube/podstatus.ts";
import { attachablePod, isTargetType, parseTargetArg, type ResourceRef } from "./resource.ts";
import { extractTo, packPath } from "./tar.ts";
import { formatSummary, type PodResult, tally } from "./summary.ts";
import { podTargets } from "./fanout.ts";
import { concatBytes } from "../base/text/bytes.ts";
import { forEachLimited } from "../base/proc/limit.ts";
import { hostPlatform, type Platform, probeFolding } from "../base/platform.ts";
import { quote } from "../base/text/escape.ts";
import UNTAR from "./pod/untar.sh" with { type: "text" };

/**
 * What a copy needs of the cluster: objects (the pod, a TYPE/NAME side), pods (the one kubectl would pick),
 * and streams (tar over exec). `Kube` is one; so is the in-memory cluster of the tests.
 */
export type CpCluster = KubeObjects & KubePods & KubeStreams;

export type CpSpec =
  | { kind: "local"; path: string }
  | { kind: "pod"; namespace?: string; pod?: string; path: string; resource?: ResourceRef };

/**
 * Parse one side of `kodama cp`. `pod:path` and `ns/pod:path` are pod sides, and so is `TYPE/NAME:path`
 * (`deploy/api:/etc/x`: one pod of it, chosen like kubectl; a TYPE word wins over a namespace of that
 * name); `:path` is a pod side without a pod (for --all); anything starting with `/`, `./`, `../` or `~`,
 * or without a colon, is local. On Windows so is a drive (`C:\x`, `c:x`, `C:/x`), `\`, `.\` and `..\`:
 * `C:\x` is never pod `C`.
 */
export function parseCpSpec(s: string, p: Platform = hostPlatform()): CpSpec {
  if (s === "") throw usageError("empty path in kodama cp");
  const local = p.os === "windows" ? /^([\\/]|\.\.?[\\/]|~|[A-Za-z]:)/ : /^(\/|\.\.?\/|~)/;
  if (local.test(s) || !s.includes(":")) return { kind: "local", path: s };
  const i = s.indexOf(":");
  const left = s.slice(0, i);
  const path = s.slice(i + 1);
  if (left === "") return { kind: "pod", path };
  const parts = left.split("/");
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw usageError(
      `cannot read ${quote(s)} as [namespace/]pod:path`,
      "e.g. prod/api-1:/tmp/x or ./local/file",
    );
  }
  if (path === "") {
    throw usageError(
      `no path after "${left}:"`,
      "e.g. api-1:/tmp/x (relative paths are from the container's working directory)",
    );
  }
  if (parts.length === 2 && isTargetType(parts[0])) {
    const resource = parseTargetArg(left)!;
    return resource.kind === "pod"
      ? { kind: "pod", pod: resource.name, path }
      : { kind: "pod", resource, path };
  }
  return parts.length === 2
    ? { kind: "pod", namespace: parts[0], pod: parts[1], path }
    : { kind: "pod", pod: parts[0], path };
}

/**
 * `--all`'s destination: a path in every matched pod (`/tmp/f` or `:/tmp/f`), or `TYPE/NAME:path` (every pod
 * of a workload). A pod-prefixed one (`load:/tmp/f`, `ns/pod:/tmp/f`) would have its pod dropped without a
 * word: refused, saying what to write instead.
 */
export function allDestination(dst: string, p: Platform = hostPlatform()): string {
  const d = parseCpSpec(dst, p);
  if (d.kind === "pod" && d.pod !== undefined) {
    const where = d.namespace ? `namespace ${d.namespace}, pod ${d.pod}` : `pod ${d.pod}`;
    throw usageError(
      `with --all the destination is a path in every matched pod: ${quote(dst)} names ${where}`,
      `write ${d.path} (the pods come from -m/-l/-n${
        d.namespace ? `; -n ${d.namespace} for that namespace` : ""
      }), or drop --all to copy into ${d.pod} alone: ${dst}`,
    );
  }
  return d.path;
}

export interface CopyOptions {
  container?: string;
  namespace: string;
  /** --all: copy the local source into each of these pods (the destination names only a path) */
  pods?: V1Pod[];
  progress?: boolean;
  signal?: AbortSignal;
  err?: Sink;
  maxParallel?: number;
  /** downloads: why a local path must not be written (tar.ts ExtractOptions.refuse) */
  refuse?: (target: string) => string | undefined;
  /**
   * The local path was checked as this real path (a workflow's confinement): it is used only if it is
   * still real — no component turned into a symlink since (a link planted between check and use).
   */
  resolved?: boolean;
}

/** Refuse a checked local path that now leads somewhere else (CopyOptions.resolved). */
async function stillResolved(path: string): Promise<void> {
  const { realLanding } = await import("../base/fs/realpath.ts");
  if ((await realLanding(path)) !== resolve(path)) {
    throw new KodamaError(
      `${path} changed after it was checked: a part of it is now a symlink`,
      ExitCode.FORBIDDEN,
      "something replaced a directory on the way with a link while the workflow ran; nothing was copied",
    );
  }
}

const dec = new TextDecoder();

function progressBar(err: Sink | undefined, total: number | undefined, label: string) {
  if (!err) return { add: (_n: number) => {}, done: () => {} };
  let sent = 0;
  let last = 0;
  const started = performance.now();
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const draw = (final = false) => {
    const now = performance.now();
    if (sent < 1 << 20 && !(final && last > 0)) return;
    if (!final && now - last < 100) return;
    last = now;
    const rate = sent / Math.max(0.001, (now - started) / 1000);
    let line = `\r${label} ${mb(sent)}`;
    if (total) {
      const pct = Math.min(100, Math.floor((sent / total) * 100));
      const w = 24;
      const fill = Math.round((pct / 100) * w);
      line += ` / ${mb(total)} [${"=".repeat(fill)}${" ".repeat(w - fill)}] ${pct}%`;
    }
    line += ` ${mb(rate)}/s\x1b[K`;
    err.write(line + (final ? "\n" : ""));
  };
  return {
    add(n: number) {
      sent += n;
      draw();
    },
    done() {
      draw(true);
    },
  };
}

/** Local file/dir -> a path in one pod. */
async function toPod(
  kube: CpCluster,
  pod: V1Pod,
  localPath: string,
  remotePath: string,
  o: CopyOptions,
  onBytes?: (n: number) => void,
): Promise<void> {
  const ns = pod.metadata?.namespace ?? o.namespace;
  const name = pod.metadata?.name ?? "?";
  const container = chooseContainer(pod, o.container);
  let dest = remotePath;
  if (dest.endsWith("/")) dest = dest + basename(localPath.replace(/\/+$/, ""));
  const destDir = posix.dirname(dest) || ".";
  const destBase = posix.basename(dest);
  const gen = packPath(localPath, destBase, { onBytes, warn: (m) => o.err?.write(`warning: ${m}\n`) });
  const stdin = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const { value, done } = await gen.next();
      if (done) ctrl.close();
      else if (value.length) ctrl.enqueue(value);
    },
    async cancel() {
      await gen.return(undefined);
    },
  });
  const errParts: Uint8Array[] = [];
  const res = await kube.execIn(ns, name, container, [
    "sh",
    "-c",
    UNTAR,
    "sh",
    destDir,
  ], {
    stdin,
    stdout: () => {},
    stderr: (c) => void errParts.push(c.slice()),
    signal: o.signal,
  });
  if (res.errorKind === "aborted") throw new KodamaError("copy interrupted", ExitCode.INTERRUPTED);
  if (res.error || res.exitCode !== 0) {
    const msg = dec.decode(concatBytes(errParts)).trim().split("\n").slice(-2).join("; ");
    throw new KodamaError(
      `copy into ${name}:${remotePath} failed: ${msg || res.error || `tar exit ${res.exitCode}`}`,
    );
  }
}

/** A path in a pod -> local. */
/** The path itself or its nearest existing parent (where a probe file can be made). */
function existingAncestor(path: string): string {
  let d = path;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

async function fromPod(
  kube: CpCluster,
  pod: V1Pod,
  remotePath: string,
  localPath: string,
  o: CopyOptions,
): Promise<void> {
  const ns = pod.metadata?.namespace ?? o.namespace;
  const name = pod.metadata?.name ?? "?";
  const container = chooseContainer(pod, o.container);
  const clean = remotePath.replace(/\/+$/, "") || "/";
  const srcDir = posix.dirname(clean);
  const srcBase = posix.basename(clean);
  let dest = localPath;
  try {
    if ((await stat(localPath)).isDirectory()) dest = join(localPath, srcBase);
  } catch { /* does not exist: it is the new name */ }
  // names and link targets come from the pod: shown with every control and format character escaped
  const warn = (m: string) => o.err?.write(`warning: ${escapeControl(m)}\n`);
  // a case-insensitive or normalizing disk (APFS, NTFS) would let `foo` overwrite `Foo`
  const platform = hostPlatform();
  const folding = await probeFolding(existingAncestor(dest), platform);
  let refused = 0;
  const parser = extractTo(dest, srcBase, warn, {
    platform,
    folding,
    refuse: o.refuse,
    onRefused: () => refused++,
  });
  const bar = o.progress ? progressBar(o.err, undefined, `${name}:${remotePath}`) : undefined;
  // one awaited write at a time keeps the socket paused while the disk catches up
  const errParts: Uint8Array[] = [];
  let writeErr: unknown;
  const res = await kube.execIn(ns, name, container, ["tar", "cf", "-", "-C", srcDir, srcBase], {
    backpressure: true,
    stdout: async (c) => {
      if (writeErr) return;
      bar?.add(c.length);
      try {
        await parser.push(c);
      } catch (e) {
        writeErr = e;
      }
    },
    stderr: (c) => void errParts.push(c.slice()),
    signal: o.signal,
  });
  await parser.idle();
  bar?.done();
  if (writeErr) throw new KodamaError(`writing ${localPath} failed: ${(writeErr as Error).message}`);
  if (res.errorKind === "aborted") throw new KodamaError("copy interrupted", ExitCode.INTERRUPTED);
  const msg = dec.decode(concatBytes(errParts)).trim();
  if (!res.error && res.exitCode === 0 && !parser.done) {
    throw new KodamaError(`copy from ${name}:${remotePath} ended early: the archive was incomplete`);
  }
  if (refused && !res.error && res.exitCode === 0) {
    throw new KodamaError(
      `copied ${name}:${remotePath}, but ${refused} entr${refused === 1 ? "y was" : "ies were"} not written`,
      ExitCode.FAILED,
      "links that lead out of the destination or into .git, and paths through a link, are never written (warnings above)",
    );
  }
  if (res.error || res.exitCode !== 0) {
    if (/No such file|cannot stat|not found/i.test(msg)) {
      throw notFound(`${name}:${remotePath}: no such file or directory`);
    }
    throw new KodamaError(
      `copy from ${name}:${remotePath} failed: ${
        msg.split("\n").slice(-2).join("; ") || res.error || `tar exit ${res.exitCode}`
      }`,
    );
  }
}

async function localSize(path: string): Promise<number> {
  const { readdir, lstat } = await import("node:fs/promises");
  const st = await lstat(path);
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let n = 0;
  for (const c of await readdir(path)) n += await localSize(`${path}/${c}`);
  return n;
}

/**
 * Copy SRC to DST; exactly one side is a pod (`[ns/]pod:path`). With `o.pods` (--all) the source is
 * local and DST is `path` or `:path` in every pod. Returns a summary for --all (undefined otherwise).
 */
export async function copy(
  kube: CpCluster,
  src: string,
  dst: string,
  o: CopyOptions,
): Promise<{ results: PodResult[] } | undefined> {
  const s = parseCpSpec(src);
  const d = parseCpSpec(dst);
  if (o.pods) {
    if (s.kind !== "local") throw usageError("with --all the source must be a local path");
    const remote = allDestination(dst);
    await stat(s.path).catch(() => {
      throw notFound(`${s.path}: no such file or directory`);
    });
    if (o.resolved) await stillResolved(s.path);
    const pods = o.pods;
    const targets = podTargets(pods, o.namespace, o.container);
    const results: PodResult[] = [];
    await forEachLimited(pods.length, o.maxParallel ?? 16, async (i) => {
      const { containerError, ...base } = targets[i];
      const started = performance.now();
      try {
        if (containerError) throw new Error(containerError);
        await toPod(kube, pods[i], s.path, remote, o);
        results.push({ ...base, exitCode: 0, durationMs: performance.now() - started, status: "ok" });
      } catch (e) {
        results.push({
          ...base,
          exitCode: null,
          durationMs: performance.now() - started,
          status: "error",
          error: (e as Error).message,
        });
      }
    });
    results.sort((a, b) => a.pod.localeCompare(b.pod));
    o.err?.write(formatSummary(tally(results)));
    return { results };
  }
  if (s.kind === "local" && d.kind === "local") {
    throw usageError(
      "one side of kodama cp must be a pod: [namespace/]pod:path",
      "e.g. kodama cp ./app.conf prod/api-1:/etc/app.conf",
    );
  }
  if (s.kind === "pod" && d.kind === "pod") {
    throw usageError("copying between two pods is not supported; copy through a local path");
  }
  const side = s.kind === "pod" ? s : d as Extract<CpSpec, { kind: "pod" }>;
  if (side.resource) {
    // deploy/api:/path — the pod kubectl would pick (findPods resolves the selector)
    const t = { namespace: o.namespace, resource: side.resource, includeNotReady: false };
    const pods = await findPods(kube, t);
    if (!pods.length) throw await noRunningPods(kube, t, { container: o.container, what: "cannot copy" });
    side.pod = attachablePod(pods)!.metadata?.name;
  }
  if (!side.pod) {
    throw usageError(
      `${quote(s.kind === "pod" ? src : dst)} names no pod`,
      "write pod:path, or use --all with targeting flags",
    );
  }
  const pod = await kube.getObject<V1Pod>("pods", side.namespace ?? o.namespace, side.pod);
  // tar runs in the container: it must be running
  if (podProblem(pod, { container: chooseContainer(pod, o.container) })) {
    throw await notRunningError(kube, [pod], { container: o.container, what: "cannot copy" });
  }
  if (o.resolved) await stillResolved(s.kind === "local" ? s.path : (d as { path: string }).path);
  if (s.kind === "local") {
    await stat(s.path).catch(() => {
      throw notFound(`${s.path}: no such file or directory`);
    });
    const total = o.progress ? await localSize(s.path) : 0;
    const bar = o.progress && total > 1 << 20 ? progressBar(o.err, total, `${s.path}`) : undefined;
    await toPod(kube, pod, s.path, side.path, o, bar ? (n) => bar.add(n) : undefined);
    bar?.done();
  } else {
    await fromPod(kube, pod, side.path, (d as { path: string }).path, o);
  }
  return undefined;
}
