/**
 * Workflow `permissions` -> the exact Deno permission set of a sandbox Worker. Everything not listed
 * is denied ("none"/false); a worker can only narrow its parent's permissions, so kodama itself runs
 * with all permissions and every script/local step gets only what the workflow declared.
 */
import type { Permissions } from "../schema.ts";
import { expandHome, hostPlatform, type Platform } from "../../base/platform.ts";

/** A granted path as Deno gets it: `~` is the home directory (USERPROFILE on Windows), relative is from baseDir. */
export function expandPath(p: string, baseDir: string, plat: Platform = hostPlatform()): string {
  const x = expandHome(p, plat);
  return plat.path.isAbsolute(x) ? x : plat.path.resolve(baseDir, x);
}

/** A `permissions.run` entry that names a file (`./build.sh`, `bin/x`, `~/t`), not a program found on PATH. */
export const looksLikePath = (s: string): boolean => /[\\/]/.test(s) || /^\.\.?$/.test(s);

export function denoPermissions(p: Permissions | undefined, baseDir: string): Deno.PermissionOptionsObject {
  const list = (v: string[] | undefined) => (v && v.length ? v : false);
  const paths = (v: string[] | undefined) => (v && v.length ? v.map((x) => expandPath(x, baseDir)) : false);
  return {
    read: paths(p?.read),
    write: paths(p?.write),
    net: list(p?.net),
    env: list(p?.env),
    // a file is granted from baseDir, as pins.ts pins it and the trust prompt shows it: Deno would resolve a
    // relative entry from the process's cwd, another file wherever a front end runs elsewhere
    run: list(p?.run?.map((x) => (looksLikePath(x) ? expandPath(x, baseDir) : x))),
    ffi: false,
    sys: false,
    import: false,
  };
}

/**
 * Deno's refusal ("Requires read access to "/x", run again with the --allow-read flag") as one line
 * a workflow author can act on. Returns undefined for anything that is not a permission refusal.
 */
export function describeDenial(message: string): string | undefined {
  // already described (a refusal passes through more than one layer): never wrapped twice
  if (/^(cannot load the script: )?denied: /.test(message)) return message;
  const envRun = /Requires --allow-run permissions to spawn subprocess with (\S+) environment variable/.exec(
    message,
  );
  if (envRun) {
    return `denied: a command started with ${
      envRun[1]
    } set can load any code, so it needs run access to everything (remove ${envRun[1]} from permissions.env)`;
  }
  const m = /Requires (\w+) access to (?:"([^"]*)"|(\S+?))(?:,|\s|$)/.exec(message);
  if (m) {
    const kind = m[1];
    const what = m[2] ?? m[3];
    return `denied: ${kind} access to "${what}" (add it to permissions.${kind})`;
  }
  const n = /Requires (\w+) access/.exec(message) ?? /Requires --allow-(\w+)/.exec(message);
  if (n) {
    return `denied: ${n[1]} access (${message.replace(/^(NotCapable|PermissionDenied|TypeError): /, "")})`;
  }
  return undefined;
}
