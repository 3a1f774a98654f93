/**
 * `deno test --parallel` runs the test files on worker threads of ONE process, so they share its
 * environment. A test whose in-process code reads HOME or KODAMA_HOME that it set holds this lock for as
 * long as it depends on them; otherwise another file's test moves them under it (CI once saw
 * workflow_paths_test find no `~/team` workflow: default_dir_test had set HOME to its own directory in
 * between). The lock is an flock on a file of this process: it excludes the other threads' descriptions
 * of it too, and nothing outside this process.
 */
import { join } from "node:path";
import { hostPlatform, tempDir } from "../src/base/platform.ts";

const path = join(tempDir(hostPlatform()), `kodama-test-env-${Deno.pid}.lock`);

/**
 * Wait for the environment lock. The function returned puts `keys` back as they were when the lock was
 * taken (a test sets them freely meanwhile), then releases it.
 */
export async function lockEnv(keys: string[] = []): Promise<() => void> {
  const f = await Deno.open(path, { read: true, write: true, create: true });
  await f.lock(true);
  return releaser(f, keys);
}

/** `lockEnv` for a synchronous body. */
export function lockEnvSync(keys: string[] = []): () => void {
  const f = Deno.openSync(path, { read: true, write: true, create: true });
  f.lockSync(true);
  return releaser(f, keys);
}

/** What puts `keys` back as they are now and releases the held lock `f`. */
function releaser(f: Deno.FsFile, keys: string[]): () => void {
  const saved = keys.map((k) => [k, Deno.env.get(k)] as const);
  return () => {
    try {
      for (const [k, was] of saved) was === undefined ? Deno.env.delete(k) : Deno.env.set(k, was);
      f.unlockSync();
    } finally {
      f.close();
    }
  };
}

/**
 * Deno.test whose body holds the environment lock, for files whose in-process code reads the environment
 * or puts it back: a sandboxed step restores what it saw before it ran, so a step of one file undoes
 * another file's `Deno.env.set` and then reports "the step changed kodama's environment".
 */
export function envTest(
  name: string,
  fn: () => void | Promise<void>,
  env: Record<string, string> = {},
): void {
  Deno.test(name, async () => {
    const unlock = await lockEnv(Object.keys(env));
    for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
    try {
      await fn();
    } finally {
      unlock();
    }
  });
}
