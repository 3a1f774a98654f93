/**
 * The Kubernetes WebSocket channel protocols (remotecommand and port-forward framing):
 * every message starts with a channel byte (base64 variants: an ASCII digit and a base64 body).
 *   exec/attach: 0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize; v5 adds 255 = close [255, ch].
 *   port-forward: 2*i data and 2*i+1 error for the i-th requested port.
 */
import { Buffer } from "node:buffer";

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

export const EXEC_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
  "base64.channel.k8s.io",
] as const;

/** What the kubelet serves over SPDY/3.1 (remotecommand: no v5, which exists for WebSockets only). */
export const SPDY_EXEC_PROTOCOLS = [
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
] as const;

/** The WebSocket exec protocols of a server without v5.channel.k8s.io (Kubernetes before 1.30). */
export const EXEC_PROTOCOLS_V4 = EXEC_PROTOCOLS.filter((p) => p !== "v5.channel.k8s.io");

export const SPDY_TUNNEL_PREFIX = "SPDY/3.1+";
export const PORTFORWARD_PROTOCOLS = [
  SPDY_TUNNEL_PREFIX + "portforward.k8s.io",
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
  "portforward.k8s.io",
  "channel.k8s.io",
  "base64.channel.k8s.io",
] as const;

/** Split a Sec-WebSocket-Protocol header (any spacing, repeated headers joined with ","). */
export function parseProtocols(header: string | string[] | undefined): string[] {
  const raw = Array.isArray(header) ? header.join(",") : header ?? "";
  return raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The first protocol the client offers that the server supports (the kubelet's rule), else "". */
export function negotiate(offered: string[], supported: readonly string[]): string {
  for (const p of offered) if (supported.includes(p)) return p;
  return "";
}

export interface Codec {
  protocol: string;
  base64: boolean;
  /** v5: supports the CLOSE signal */
  close: boolean;
  /** v4+: the error channel carries a JSON metav1.Status (else plain text) */
  status: boolean;
}

export function codecFor(protocol: string): Codec {
  const base64 = protocol.includes("base64");
  const v = /^v(\d+)\./.exec(protocol);
  const version = v ? Number(v[1]) : 1;
  return { protocol, base64, close: version >= 5, status: version >= 4 };
}

export function encodeFrame(codec: Codec, channel: number, data: Uint8Array): Buffer | string {
  if (codec.base64) return String.fromCharCode(48 + channel) + Buffer.from(data).toString("base64");
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

export interface Frame {
  channel: number;
  data: Buffer;
}

/** Decode one message; undefined for empty messages. */
export function decodeFrame(codec: Codec, msg: Buffer | string): Frame | undefined {
  if (typeof msg === "string" || codec.base64) {
    const s = typeof msg === "string" ? msg : msg.toString("latin1");
    if (s.length === 0) return undefined;
    const ch = s.charCodeAt(0);
    if (ch === CLOSE) return { channel: CLOSE, data: Buffer.from([s.charCodeAt(1)]) };
    return { channel: ch - 48, data: Buffer.from(s.slice(1), "base64") };
  }
  if (msg.length === 0) return undefined;
  return { channel: msg[0], data: msg.subarray(1) };
}

/** metav1.Status for the error channel of exec/attach (v4+), exactly as the kubelet marshals it. */
export function exitStatus(code: number, argv: string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${
      argv.join(" ")
    }], exit code ${code}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  };
}

/** A failure before the process ran (e.g. executable not found), as the container runtime reports it. */
export function internalErrorStatus(message: string): Record<string, unknown> {
  return {
    metadata: {},
    status: "Failure",
    message: `Internal error occurred: ${message}`,
    reason: "InternalError",
    code: 500,
  };
}

/** The bytes to put on the error channel for a status: JSON for v4+, the plain message for older protocols. */
export function statusPayload(codec: Codec, status: Record<string, unknown>): Buffer | undefined {
  if (codec.status) return Buffer.from(JSON.stringify(status));
  return status.status === "Success" ? undefined : Buffer.from(String(status.message ?? "error"));
}

/** Parse resize messages: one or more JSON objects {"Width":w,"Height":h} (newline separated). */
export function parseResize(data: Buffer): { cols: number; rows: number }[] {
  const out: { cols: number; rows: number }[] = [];
  for (const line of data.toString("utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line);
      const cols = Number(o.Width ?? o.width);
      const rows = Number(o.Height ?? o.height);
      if (cols > 0 && rows > 0) out.push({ cols, rows });
    } catch { /* ignore garbage */ }
  }
  return out;
}

/** 2-byte little-endian port number: the first frame on every port-forward channel. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port, 0);
  return b;
}
