/**
 * The gateway program (src/agent/pod/gateway.js) as a process on this machine, for tests and the benchmark:
 * `node gateway.js` with a config file in a temporary directory (rewritten in place by `setConfig`, as a
 * mounted Secret is), its JSON log lines collected, `waitLog` waiting on one.
 */
import { join } from "node:path";
import {
  adminToken,
  type GatewayClaims,
  mintToken,
  newSigningKey,
} from "../../src/agent/gateway/gatewaytoken.ts";

export const GATEWAY_JS = join(import.meta.dirname!, "../../src/agent/pod/gateway.js");

export interface GatewayLine {
  ev: string;
  s?: string;
  g?: string | null;
  host?: string;
  path?: string;
  status?: number;
  key?: string;
  model?: string;
  usage?: { input: number; output: number; cacheRead: number; cacheWrite: number };
  costUsd?: number;
  bytesIn?: number;
  bytesOut?: number;
  [k: string]: unknown;
}

export interface Gateway {
  url: string;
  port: number;
  signingKey: string;
  lines: GatewayLine[];
  /** the raw stdout, to assert what never appears in it */
  raw(): string;
  token(claims: Partial<GatewayClaims> & { s: string }): string;
  admin(): string;
  setConfig(config: Record<string, unknown>): Promise<void>;
  waitLog(pred: (l: GatewayLine) => boolean, ms?: number): Promise<GatewayLine>;
  kill(signal?: Deno.Signal): Promise<void>;
  close(): Promise<void>;
}

/** `o.signingKey`: the key of a gateway started before (a restart on the same state: its tokens stay valid). */
export async function startGateway(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
  o: { signingKey?: string } = {},
): Promise<Gateway> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-gw-" });
  const signingKey = o.signingKey ?? newSigningKey();
  const file = join(dir, "config.json");
  const write = (c: Record<string, unknown>) =>
    Deno.writeTextFile(file, JSON.stringify({ signingKey, ...c }));
  await write(config);
  const child = new Deno.Command("node", {
    args: [GATEWAY_JS],
    // a state directory that does not exist unless the test gives one: nothing kept, and never this
    // machine's /var/lib/kodama-gateway (its journal would carry figures from one test run into the next)
    env: {
      KODAMA_GATEWAY_CONFIG: file,
      KODAMA_GATEWAY_PORT: "0",
      KODAMA_GATEWAY_STATE: join(dir, "none"),
      ...env,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: GatewayLine[] = [];
  let raw = "";
  const waiters: { pred: (l: GatewayLine) => boolean; resolve: (l: GatewayLine) => void }[] = [];
  const exited = child.status;
  (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      raw += chunk;
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const p of parts) {
        const l = JSON.parse(p) as GatewayLine;
        lines.push(l);
        for (const w of [...waiters]) {
          if (w.pred(l)) waiters.splice(waiters.indexOf(w), 1), w.resolve(l);
        }
      }
    }
  })();
  const waitLog = (pred: (l: GatewayLine) => boolean, ms = 60_000) =>
    new Promise<GatewayLine>((resolve, reject) => {
      const seen = lines.find(pred);
      if (seen) return resolve(seen);
      const t = setTimeout(() => reject(new Error(`gateway: no such log line within ${ms} ms`)), ms);
      waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
    });
  const listening = await waitLog((l) => l.status === ("listening" as unknown), 20_000);
  const port = Number(listening.port);
  let dead = false;
  const kill = async (signal: Deno.Signal = "SIGKILL") => {
    if (dead) return;
    dead = true;
    child.kill(signal);
    await exited;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    signingKey,
    lines,
    raw: () => raw,
    token: (c) =>
      mintToken(signingKey, {
        g: null,
        ns: "default",
        p: ["anthropic", "openai", "gemini"],
        allow: [],
        git: [],
        budgetUsd: null,
        ...c,
      }),
    admin: () => adminToken(signingKey),
    setConfig: write,
    waitLog,
    kill,
    close: async () => {
      await kill("SIGTERM");
      await Deno.remove(dir, { recursive: true });
    },
  };
}
