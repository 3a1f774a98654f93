/**
 * `deno test --parallel` runs the test files on worker threads of ONE process, so they share its
 * environment. A test whose in-process code reads HOME or KODAMA_HOME that it set holds this lock for as
 * long as it depends on them; otherwise another file's test moves them under it (CI once saw
 * workflow_paths_test find no `~/team` workflow: default_dir_test had set HOME to its own directory in
 * between). The lock is an flock on a file of this process: it excludes the other threads' descriptions
 * of it too, and nothing outside this process.
 */
import { join } from "node:path";

const path = join(Deno.env.get("TMPDIR") ?? "/tmp", `kodama-test-env-${Deno.pid}.lock`);

/** Wait for the environment lock; the function returned releases it. */
export async function lockEnv(): Promise<() => void> {
  const f = await Deno.open(path, { read: true, write: true, create: true });
  await f.lock(true);
  return () => {
    try {
      f.unlockSync();
    } finally {
      f.close();
    }
  };
}
