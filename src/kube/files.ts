/**
 * Reading the files a kubeconfig names (token, CA, key files) with Deno's own calls: importing node:fs
 * costs ~35 ms of CPU in every process, which the everyday commands (`exec`, `pods`) do not pay otherwise.
 */

/** Whether `path` exists (a file or anything else), as node's existsSync answers. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Go's words for why a file cannot be read (`no such file or directory`), else the error's first line. */
export function readFailure(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return (e as Error).message.split("\n")[0];
}
