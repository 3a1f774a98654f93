/** Run the CLI as a subprocess (black-box), the way a user runs it. */
import { trackChild } from "../_timeout.ts"; // also: every test of a file using these helpers gets a time limit

export const MAIN = new URL("../../main.ts", import.meta.url).pathname;
export const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Stdio = "piped" | "inherit" | "null";

export interface SpawnOptions {
  /** added to the environment (NO_COLOR=1 is set unless overridden) */
  env?: Record<string, string>;
  /** start from an empty environment: only `env` (and NO_COLOR) */
  clearEnv?: boolean;
  cwd?: string;
  /** the script to run instead of main.ts */
  entry?: string;
  /** default "null" */
  stdin?: Stdio;
  /** default "piped" */
  stdout?: Stdio;
  /** default "piped" */
  stderr?: Stdio;
}

/** The test run's Deno cache, for a child whose HOME or environment differs from the run's. */
function denoDir(): Record<string, string> {
  const d = Deno.env.get("DENO_DIR");
  return d ? { DENO_DIR: d } : {};
}

/**
 * KODAMA_TEST_SPAWN_LOG=FILE: one line per black-box start, `TEST_FILE<TAB>ARGS`, to find the files that
 * start the most processes (each costs ~0.3-0.5 CPU-s; docs/development.md, "Where a run's time goes").
 */
const SPAWN_LOG = Deno.env.get("KODAMA_TEST_SPAWN_LOG");

function logSpawn(args: string[]): void {
  const file = /(tests\/[\w/.-]+_test\.ts)/.exec(new Error().stack ?? "")?.[1] ?? "?";
  const line = `${file}\t${args.filter((a) => !a.includes("\n")).join(" ").slice(0, 200)}\n`;
  Deno.writeTextFileSync(SPAWN_LOG!, line, { append: true });
}

/** Start `kodama ...args` as a child process; the caller reads, signals and awaits it. */
export function spawnKodama(args: string[], opts: SpawnOptions = {}): Deno.ChildProcess {
  if (SPAWN_LOG) logSpawn(args);
  return trackChild(new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "--config", CONFIG, opts.entry ?? MAIN, ...args],
    // DENO_NO_UPDATE_CHECK: Deno's own daily update check would go through a test's HTTPS_PROXY;
    // DENO_DIR (pinned by `deno task test`, scripts/deno-dir.ts) also under a test's own HOME or clearEnv
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...denoDir(), ...opts.env },
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
    stdin: opts.stdin ?? "null",
    stdout: opts.stdout ?? "piped",
    stderr: opts.stderr ?? "piped",
  }).spawn());
}

export async function runKodama(
  args: string[],
  opts: Omit<SpawnOptions, "stdin" | "stdout" | "stderr"> & {
    stdin?: string | Uint8Array;
    /** kill it and throw after this long (a hang fails with the command named, not the whole test) */
    timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  const { stdin, timeoutMs, ...rest } = opts;
  const child = spawnKodama(args, { ...rest, stdin: stdin === undefined ? "null" : "piped" });
  let timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  // read the output while stdin is written: a command that echoes a large input (cat) fills its
  // stdout pipe before it has read all of stdin, and would wait on us forever
  const output = child.output();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    try {
      await w.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
      await w.close();
    } catch { /* it exited without reading all of it: its status says why */ }
  }
  const out = await output.finally(() => clearTimeout(timer));
  if (timedOut) throw new Error(`kodama ${args.join(" ")} did not finish within ${timeoutMs! / 1000} s`);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** No JavaScript stack frames leaked to the user. */
export function hasStackTrace(s: string): boolean {
  return /\n\s+at .+(\.ts|\.js|<anonymous>)/.test(s);
}

/** Like `kodama ... | head -c N`: read one chunk of stdout, then close the pipe. */
export async function firstChunkThenClose(
  args: string[],
  opts: Pick<SpawnOptions, "env" | "cwd"> = {},
): Promise<{ code: number; stderr: string; firstChunk: Uint8Array }> {
  const child = spawnKodama(args, opts);
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  const { code } = await child.status;
  return { code, stderr, firstChunk: value ?? new Uint8Array() };
}

/** A kubeconfig whose server is a loopback port nobody listens on (bind, note the port, close). */
export async function closedPortKubeconfig(dir: string): Promise<{ file: string; port: number }> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const file = `${dir}/kc`;
  await Deno.writeTextFile(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: abc } }]
contexts: [{ name: closed, context: { cluster: c, user: u } }]
current-context: closed
`,
  );
  return { file, port };
}
