/**
 * The webhook's settings a session's pod gets (notify.webhook): the URL, the events (notify.on) and the
 * HMAC key its signatures are made with. The key is generated once per user, 32 random bytes in hex, and
 * kept in `$KODAMA_HOME/notify.key` (mode 0600, created exclusively: two starts at once agree on one key);
 * never in config.yaml, a state file or an argument. All three reach the pod in the session's env Secret
 * (KODAMA_NOTIFY_URL, KODAMA_NOTIFY_SECRET, KODAMA_NOTIFY_ON), which the pod's runner takes away from the
 * agent's environment (pod/runner.sh).
 */
import { join } from "../base/fs/fspath.ts";
import { kodamaHome } from "../config/paths.ts";
import { usageError } from "../base/errors.ts";
import type { Config } from "../config/schema.ts";

export const NOTIFY_KEY_FILE = "notify.key";
const KEY_RE = /^[0-9a-f]{64}$/;

/** This user's webhook key: read, or made and kept the first time. */
export async function notifyKey(home: string = kodamaHome()): Promise<string> {
  const path = join(home, NOTIFY_KEY_FILE);
  for (let i = 0; i < 3; i++) {
    try {
      const k = (await Deno.readTextFile(path)).trim();
      if (KEY_RE.test(k)) return k;
      // a torn or foreign file: replaced below
      await Deno.remove(path).catch(() => {});
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const key = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    await Deno.mkdir(home, { recursive: true, mode: 0o700 });
    try {
      const f = await Deno.open(path, { createNew: true, write: true, mode: 0o600 });
      try {
        await f.write(new TextEncoder().encode(key + "\n"));
      } finally {
        f.close();
      }
      return key;
    } catch (e) {
      // another start made it first: read theirs
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  return (await Deno.readTextFile(path)).trim();
}

/**
 * The env Secret's webhook variables for a new session: none without notify.webhook or with `--no-notify`;
 * `--notify` without a webhook is a usage error (exit 2).
 */
export async function notifyEnv(
  notify: Config["notify"],
  want?: boolean,
  home?: string,
): Promise<Record<string, string>> {
  if (want === false) return {};
  if (!notify.webhook) {
    if (want) {
      throw usageError(
        "--notify needs a webhook: notify.webhook is not set",
        "kodama config set notify.webhook https://… (in ~/.kodama/config.yaml)",
      );
    }
    return {};
  }
  return {
    KODAMA_NOTIFY_URL: notify.webhook,
    KODAMA_NOTIFY_SECRET: await notifyKey(home),
    KODAMA_NOTIFY_ON: notify.on.join(","),
  };
}
