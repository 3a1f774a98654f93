/**
 * Commands that finish without an error but with a non-zero status (a fan-out where a pod failed,
 * a remote exit code) report it here; `run()` in main.ts returns it, and `main()` exits with it.
 */
let code = 0;

export function setExitCode(c: number): void {
  code = c;
}

/** Read and reset (so in-process callers of run() start clean). */
export function takeExitCode(): number {
  const c = code;
  code = 0;
  return c;
}
