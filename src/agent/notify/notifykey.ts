/**
 * The webhook's keys (docs/security.md, "Notifications: a key per session, the URL off the pod").
 *
 * The user's key signs what a receiver gets: 32 random bytes as 64 hex characters (the HMAC key is those
 * characters as text, not the bytes they spell; docs/agents.md, "Checking a request"), made once and kept in
 * `$KODAMA_HOME/notify.key` (mode 0600, created exclusively: two starts at once agree on one key); never
 * in config.yaml, a state file, an argument, an env Secret or a pod. Receivers check `X-Kodama-Signature`
 * with it (docs/agents.md).
 *
 * A session's pod never gets it, nor the webhook's URL: what is in a pod's environment is the agent's. A
 * session gets a generation (16 random bytes, hex, in its spec: not a secret) and, only where the
 * namespace's gateway relays its events, its own key derived from the user's:
 * `HMAC-SHA256(userKey, "kodama-notify/v1\0" + namespace + "\0" + session + "\0" + generation)`, which
 * signs nothing a receiver trusts: the relay (the gateway, pod/gateway.js) checks it and signs again with
 * the user's key. A new session of the same name has a new generation, so its old key is worthless.
 */
import { join } from "../../base/fs/fspath.ts";
import { kodamaHome } from "../../config/paths.ts";
import { usageError } from "../../base/errors.ts";
import type { Config } from "../../config/schema.ts";
import type { SessionNotify } from "../../session/spec/spec.ts";

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

/** A new session's generation: 16 random bytes in hex. */
export function newNotifyGen(): string {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

async function hmacHex(key: string, data: string): Promise<string> {
  const enc = new TextEncoder();
  const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data))));
}

/** The key of one session (hex), derived from the user's: what its pod signs its events with. */
export function sessionNotifyKey(
  userKey: string,
  namespace: string,
  session: string,
  gen: string,
): Promise<string> {
  return hmacHex(userKey, `kodama-notify/v1\0${namespace}\0${session}\0${gen}`);
}

/** `sha256=HEX`: the HMAC-SHA256 of `TIMESTAMP.BODY` under a key, as receivers check it (docs/agents.md). */
export async function signature(key: string, ts: string, body: string): Promise<string> {
  return `sha256=${await hmacHex(key, `${ts}.${body}`)}`;
}

/**
 * What a new session records of its webhook (SessionSpec.notify): a generation and notify.on; none without
 * notify.webhook or with `--no-notify`; `--notify` without a webhook is a usage error (exit 2). Nothing of
 * it is a secret, and none of it goes into the env Secret here (the gateway's relay adds the session's key,
 * gateway/session.ts).
 */
export function sessionNotify(
  notify: Config["notify"],
  want?: boolean,
): SessionNotify | undefined {
  if (want === false) return undefined;
  if (!notify.webhook) {
    if (want) {
      throw usageError(
        "--notify needs a webhook: notify.webhook is not set",
        "kodama config set notify.webhook https://… (in ~/.kodama/config.yaml)",
      );
    }
    return undefined;
  }
  return { gen: newNotifyGen(), relay: "laptop", on: [...notify.on] };
}
