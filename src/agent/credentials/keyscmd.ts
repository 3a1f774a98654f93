/**
 * `kodama agent keys set|list|test|rm PROVIDER`: keys.ts's store as commands. `set` reads the key from
 * stdin (a hidden prompt on a terminal), never from an argument.
 */
import type { Config } from "../../config/schema.ts";
import type { Sink } from "../../base/sink.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { PROVIDER_NAMES, PROVIDERS as MODEL_PROVIDERS } from "./providers.ts";
import { checkProvider, type KeyStoreDeps, listKeys, PROVIDER_VAR, removeKey, setKey } from "./keys.ts";

/** A line from a terminal without echo (Deno's raw mode), or stdin read whole when it is not one. */
export async function readSecret(err: Sink, what: string): Promise<string> {
  const bytes: number[] = [];
  if (Deno.stdin.isTerminal()) {
    err.write(`${what}: `);
    Deno.stdin.setRaw(true);
    try {
      const buf = new Uint8Array(256);
      for (;;) {
        const n = await Deno.stdin.read(buf);
        if (n === null) break;
        const chunk = buf.subarray(0, n);
        if (chunk.includes(3)) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
        const end = chunk.findIndex((b) => b === 13 || b === 10);
        if (end >= 0) {
          bytes.push(...chunk.subarray(0, end));
          break;
        }
        bytes.push(...chunk);
        if (bytes.length > 8192) break;
      }
    } finally {
      Deno.stdin.setRaw(false);
      err.write("\n");
    }
    return new TextDecoder().decode(new Uint8Array(bytes)).trim();
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of Deno.stdin.readable) {
    size += c.length;
    if (size > 8192) throw usageError("stdin is larger than 8 KiB: that is not an API key");
    parts.push(c);
  }
  return (await new Blob(parts as BlobPart[]).text()).trim();
}

export async function keysSetCommand(
  d: KeyStoreDeps,
  provider: string,
  io: { out: Sink; err: Sink },
): Promise<number> {
  const p = checkProvider(provider);
  const key = await readSecret(io.err, `${PROVIDER_VAR[p]} (not shown)`);
  const e = await setKey(d, p, key);
  io.out.write(
    `${p} key ${e.suffix} stored in ${
      e.store === "keychain" ? "the OS keychain" : `${d.home}/keys.json (mode 0600)`
    }; sessions read it as ${e.variable} when this environment and the env files have none\n`,
  );
  return ExitCode.OK;
}

export async function keysListCommand(d: KeyStoreDeps, output: string, out: Sink): Promise<number> {
  const rows = await listKeys(d);
  if (output === "json") {
    out.write(
      JSON.stringify({ apiVersion: "kodama.dev/v1", kind: "AgentKeyList", items: rows }, null, 2) + "\n",
    );
    return ExitCode.OK;
  }
  const { renderTable } = await import("../../ui/table.ts");
  if (!rows.length) {
    out.write("no keys stored: kodama agent keys set anthropic\n");
    return ExitCode.OK;
  }
  out.write(renderTable(
    ["PROVIDER", "VARIABLE", "KEY", "STORE", "SET"],
    rows.map((r) => [r.provider, r.variable, r.suffix, r.store, r.setAt.slice(0, 10)]),
  ));
  return ExitCode.OK;
}

export async function keysRmCommand(d: KeyStoreDeps, provider: string, out: Sink): Promise<number> {
  const p = checkProvider(provider);
  if (!(await removeKey(d, p))) {
    throw new KodamaError(
      `no ${p} key is stored`,
      ExitCode.NOT_FOUND,
      "list them with: kodama agent keys list",
    );
  }
  out.write(`${p} key removed\n`);
  return ExitCode.OK;
}

/** `keys test PROVIDER`: `agent check` of that provider's preset with the stored key alone. */
export async function keysTestCommand(
  d: KeyStoreDeps,
  provider: string,
  cfg: Config,
  o: { model?: string; output?: string },
  io: { out: Sink; err: Sink },
): Promise<number> {
  const p = checkProvider(provider);
  if (p === "github") {
    throw usageError(`agent keys test checks the model APIs' keys (${PROVIDER_NAMES.join(", ")})`);
  }
  const { getKey } = await import("./keys.ts");
  if (!(await getKey(d, p))) {
    throw new KodamaError(
      `no ${p} key is stored`,
      ExitCode.NOT_FOUND,
      `store one with: kodama agent keys set ${p}`,
    );
  }
  const { agentCheckCommand } = await import("./checkrun.ts");
  const agent = MODEL_PROVIDERS[p].checkedBy;
  return await agentCheckCommand({ agent, model: o.model, output: o.output, storedOnly: true }, cfg, {
    ...io,
    keys: d,
  });
}
