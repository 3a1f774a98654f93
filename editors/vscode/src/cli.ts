/**
 * Running the `kodama` CLI: data commands through execFile with an argv array (never a shell), and
 * terminal specs for interactive ones. The extension has no Kubernetes logic of its own.
 */
import { execFile } from "node:child_process";
import process from "node:process";

/** How to start kodama: `kodama.path` (or `kodama` on PATH), plus words before the command (tests). */
export interface CliConfig {
  command: string;
  /** argv before kodama's own (tests: `run -A main.ts` for deno) */
  prefix?: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export class CliError extends Error {
  constructor(message: string, readonly code: number, readonly stderr: string) {
    super(message);
  }
}

/** The first lines of kodama's stderr without colour: its error and hint. */
export function errorText(stderr: string, fallback: string): string {
  // deno-lint-ignore no-control-regex
  const lines = stderr.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trimEnd()).filter(Boolean);
  const err = lines.findIndex((l) => l.startsWith("error"));
  const shown = err >= 0 ? lines.slice(err, err + 2) : lines.slice(-2);
  return shown.join(" — ").replace(/^error: /, "") || fallback;
}

/** Run `kodama ...args` to the end; its stdout, or a CliError with its exit code and error line. */
export function runCli(
  cli: CliConfig,
  args: string[],
  o: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cli.command,
      [...(cli.prefix ?? []), ...args],
      {
        cwd: cli.cwd,
        env: cli.env || o.env ? { ...envOf(), ...cli.env, ...o.env } : undefined,
        maxBuffer: 256 * 1024 * 1024,
        timeout: o.timeoutMs ?? 120_000,
        shell: false,
        windowsHide: true,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 1;
        const notFound = (err as { code?: unknown }).code === "ENOENT";
        reject(
          new CliError(
            notFound
              ? `cannot run ${cli.command}: not found (install kodama or set the kodama.path setting)`
              : errorText(
                String(stderr),
                `kodama ${args[0]} failed (exit ${code})`,
              ),
            notFound ? 127 : code,
            String(stderr),
          ),
        );
      },
    );
  });
}

export async function runJson<T>(cli: CliConfig, args: string[]): Promise<T> {
  const out = await runCli(cli, args);
  try {
    return JSON.parse(out) as T;
  } catch {
    throw new CliError(`kodama ${args[0]} printed no JSON`, 1, "");
  }
}

/** createTerminal's options for `kodama ...args`: the program and its argv, no shell in between. */
export function terminalSpec(
  cli: CliConfig,
  name: string,
  args: string[],
  cwd?: string,
): {
  name: string;
  shellPath: string;
  shellArgs: string[];
  cwd?: string;
  env?: Record<string, string>;
} {
  return {
    name,
    shellPath: cli.command,
    shellArgs: [...(cli.prefix ?? []), ...args],
    ...(cwd ?? cli.cwd ? { cwd: cwd ?? cli.cwd } : {}),
    ...(cli.env ? { env: cli.env } : {}),
  };
}

function envOf(): Record<string, string> {
  return { ...process.env } as Record<string, string>;
}
