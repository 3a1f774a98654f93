/**
 * Where a workflow's built-in steps may touch this machine. Every local path a step kind uses (the
 * local side of `cp`, the `cwd` of `local`) goes through `confine`, after symlinks are resolved:
 *
 * - a workflow that is not trusted by where it comes from (a repo or a file given by path, and any
 *   home or built-in workflow it calls: the callee runs with its caller's trust) may use paths
 *   inside its repository, or inside the paths its `permissions` grant (`read` for what is read or
 *   sent to a pod, `write` for what is written) — those were shown in the trust prompt and pinned;
 * - whatever the workflow, nothing is read from or written to a never-grantable path (kodama's state,
 *   where home workflows live; kubeconfigs; /proc; the terminal), and a repo's `.git` (hooks, config)
 *   is never written: a file there runs code at the next `git` command;
 * - a home or built-in workflow run by the person (trusted: they installed it) is not confined
 *   otherwise.
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { Permissions } from "../schema.ts";
import { expandPath } from "./permissions.ts";
import { isDotGit } from "../../base/platform.ts";
import { realLanding } from "../../base/fs/realpath.ts";

export type Access = "read" | "write";

export interface Confinement {
  /** confined to root + grants (untrusted source); false: only the never-grantable rule applies */
  confined: boolean;
  /** the repository the workflow belongs to (its git root, else its base directory) */
  root: string;
  /** the workflow's permissions (granted paths) */
  permissions: Permissions;
  /** relative grants are resolved against this directory */
  baseDir: string;
  /** the run's --kubeconfig (never grantable) */
  kubeconfig?: string;
}

export function inside(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

/**
 * The absolute path a step may use for `access`, or a refusal (exit 4) naming the path as written,
 * where it really lands, and what would allow it.
 */
export async function confine(
  written: string,
  access: Access,
  c: Confinement,
  what: string,
): Promise<string> {
  const abs = resolve(c.baseDir, written);
  const real = await realLanding(abs);
  const shown = real === abs ? `"${written}"` : `"${written}" (${real})`;
  const refuse = (why: string, hint: string): never => {
    throw new KodamaError(`${what}: ${shown} ${why}`, ExitCode.FORBIDDEN, hint);
  };
  const { neverGrantable, protectedLanding } = await import("./grants.ts");
  for (const [p, why] of neverGrantable(c.kubeconfig)) {
    const pr = await protectedLanding(p);
    if (inside(real, pr) || inside(abs, p)) {
      refuse(`is ${why}`, "no workflow step may read or write it");
    }
  }
  if (access === "write" && real.split(sep).some(isDotGit)) {
    refuse(
      "is inside a git directory (hooks and config there run code)",
      "write somewhere else; a workflow never writes .git",
    );
  }
  if (!c.confined) return abs;
  const root = await realLanding(c.root);
  if (inside(real, root)) return abs;
  const granted = await Promise.all(
    (c.permissions[access] ?? []).map((g) => realLanding(expandPath(g, c.baseDir))),
  );
  if (granted.some((g) => inside(real, g))) return abs;
  return refuse(
    `is outside the workflow's repository ${root}`,
    `a repo workflow ${
      access === "write" ? "writes" : "reads"
    } local files only inside its repository or in paths listed in permissions.${access} (shown when you trust it)`,
  );
}
