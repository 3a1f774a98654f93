/**
 * `kodama mcp`: an MCP server over stdio on the official SDK. It offers the tools of the tiers it was
 * started with, validates arguments by schema (unknown ones refused), runs each call with the server's
 * deadline, the client's cancellation and progress, and returns structured content plus a short text.
 * Every string leaving it goes through redact (Secret values of the pods it touched, the kubeconfig's
 * credentials). Nothing is written to stdout but the protocol.
 */
import { z } from "zod";
import { formatError, KodamaError } from "../base/errors.ts";
import { redact } from "../base/redact.ts";
import { formatDuration } from "../base/duration.ts";
import { VERSION } from "../base/version.ts";
import type { Call, McpEnv } from "./env.ts";
import type { Tier, Tool } from "./tool.ts";

export const INSTRUCTIONS =
  "kodama: pods (list, exec in one or many pods in parallel, logs), coding-agent sessions in pods (start, " +
  "status, agent runs, fetch the work back as a local branch) and the user's trusted workflows, on the " +
  "user's Kubernetes clusters. Arguments are kodama's long flags in camelCase; `command` is an argv array. " +
  "Workflows run only once the user has trusted them; no argument can grant trust.";

/** Every string in a value, redacted. */
export function redactDeep<T>(v: T): T {
  if (typeof v === "string") return redact(v) as T;
  if (Array.isArray(v)) return v.map(redactDeep) as T;
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x)])) as T;
  }
  return v;
}

/** A tool error as the agent reads it: kodama's message and hint, and the CLI's exit code. */
export function errorText(e: unknown): string {
  const code = e instanceof KodamaError ? ` (exit ${e.code})` : "";
  const [first, ...rest] = formatError(e).split("\n");
  return redact([`error: ${first}${code}`, ...rest].join("\n"));
}

interface Extra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (
    n: { method: "notifications/progress"; params: Record<string, unknown> },
  ) => Promise<void>;
}

/** Run one call: deadline, cancellation, progress, redaction, errors as tool errors. */
export async function runTool(tool: Tool, args: unknown, extra: Extra, env: McpEnv) {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), env.o.callTimeoutMs);
  const token = extra._meta?.progressToken;
  const call: Call = {
    env,
    signal: AbortSignal.any([extra.signal, deadline.signal]),
    progress(done, total, message) {
      if (token === undefined || extra.signal.aborted) return;
      extra.sendNotification({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress: done,
          ...(total !== undefined ? { total } : {}),
          ...(message ? { message: redact(message) } : {}),
        },
      }).catch(() => {});
    },
  };
  try {
    const r = await tool.run(args as never, call);
    if (deadline.signal.aborted) {
      return errorResult(
        `error: ${tool.name} timed out after ${formatDuration(env.o.callTimeoutMs)} (exit 5)\n` +
          "  what it started in pods was ended; the user sets the limit with `kodama mcp --call-timeout`",
      );
    }
    return {
      content: [{ type: "text" as const, text: redact(r.text) }],
      structuredContent: redactDeep(r.data) as Record<string, unknown>,
    };
  } catch (e) {
    return errorResult(errorText(e));
  } finally {
    clearTimeout(timer);
  }
}

function errorResult(text: string) {
  return { isError: true, content: [{ type: "text" as const, text }] };
}

export interface ServeOptions {
  tiers: Tier[];
  env: McpEnv;
  tools: Tool[];
}

/** Serve until the client closes stdin. */
export async function mcpCommand(o: ServeOptions): Promise<number> {
  const [{ McpServer }, { StdioServerTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/mcp.js"),
    import("@modelcontextprotocol/sdk/server/stdio.js"),
  ]);
  const server = new McpServer(
    { name: "kodama", title: "kodama", version: VERSION },
    { instructions: INSTRUCTIONS },
  );
  const { offered } = await import("./tools.ts");
  for (const t of offered(o.tools, o.tiers)) {
    server.registerTool(
      t.name,
      {
        title: t.title,
        description: t.description,
        inputSchema: z.strictObject(t.input),
        outputSchema: z.object(t.output),
        annotations: { title: t.title, ...t.annotations },
      },
      // deno-lint-ignore no-explicit-any
      ((args: unknown, extra: Extra) => runTool(t, args, extra, o.env)) as any,
    );
  }
  const transport = new StdioServerTransport();
  await server.connect(transport);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  // stdin ended (the client went away): the server ends with it
  const { default: process } = await import("node:process");
  process.stdin.once("end", () => transport.close());
  await closed;
  await o.env.close();
  return 0;
}
