/** The agent start script run here, as the pod's exec runs it (tests/unit/agent/*_test.ts). */

/** `sh` with startArgv's argv after its `sh`, `stdin` written and closed; its output. */
export async function runStart(
  argv: string[],
  stdin: Uint8Array,
  o: { cwd: string; env: Record<string, string>; clearEnv?: boolean; sh?: string },
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(o.sh ?? "sh", {
    args: argv.slice(1),
    env: o.env,
    clearEnv: o.clearEnv,
    cwd: o.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(stdin);
  await w.close();
  return await child.output();
}

/** The run's exit code once its runner wrote it (`exit` is written last), or undefined after `ms`. */
export async function runExit(run: string, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const code = (await Deno.readTextFile(`${run}/exit`).catch(() => "")).trim();
    if (code) return code;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}
