/**
 * Line framing for multi-pod output (exec fan-out, logs): bytes from one pod are cut into whole
 * lines so that lines from different pods never interleave mid-line, then each line gets the pod's
 * prefix (`pod[/container] | `) in a stable colour.
 *
 * Everything here works on bytes (no decoding), so binary output and multi-byte UTF-8 characters
 * split across chunks survive untouched.
 */

import { colorFor } from "../ui/color.ts";

const NL = 0x0a;
const enc = new TextEncoder();

/** Longest line kept in memory before it is cut (bounded memory for output without newlines). */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * Accumulates one stream's chunks and hands back blocks of whole lines.
 * `push` returns the bytes up to and including the last newline seen so far (possibly spanning
 * earlier chunks), or null while no line is complete. `end` returns the trailing partial line
 * with a newline added, or null.
 */
export class LineBuffer {
  #pending: Uint8Array[] = [];
  #pendingLen = 0;
  constructor(private readonly maxLine = MAX_LINE_BYTES) {}

  push(chunk: Uint8Array): Uint8Array | null {
    if (chunk.length === 0) return null;
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      this.#pending.push(chunk);
      this.#pendingLen += chunk.length;
      if (this.#pendingLen >= this.maxLine) return this.end();
      return null;
    }
    let block: Uint8Array;
    if (this.#pendingLen === 0) {
      block = chunk.subarray(0, last + 1);
    } else {
      block = new Uint8Array(this.#pendingLen + last + 1);
      let off = 0;
      for (const p of this.#pending) {
        block.set(p, off);
        off += p.length;
      }
      block.set(chunk.subarray(0, last + 1), off);
      this.#pending = [];
      this.#pendingLen = 0;
    }
    if (last + 1 < chunk.length) {
      const rest = chunk.subarray(last + 1);
      this.#pending.push(rest);
      this.#pendingLen = rest.length;
    }
    return block;
  }

  /** The unterminated rest, newline-terminated; null when nothing is pending. */
  end(): Uint8Array | null {
    if (this.#pendingLen === 0) return null;
    const out = new Uint8Array(this.#pendingLen + 1);
    let off = 0;
    for (const p of this.#pending) {
      out.set(p, off);
      off += p.length;
    }
    out[off] = NL;
    this.#pending = [];
    this.#pendingLen = 0;
    return out;
  }

  get pendingBytes(): number {
    return this.#pendingLen;
  }
}

/** Insert `prefix` before every line of `block` (a block of whole, newline-terminated lines). */
export function prefixLines(block: Uint8Array, prefix: Uint8Array): Uint8Array {
  if (prefix.length === 0) return block;
  let lines = 0;
  for (let i = block.indexOf(NL); i >= 0; i = block.indexOf(NL, i + 1)) lines++;
  const out = new Uint8Array(block.length + lines * prefix.length);
  let src = 0;
  let dst = 0;
  while (src < block.length) {
    let nl = block.indexOf(NL, src);
    if (nl < 0) nl = block.length - 1;
    out.set(prefix, dst);
    dst += prefix.length;
    const line = block.subarray(src, nl + 1);
    out.set(line, dst);
    dst += line.length;
    src = nl + 1;
  }
  return out;
}

export interface PrefixTarget {
  /** the kubeconfig context, when pods come from several clusters */
  context?: string;
  namespace: string;
  pod: string;
  container: string;
}

export interface PrefixOptions {
  /** show `ns/` (e.g. with -A or when pods span namespaces) */
  namespace: boolean;
  /** show `/container` */
  container: boolean;
  /** pad the label to this many characters (aligned columns) */
  width?: number;
  color: boolean;
}

/** The plain label: `[context:][ns/]pod[/container]`. */
export function prefixLabel(t: PrefixTarget, o: Pick<PrefixOptions, "namespace" | "container">): string {
  const ctx = t.context !== undefined ? `${t.context}:` : "";
  return `${ctx}${o.namespace ? `${t.namespace}/` : ""}${t.pod}${o.container ? `/${t.container}` : ""}`;
}

/** The full prefix as text: label (padded, coloured by pod) + ` | `. */
export function formatPrefix(t: PrefixTarget, o: PrefixOptions): string {
  const label = prefixLabel(t, o);
  const padded = o.width && label.length < o.width ? label + " ".repeat(o.width - label.length) : label;
  if (!o.color) return `${padded} | `;
  return `${colorFor(`${t.context ?? ""}/${t.namespace}/${t.pod}`)(padded)} | `;
}

/**
 * Decide what the prefixes show for a set of targets: the namespace when asked (-A) or when the
 * targets span namespaces; the container when the user named one (-c), when the chosen containers
 * differ between pods, or when one pod appears with several containers.
 */
export function prefixShape(
  targets: PrefixTarget[],
  o: { allNamespaces?: boolean; containerGiven?: boolean },
): { namespace: boolean; container: boolean; width: number } {
  const namespaces = new Set(targets.map((t) => t.namespace));
  const containers = new Set(targets.map((t) => t.container));
  const pods = new Set(targets.map((t) => `${t.context ?? ""}/${t.namespace}/${t.pod}`));
  const namespace = !!o.allNamespaces || namespaces.size > 1;
  const container = !!o.containerGiven || containers.size > 1 || pods.size < targets.length;
  let width = 0;
  for (const t of targets) width = Math.max(width, prefixLabel(t, { namespace, container }).length);
  return { namespace, container, width };
}

/** A per-target writer: feed it raw chunks, it writes prefixed whole lines to `write`. */
export class PrefixedWriter {
  readonly #buf: LineBuffer;
  readonly #prefix: Uint8Array;
  constructor(prefix: string, private readonly write: (b: Uint8Array) => void, maxLine?: number) {
    this.#prefix = enc.encode(prefix);
    this.#buf = new LineBuffer(maxLine);
  }
  push(chunk: Uint8Array): void {
    const block = this.#buf.push(chunk);
    if (block) this.write(prefixLines(block, this.#prefix));
  }
  end(): void {
    const rest = this.#buf.end();
    if (rest) this.write(prefixLines(rest, this.#prefix));
  }
}
