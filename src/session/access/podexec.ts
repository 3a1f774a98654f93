/**
 * Commands in a session's container over exec, captured: what start (init), clone, fetch and the agent
 * runs above the session all use. The session's pod only when it is running.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeIdentity, KubeObjects, KubeStreams } from "../../kube/seam.ts";
import { concatBytes } from "../../base/text/bytes.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { notAttachable } from "./attach.ts";
import { requireSession } from "../state/cluster.ts";
import { CONTAINER } from "../spec/spec.ts";

const dec = new TextDecoder();

/** The session's pod, when it is running (else the error that says what to do). */
export async function runningPod(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
): Promise<V1Pod> {
  const v = await requireSession(kube, namespace, name);
  const why = notAttachable(v);
  if (why) throw why;
  return v.pod!;
}

/**
 * The session's pod once it runs: while the cluster brings it back (its Job replacing it, issue 80) it is
 * waited for, looking every 2 s, until `signal` (then undefined). Any other reason it cannot run is its error.
 */
export async function runningPodOnceBack(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<V1Pod | undefined> {
  while (!signal.aborted) {
    const v = await requireSession(kube, namespace, name);
    const why = notAttachable(v);
    if (!why) return v.pod!;
    if (!v.restart) throw why;
    await new Promise<void>((r) => {
      const t = setTimeout(done, 2000);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        r();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
  return undefined;
}

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command in the session container; stdout captured, stderr captured and optionally shown. */
export async function execCapture(
  kube: KubeStreams,
  pod: V1Pod,
  argv: string[],
  o: { stdin?: Uint8Array; err?: Sink; out?: Sink; signal?: AbortSignal } = {},
): Promise<Captured> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const ns = pod.metadata?.namespace ?? kube.namespace;
  const name = pod.metadata?.name ?? "?";
  const res = await kube.execIn(ns, name, CONTAINER, argv, {
    stdin: o.stdin,
    stdout: (c) => {
      if (o.out) o.out.write(c);
      else out.push(c);
    },
    stderr: (c) => {
      err.push(c);
      o.err?.write(c);
    },
    signal: o.signal,
  });
  if (res.errorKind === "aborted") throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
  if (res.error && res.errorKind !== undefined && res.errorKind !== "remote") {
    throw new KodamaError(`exec in pod ${name} (namespace ${ns}): ${res.error}`, ExitCode.FAILED);
  }
  const join = (parts: Uint8Array[]) => dec.decode(concatBytes(parts));
  return { code: res.exitCode, stdout: join(out), stderr: join(err) };
}
