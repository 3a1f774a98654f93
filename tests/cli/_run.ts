/** Run the CLI as a subprocess (black-box), the way a user runs it. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;
export const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runKodama(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string | Uint8Array; cwd?: string; entry?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, opts.entry ?? MAIN, ...args],
    env: { NO_COLOR: "1", ...opts.env },
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** No JavaScript stack frames leaked to the user. */
export function hasStackTrace(s: string): boolean {
  return /\n\s+at .+(\.ts|\.js|<anonymous>)/.test(s);
}
