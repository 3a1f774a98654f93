/**
 * `kodama mcp` driven the way an agent drives it: the official SDK's Client over stdio, the server a
 * `kodama mcp` child process. Every result a test sees is kept (`transcript`), so a test can check that
 * no credential appears in any of them.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CONFIG, MAIN } from "./_run.ts";

export interface ToolResult {
  isError?: boolean;
  text: string;
  // deno-lint-ignore no-explicit-any
  data: any;
}

export interface McpHandle {
  client: Client;
  listTools(): Promise<{ tools: ListedTool[] }>;
  call(name: string, args: Record<string, unknown>, o?: CallOptions): Promise<ToolResult>;
  close(): Promise<void>;
  stderr(): string;
  /**
   * The `notifications/progress` the server sent, as they came off the pipe (before the SDK's client
   * dispatches them: it drops one read together with its call's result, typescript-sdk#2580).
   */
  progressSent: { progress: number; total?: number }[];
}

export interface ListedTool {
  name: string;
  annotations?: {
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
  outputSchema?: unknown;
  inputSchema: unknown;
}

export interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
}

/** Every text and structured result seen in this process. */
export const transcript: string[] = [];

export async function startMcp(
  kubeconfig: string,
  args: string[] = [],
  o: { env?: Record<string, string>; cwd?: string } = {},
): Promise<McpHandle> {
  const home = await Deno.makeTempDir({ prefix: "kodama-mcp-home-" });
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "--no-prompt", "--config", CONFIG, MAIN, "mcp", "--kubeconfig", kubeconfig, ...args],
    env: {
      ...Deno.env.toObject(),
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      KODAMA_HOME: home,
      ...o.env,
    },
    cwd: o.cwd,
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (c: Uint8Array) => err += new TextDecoder().decode(c));
  const client = new Client({ name: "kodama-test", version: "1.0.0" });
  // a loaded CI machine may take long to start a Deno process: generous limits, never a timing assertion
  await client.connect(transport, { timeout: 300_000 });
  const progressSent: { progress: number; total?: number }[] = [];
  const dispatch = transport.onmessage;
  transport.onmessage = (...[m, extra]: Parameters<NonNullable<typeof dispatch>>) => {
    const n = m as { method?: string; params?: { progress: number; total?: number } };
    if (n.method === "notifications/progress" && n.params) progressSent.push(n.params);
    dispatch?.(m, extra);
  };
  return {
    client,
    progressSent,
    listTools: () => client.listTools(undefined, { timeout: 300_000 }) as Promise<{ tools: ListedTool[] }>,
    stderr: () => err,
    async call(name, a, co = {}) {
      const r = await client.callTool({ name, arguments: a }, undefined, {
        signal: co.signal,
        onprogress: co.onprogress,
        timeout: 600_000,
      });
      const content = r.content as { type: string; text?: string }[];
      const text = content.map((c) => c.text ?? "").join("");
      transcript.push(text, JSON.stringify(r.structuredContent ?? null));
      return { isError: r.isError as boolean | undefined, text, data: r.structuredContent };
    },
    async close() {
      await client.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}
