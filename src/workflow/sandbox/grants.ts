/**
 * Granted paths, checked before every `script` and `local` step (and when a run starts):
 *
 * - **never grantable**: kodama's state (`$KODAMA_HOME`: the trust store, sessions, the script
 *   snapshots), every kubeconfig file (`--kubeconfig`, each `KUBECONFIG` entry, `~/.kube/config`),
 *   `/proc` and `/dev/fd` (the process's memory, environment and open files), the terminal (`/dev/tty`,
 *   `/dev/pts`: writing skips kodama's stripping of control sequences, reading sniffs keys), and for
 *   `write` also the code kodama runs: Deno's cache (`DENO_DIR`), the Deno runtime's directory,
 *   kodama's own source tree and the installed commands (`~/.deno/bin`). A grant that *is*, *contains* or *lies inside*
 *   one of them is **refused** (not narrowed): `read: ["/"]` or `["~"]` would hand them over, and a
 *   silently narrowed grant would differ from what the trust prompt showed.
 * - **symlinks**: Deno checks the path as written, so a symlink inside a granted directory reaches
 *   wherever it points. Every symlink found under a granted path must resolve inside the granted set
 *   (read grants for `read`, write grants for `write`), else the step is refused, naming the link.
 *   The grant itself is resolved too (a granted `./data` that is a link to `~/.kube` is `~/.kube`).
 * - **hard links** to a never-grantable file inside a granted tree are refused the same way.
 *
 * Run-time links: Deno refuses `Deno.symlink` to path-scoped grants and `Deno.link` without read on
 * the target, so a sandboxed script cannot make new ones; a `run`-granted command can (it runs with
 * your rights — see docs/workflows.md#sandbox).
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { kodamaHome } from "../../config/paths.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { Permissions } from "../schema.ts";
import { expandPath } from "./permissions.ts";
import { realLanding } from "../../base/fs/realpath.ts";
import {
  denoBinDir,
  denoDir,
  homeDirs,
  hostPlatform,
  type Platform,
  privateSystemPaths,
  splitPathList,
} from "../../base/platform.ts";
import { quote } from "../../base/text/escape.ts";

const MAX_ENTRIES = 20_000;

function inside(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

/**
 * Paths no workflow may be granted: [path, why]. On Windows the kubeconfig under each of USERPROFILE,
 * HOMEDRIVE+HOMEPATH and HOME, and KUBECONFIG split on `;`.
 */
export function neverGrantable(kubeconfig?: string, p: Platform = hostPlatform()): [string, string][] {
  const out: [string, string][] = [[kodamaHome(), "kodama's own state (trust store, sessions)"]];
  const kc = new Set<string>(homeDirs(p).map((h) => p.path.join(h, ".kube", "config")));
  if (kubeconfig) kc.add(p.path.resolve(kubeconfig));
  for (const f of splitPathList(p.env("KUBECONFIG"), p)) kc.add(p.path.resolve(f));
  for (const f of kc) out.push([f, "a kubeconfig file"]);
  out.push(...privateSystemPaths(p));
  return out;
}

/** Paths no workflow may be granted `write` on: code kodama runs. */
export function codePaths(p: Platform = hostPlatform()): [string, string][] {
  const out: [string, string][] = [[denoDir(p), "code kodama runs (Deno's cache)"]];
  out.push([p.path.dirname(Deno.execPath()), "the Deno runtime kodama runs on"]);
  // kodama's source tree (a path only: nothing is loaded from it here)
  if (import.meta.dirname) out.push([resolve(import.meta.dirname, "../../.."), "kodama's own code"]);
  out.push([denoBinDir(p), "the installed kodama commands"]);
  return out;
}

interface Grant {
  kind: "read" | "write";
  written: string;
  abs: string;
  real: string;
}

async function identity(p: string): Promise<string | undefined> {
  try {
    const st = await Deno.stat(p);
    return st.isFile ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a never-grantable path lands, or the path as written when kodama itself may not resolve it (a
 * permission error: Deno asks for every permission before it reads `/dev/fd`): a protected place is kept
 * out by both names it can have, and one it cannot see through is kept out by the one it was given.
 */
export async function protectedLanding(path: string): Promise<string> {
  try {
    return await realLanding(path);
  } catch {
    return path;
  }
}

/**
 * Refuse (exit 2) grants that reach a never-grantable path, directly or through a symlink or hard
 * link. `kubeconfig` is the run's `--kubeconfig`.
 */
export async function checkGrants(
  p: Permissions | undefined,
  baseDir: string,
  kubeconfig?: string,
): Promise<void> {
  const grants: Grant[] = [];
  for (const kind of ["read", "write"] as const) {
    for (const written of p?.[kind] ?? []) {
      const abs = expandPath(written, baseDir);
      grants.push({ kind, written, abs, real: await realLanding(abs) });
    }
  }
  if (!grants.length) return;
  const fail = (g: Grant, what: string) => {
    throw new KodamaError(
      `permissions.${g.kind}: ${quote(g.written)} ${what}`,
      ExitCode.USAGE,
      "kodama's state, kubeconfig files, /proc, the terminal and (for write) the code kodama runs are never grantable; grant only the paths the workflow needs",
    );
  };
  const protectedPaths: [string, string, string][] = [];
  for (const [path, why] of neverGrantable(kubeconfig)) {
    protectedPaths.push([path, await protectedLanding(path), why]);
  }
  const writeProtected: [string, string, string][] = [];
  if (grants.some((g) => g.kind === "write")) {
    for (const [path, why] of codePaths()) writeProtected.push([path, await protectedLanding(path), why]);
  }
  const files = new Map<string, string>();
  for (const [path, , why] of protectedPaths) {
    const id = await identity(path);
    if (id) files.set(id, `${path} (${why})`);
  }
  for (const g of grants) {
    const list = g.kind === "write" ? [...protectedPaths, ...writeProtected] : protectedPaths;
    for (const [path, real, why] of list) {
      for (const [a, b] of [[g.abs, path], [g.real, real], [g.abs, real], [g.real, path]]) {
        if (inside(a, b) || inside(b, a)) {
          fail(g, `${a === b ? "is" : inside(b, a) ? "contains" : "lies inside"} ${path} (${why})`);
        }
      }
    }
    const id = await identity(g.real);
    if (id && files.has(id)) fail(g, `is a hard link to ${files.get(id)}`);
  }
  // symlinks and hard links inside granted trees
  const realsOf = (kind: "read" | "write") => grants.filter((g) => g.kind === kind).map((g) => g.real);
  let seen = 0;
  for (const g of grants) {
    const allowed = realsOf(g.kind);
    const stack = [g.abs];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch {
        continue;
      }
      for (const e of entries) {
        if (++seen > MAX_ENTRIES) {
          fail(g, `holds more than ${MAX_ENTRIES} entries to check for links; grant narrower paths`);
        }
        const path = join(dir, e.name);
        if (e.isSymlink) {
          const target = await realLanding(path);
          if (!allowed.some((a) => inside(target, a))) {
            fail(g, `holds the symlink ${path} -> ${target}, outside the granted ${g.kind} paths`);
          }
        } else if (e.isDirectory) stack.push(path);
        else if (e.isFile && files.size) {
          const st = await Deno.lstat(path);
          if (st.nlink && st.nlink > 1 && files.has(`${st.dev}:${st.ino}`)) {
            fail(g, `holds ${path}, a hard link to ${files.get(`${st.dev}:${st.ino}`)}`);
          }
        }
      }
    }
  }
}
