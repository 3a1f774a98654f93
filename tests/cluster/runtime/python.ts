/**
 * The host's python3 interpreter itself, resolved once per process: the test server runs it for every
 * TTY exec (the PTY helper) and for each server's process watchdog. The `python3` found in PATH may be a
 * version manager's shim (pyenv's is a bash script that costs ~0.4 s of CPU and wall on each start, as
 * much as the helper's whole run), so it is asked once for `sys.executable`, the real binary.
 */
import { spawnSync } from "node:child_process";
import { resolveExecutable } from "./podfs.ts";

let cached: string | undefined | null = null;

export function hostPython(): string | undefined {
  if (cached !== null) return cached;
  const found = resolveExecutable("python3", Deno.env.get("PATH") ?? "/usr/bin:/bin", "/");
  cached = found;
  if (!found) return cached;
  const r = spawnSync(found, ["-c", "import sys; print(sys.executable)"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  const real = r.status === 0 ? r.stdout.trim() : "";
  if (real.startsWith("/")) cached = real;
  return cached;
}
