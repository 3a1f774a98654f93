/**
 * Local repositories for the tests of sessions with several repositories (#81): git run here, and a
 * repository made with its files in one commit on `main`, by a committer of its own.
 */

/** `git ARGS` in `cwd`, synchronously: whether it succeeded and its stdout (trailing newlines cut). */
export function gitHere(cwd: string, ...args: string[]): { ok: boolean; out: string } {
  const r = new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
  return { ok: r.success, out: new TextDecoder().decode(r.stdout).trimEnd() };
}

/** A repository at `dir` (made if missing) on `main`, holding `files` in one commit. */
export async function localRepo(dir: string, files: Record<string, string>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  gitHere(dir, "init", "-q", "-b", "main");
  gitHere(dir, "config", "user.name", "me");
  gitHere(dir, "config", "user.email", "me@here");
  for (const [f, c] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${f}`, c);
  gitHere(dir, "add", "-A");
  gitHere(dir, "commit", "-qm", "one");
}
