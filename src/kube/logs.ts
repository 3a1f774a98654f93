/**
 * Container logs over plain HTTPS (GET pods/log), streamed as bytes. Shares the per-kubeconfig
 * TLS/auth material with exec (computed once, reused for every stream).
 */
import https from "node:https";
import http from "node:http";
import type { IncomingMessage } from "node:http";
import { readCapped } from "./bounds.ts";
import type { Kube } from "./client.ts";
import { wsTarget } from "./exec.ts";
import { boundDial } from "./transport.ts";
import { isUnreachable, toKodamaError, unreachable } from "./errors.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { quote } from "../base/text/escape.ts";

export interface LogQuery {
  follow?: boolean;
  sinceSeconds?: number;
  /** RFC3339; wins over sinceSeconds */
  sinceTime?: string;
  tailLines?: number;
  timestamps?: boolean;
  previous?: boolean;
}

export function logPath(ns: string, pod: string, container: string, q: LogQuery): string {
  const p = new URLSearchParams();
  p.set("container", container);
  if (q.follow) p.set("follow", "true");
  if (q.sinceTime) p.set("sinceTime", q.sinceTime);
  else if (q.sinceSeconds !== undefined) {
    p.set("sinceSeconds", String(Math.max(1, Math.ceil(q.sinceSeconds))));
  }
  if (q.tailLines !== undefined && q.tailLines >= 0) p.set("tailLines", String(q.tailLines));
  if (q.timestamps) p.set("timestamps", "true");
  if (q.previous) p.set("previous", "true");
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}/log?${p}`;
}

/**
 * Stream one container's log; `onData` gets raw chunks (return a Promise to apply backpressure).
 * Resolves when the server ends the stream (EOF) or `signal` aborts; rejects with a KodamaError
 * when the request is refused (403 -> 4, 404 -> 3, 400 "waiting to start" -> 1).
 */
export async function streamLog(
  kube: Kube,
  ns: string,
  pod: string,
  container: string,
  q: LogQuery,
  onData: (chunk: Uint8Array) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<"eof" | "aborted"> {
  const what = { verb: "get", resource: "pods/log", namespace: ns, name: pod };
  if (signal?.aborted) return "aborted";
  let target;
  try {
    target = await wsTarget(kube.kc);
  } catch (e) {
    throw toKodamaError(e, what, kube);
  }
  const url = new URL(target.server + logPath(ns, pod, container, q));
  const mod = url.protocol === "http:" ? http : https;
  const o = target.options as Record<string, unknown>;
  return await new Promise((resolve, reject) => {
    let settled = false;
    const timer: { silent?: ReturnType<typeof setTimeout> } = {};
    const settle = (f: () => void) => {
      clearTimeout(timer.silent);
      if (!settled) {
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        f();
      }
    };
    const req = mod.request(url, {
      method: "GET",
      headers: { ...(o.headers as Record<string, string> | undefined), Accept: "*/*" },
      ca: o.ca as string | undefined,
      cert: o.cert as string | undefined,
      key: o.key as string | undefined,
      rejectUnauthorized: o.rejectUnauthorized as boolean | undefined,
      servername: o.servername as string | undefined,
      agent: o.agent as https.Agent | undefined,
      auth: o.auth as string | undefined,
    }, (res: IncomingMessage) => {
      clearTimeout(timer.silent);
      kube.reach.reached();
      if ((res.statusCode ?? 500) >= 300) {
        // bounded (bounds.ts): a refusal whose body never ends is cut, and reported with what came
        readCapped(res).then((body) =>
          settle(() => reject(logError(res.statusCode ?? 500, body, what, kube, container)))
        );
        return;
      }
      res.on("data", (d: Uint8Array) => {
        const r = onData(d);
        if (r && typeof (r as Promise<void>).then === "function") {
          res.pause();
          (r as Promise<void>).then(() => res.resume(), () => res.resume());
        }
      });
      res.on("end", () => settle(() => resolve("eof")));
      res.on("close", () => settle(() => resolve(signal?.aborted ? "aborted" : "eof")));
      res.on("error", () => settle(() => resolve(signal?.aborted ? "aborted" : "eof")));
    });
    const onAbort = () => {
      req.destroy();
      settle(() => resolve("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    // --request-timeout: until the stream answers. Not by default: a kubelet sends a log stream's headers
    // with its first bytes, so a quiet container's `logs -f` would be cut (the pod lookup before it is bounded)
    // no answer in time is a server that cannot be reached: `logs -f` retries it until --reconnect-timeout
    const noAnswer = (within?: number) =>
      req.destroy(unreachable(kube.timeoutError(what, "GET", url, within)));
    if (kube.requestTimeoutMs) timer.silent = setTimeout(noAnswer, kube.requestTimeoutMs);
    else {
      // without it, the dial and the TLS handshake are bounded all the same (the answer itself is not);
      // a retry while the server is down, by what is left of --reconnect-timeout
      const dial = kube.dialBoundMs();
      boundDial(req, dial, () => noAnswer(dial));
    }
    req.on("error", (e) =>
      settle(() => {
        if (signal?.aborted) return resolve("aborted");
        const ke = toKodamaError(e, what, kube);
        if (isUnreachable(ke)) kube.noteUnreachable(ke);
        reject(ke);
      }));
    req.end();
  });
}

function logError(
  status: number,
  body: string,
  what: { verb: string; resource: string; namespace: string; name: string },
  kube: Kube,
  container: string,
): KodamaError {
  if (status === 400) {
    let msg = body.trim();
    try {
      msg = JSON.parse(body).message ?? msg;
    } catch { /* plain text */ }
    if (/not found|not valid/i.test(msg) && msg.includes(container)) {
      return new KodamaError(
        `container ${quote(container)} not found in pod ${what.name}: ${msg}`,
        ExitCode.NOT_FOUND,
      );
    }
    return new KodamaError(`logs of ${what.name}/${container}: ${msg}`, ExitCode.FAILED);
  }
  return toKodamaError({ statusCode: status, body }, what, kube);
}
