/**
 * How much kodama holds of what an API server sends (#50 class 5): the answer timeout bounds only the wait
 * for the first byte, so a server that keeps sending — an endless list, a watch event without a newline, an
 * error page that never ends — is bounded by size instead, with an error that says so. `kodama mcp` and
 * `kodama ui` run for hours on the same code. Limits are listed in docs/limits.md.
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { formatLimit } from "../base/fs/boundedread.ts";
import type { ApiWhat } from "./errors.ts";

const MiB = 1024 * 1024;

export const KUBE_LIMITS = {
  /** one response body (a list page, an object); also every page of one list together */
  body: 256 * MiB,
  /** an error answer's body (a Status is a few hundred bytes) */
  errorBody: 1 * MiB,
  /** one watch event (one line of the stream; etcd holds objects of at most 1.5 MiB) */
  event: 16 * MiB,
  /**
   * one exec/attach/port-forward WebSocket message: Deno's own WebSocket refuses a bigger frame, and
   * kodama's client (ws_client.ts) and npm:ws's maxPayload are set to the same; a SPDY frame is at most 16 MiB by its 24-bit length
   */
  frame: 64 * MiB,
  /** what a port-forward's error channel gathers */
  errorChannel: 64 * 1024,
} as const;

export type KubeLimit = keyof typeof KUBE_LIMITS;

const NOUN: Record<KubeLimit, string> = {
  body: "a response",
  errorBody: "an error answer",
  event: "a watch event",
  frame: "a stream message",
  errorChannel: "an error message",
};

/** "the API server sent a response over 256 MiB for pods in namespace dev; refusing" (exit 1). */
export function tooLarge(limit: KubeLimit, what?: ApiWhat): KodamaError {
  const on = what
    ? ` for ${what.name ? `${what.resource} ${what.name}` : what.resource}${
      what.namespace ? ` in namespace ${what.namespace}` : ""
    }`
    : "";
  return new KodamaError(
    `the API server sent ${NOUN[limit]} over ${formatLimit(KUBE_LIMITS[limit])}${on}; refusing`,
    ExitCode.FAILED,
    "a server (or a proxy in front of it) that keeps sending is not a Kubernetes API server; limits are in docs/limits.md",
  );
}

/** A running count of bytes against a limit (a list's pages share one). */
export class Budget {
  #left: number;
  constructor(readonly limit: KubeLimit, readonly what?: ApiWhat, max: number = KUBE_LIMITS[limit]) {
    this.#left = max;
  }
  /** Count `n` more bytes; throws tooLarge once over. */
  take(n: number): void {
    this.#left -= n;
    if (this.#left < 0) throw tooLarge(this.limit, this.what);
  }
}

/**
 * Accumulates chunks up to a Budget and joins them: the bounded way to read a whole body. `add` throws
 * once over (the caller then closes the connection).
 */
export class BoundedBody {
  #parts: Uint8Array[] = [];
  #n = 0;
  constructor(readonly budget: Budget) {}
  add(c: Uint8Array): void {
    this.budget.take(c.length);
    this.#parts.push(c);
    this.#n += c.length;
  }
  text(): string {
    if (this.#parts.length === 1) return new TextDecoder().decode(this.#parts[0]);
    const all = new Uint8Array(this.#n);
    let off = 0;
    for (const p of this.#parts) {
      all.set(p, off);
      off += p.length;
    }
    return new TextDecoder().decode(all);
  }
}

/** The little of a node:http response that readCapped uses. */
interface Readable {
  on(ev: "data", fn: (c: Uint8Array) => void): unknown;
  on(ev: "end" | "close", fn: () => void): unknown;
  on(ev: "error", fn: (e: Error) => void): unknown;
  destroy(): unknown;
}

/**
 * An error answer's text (an upgrade refused, a log request refused): at most `max` bytes are kept; past
 * them the response is closed and what came so far is the answer (only its first line is shown anyway).
 */
export function readCapped(res: Readable, max: number = KUBE_LIMITS.errorBody): Promise<string> {
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    let n = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const all = new Uint8Array(Math.min(n, max));
      let off = 0;
      for (const p of parts) {
        const k = Math.min(p.length, all.length - off);
        all.set(p.subarray(0, k), off);
        off += k;
      }
      resolve(new TextDecoder().decode(all));
    };
    res.on("data", (c) => {
      if (done) return;
      parts.push(c);
      n += c.length;
      if (n > max) {
        finish();
        res.destroy();
      }
    });
    res.on("end", finish);
    res.on("close", finish);
    res.on("error", finish);
  });
}
