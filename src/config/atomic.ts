/**
 * Atomic file writes under a lock file — for config and any other state in ~/.kodama
 * (e.g. session files). No yaml/zod imports: cheap to load.
 */
import { dirname } from "../base/fs/fspath.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { displayPath } from "./paths.ts";

const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

/** Take `<path>.lock` (created exclusively); break it when older than 10 s. Returns the release function. */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  const start = Date.now();
  for (;;) {
    try {
      const f = await Deno.open(lock, { createNew: true, write: true, mode: 0o600 });
      try {
        await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
      } finally {
        f.close();
      }
      return async () => {
        try {
          await Deno.remove(lock);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    try {
      const st = await Deno.stat(lock);
      if (st.mtime && Date.now() - st.mtime.getTime() > LOCK_STALE_MS) {
        await Deno.remove(lock).catch(() => {});
        continue;
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    if (Date.now() - start > LOCK_WAIT_MS) {
      throw new KodamaError(
        `config file ${displayPath(path)} is locked by another kodama process`,
        ExitCode.FAILED,
        `retry; if no other kodama is running, delete ${displayPath(lock)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
  }
}

/** Write `text` to `path` atomically: temp file in the same directory (mode 0600), fsync, rename. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const f = await Deno.open(tmp, { createNew: true, write: true, mode: 0o600 });
    try {
      const data = new TextEncoder().encode(text);
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
