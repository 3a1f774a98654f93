/**
 * An MCP tool as data: its public name, the tier that offers it, annotations true to what it does, the
 * schemas of its arguments (the CLI's long flags in camelCase; unknown arguments are refused) and of its
 * structured result, and `run`, which calls the same feature functions as the CLI and returns data plus a
 * short text. src/mcp/server.ts registers them.
 */
import { z } from "zod";
import type { Call } from "./env.ts";

/** read: changes nothing; write: changes things, never destroys work; destructive: may destroy work. */
export type Tier = "read" | "write" | "destructive";

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface Result<O> {
  data: O;
  text: string;
}

export interface Tool<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  tier: Tier;
  annotations: ToolAnnotations;
  input: I;
  output: O;
  run(args: z.output<z.ZodObject<I>>, call: Call): Promise<Result<z.output<z.ZodObject<O>>>>;
}

/** A tool, typed from its schemas. */
export function tool<I extends z.ZodRawShape, O extends z.ZodRawShape>(t: Tool<I, O>): Tool {
  return t as unknown as Tool;
}

/** Annotations of a tool that only reads the cluster. */
export const READS_CLUSTER: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};

/** The tiers a server started with these flags offers. */
export function tiersFor(o: { readOnly?: boolean; allowDestructive?: boolean }): Tier[] {
  if (o.readOnly) return ["read"];
  return o.allowDestructive ? ["read", "write", "destructive"] : ["read", "write"];
}

// ---------------------------------------------------------------- argument schemas shared by tools

export const contextArg = z.string().min(1).optional().describe(
  "kubeconfig context (default: the server's); a server started with --context only allows those",
);
export const namespaceArg = z.string().min(1).optional().describe("namespace (default: the context's)");

/** Pod targeting, as every pod command of the CLI takes it. */
export const TARGETING = {
  context: contextArg.describe(
    "kubeconfig context (default: the server's); several as a,b or a glob; a server started with --context only allows those",
  ),
  namespace: namespaceArg,
  allNamespaces: z.boolean().optional().describe("look in every namespace"),
  target: z.string().min(1).optional().describe(
    "TYPE/NAME (deploy/api, sts/db, ds/x, rs/x, job/x, svc/web, session/s) or a pod name: its pods",
  ),
  match: z.array(z.string()).optional().describe("pod name contains each of these"),
  regex: z.string().optional().describe("pod name matches this regular expression"),
  selector: z.string().optional().describe("label selector, e.g. app=api,tier!=cache"),
  fieldSelector: z.string().optional().describe("field selector, e.g. status.phase=Running"),
  pod: z.string().optional().describe("exactly this pod name"),
};

export const durationArg = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)(\d+(\.\d+)?(ms|s|m|h))*$/, {
  message: "a duration such as 30s, 5m, 1h",
});

/**
 * The most of a feature function's output a tool keeps (characters): `kodama mcp` runs for hours, and a
 * command in a pod may print without end (docs/limits.md).
 */
export const CAPTURE_LIMIT = 8 * 1024 * 1024;

/**
 * A sink that keeps what a feature function prints (its text becomes the tool's text), at most `limit`
 * characters: past them the rest is counted, not kept, and the text says so at its end.
 */
export function capture(limit = CAPTURE_LIMIT): { write(chunk: Uint8Array | string): void; text(): string } {
  const dec = new TextDecoder();
  let s = "";
  let cut = 0;
  return {
    write(chunk) {
      const t = typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true });
      const room = limit - s.length;
      if (t.length <= room) s += t;
      else {
        s += t.slice(0, Math.max(0, room));
        cut += t.length - Math.max(0, room);
      }
    },
    text: () => cut ? `${s}\n[output cut: ${cut} more characters past the first ${limit}]\n` : s,
  };
}

/** Loose objects: kodama's own JSON shapes (a Session object, a sync status) passed through as they are. */
export const anyObject = z.record(z.string(), z.unknown());
