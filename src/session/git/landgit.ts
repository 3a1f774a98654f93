/**
 * `session land`'s reads and writes of the local repository: what a move changes (`git diff --raw`), the
 * working tree's and the index's version of each path as git stores them, a clean merge's tree, the
 * index entries set without touching the working tree, and the checks of the pod's paths and symlinks.
 */
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { join } from "../../base/fs/fspath.ts";
import { linkProblem, parentProblem } from "../../base/fs/safewrite.ts";
import { safeLine } from "../../ui/color.ts";
import { gitSpawn, localGit } from "./gitrun.ts";
import {
  badLinks,
  type GitEntry,
  linksMade,
  namesRefused,
  type Refusal,
  refusalLine,
  type TreeLink,
} from "./landplan.ts";

export const git = async (root: string, ...args: string[]) => await localGit(args, root);
export const ok = async (root: string, ...args: string[]) => {
  const r = await localGit(args, root);
  if (!r.ok) {
    throw new KodamaError(`git ${args[0]}: ${safeLine(r.err.split("\n")[0] ?? "")}`, ExitCode.FAILED);
  }
  return r.out;
};

/** `git diff --raw` between two commits: path -> [old, new] entries (undefined: absent). */
export async function changed(
  root: string,
  a: string,
  b: string,
): Promise<Map<string, [GitEntry?, GitEntry?]>> {
  const r = await ok(root, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", "--end-of-options", a, b);
  const parts = r.split("\0");
  const m = new Map<string, [GitEntry?, GitEntry?]>();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = /^:(\d{6}) (\d{6}) ([0-9a-f]+) ([0-9a-f]+) \w+$/.exec(parts[i]);
    if (!meta) continue;
    const e = (mode: string, oid: string) => (/^0+$/.test(mode) ? undefined : { mode, oid });
    m.set(parts[i + 1], [e(meta[1], meta[3]), e(meta[2], meta[4])]);
  }
  return m;
}

/** The working tree's version of each path, as git would store it (undefined: absent). */
export async function worktree(
  root: string,
  paths: string[],
): Promise<Map<string, GitEntry | undefined | "other">> {
  const m = new Map<string, GitEntry | undefined | "other">();
  const files: string[] = [];
  for (const p of paths) {
    const st = await Deno.lstat(`${root}/${p}`).catch(() => undefined);
    if (!st) m.set(p, undefined);
    else if (st.isSymlink) {
      const oid = await hashStdin(root, await Deno.readLink(`${root}/${p}`));
      m.set(p, { mode: "120000", oid });
    } else if (st.isFile) {
      files.push(p);
      m.set(p, { mode: (st.mode ?? 0) & 0o111 ? "100755" : "100644", oid: "" });
    } else m.set(p, "other");
  }
  if (files.length) {
    const cmd = gitSpawn(["hash-object", "--stdin-paths"], {
      cwd: root,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const w = cmd.stdin.getWriter();
    await w.write(new TextEncoder().encode(files.join("\n") + "\n"));
    await w.close();
    const out = await cmd.output();
    const oids = new TextDecoder().decode(out.stdout).trim().split("\n");
    files.forEach((p, i) => ((m.get(p) as GitEntry).oid = oids[i] ?? ""));
  }
  return m;
}

/** A blob's bytes, exactly (a link's target may end in a space or a newline). */
export async function blobBytes(root: string, oid: string): Promise<Uint8Array> {
  const r = await gitSpawn(["cat-file", "blob", oid], {
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new KodamaError(`git cat-file: cannot read ${oid}`, ExitCode.FAILED);
  return r.stdout;
}

const linkTarget = async (root: string, oid: string) => new TextDecoder().decode(await blobBytes(root, oid));

export async function hashStdin(root: string, text: string): Promise<string> {
  const cmd = gitSpawn(["hash-object", "--no-filters", "--stdin"], {
    cwd: root,
    stdin: "piped",
    stdout: "piped",
  });
  const w = cmd.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  return new TextDecoder().decode((await cmd.output()).stdout).trim();
}

/** The index's entries for these paths (stage 0). */
export async function indexOf(root: string, paths: string[]): Promise<Map<string, GitEntry>> {
  const r = await ok(root, "ls-files", "-s", "-z", "--", ...paths.map((p) => `:(literal)${p}`));
  const m = new Map<string, GitEntry>();
  for (const line of r.split("\0")) {
    const x = /^(\d{6}) ([0-9a-f]+) 0\t(.*)$/s.exec(line);
    if (x) m.set(x[3], { mode: x[1], oid: x[2] });
  }
  return m;
}

export async function indexInfo(root: string, lines: string[]): Promise<void> {
  const cmd = gitSpawn(["update-index", "--index-info"], {
    cwd: root,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  });
  const w = cmd.stdin.getWriter();
  await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await w.close();
  const r = await cmd.output();
  if (!r.success) throw new KodamaError(`git update-index: ${new TextDecoder().decode(r.stderr).trim()}`);
}

/** A clean merge's tree (git merge-tree --write-tree), or undefined when it conflicts. */
export async function mergeTree(root: string, a: string, b: string): Promise<string | undefined> {
  const r = await git(root, "merge-tree", "--write-tree", "--no-messages", "--end-of-options", a, b);
  return r.ok ? r.out.split("\n")[0] : undefined;
}

/** Refuse (exit 1, listed) commits from the pod that hold a symlink leading out of the tree or into .git. */
export async function refuseLinks(root: string, tip: string, from: string): Promise<void> {
  const commits = (await ok(root, "rev-list", "--end-of-options", tip, `^${from}`)).split("\n").filter(
    Boolean,
  );
  const seen = new Set<string>();
  const bad = new Map<string, Refusal>();
  for (const c of commits.slice(0, 2000)) {
    const tree = await ok(root, "rev-parse", `${c}^{tree}`);
    if (seen.has(tree)) continue;
    seen.add(tree);
    const ls = await ok(root, "ls-tree", "-r", "-z", "--full-tree", tree);
    const links: TreeLink[] = [];
    for (const line of ls.split("\0")) {
      const x = /^120000 blob ([0-9a-f]+)\t(.*)$/s.exec(line);
      if (x) links.push({ path: x[2], target: await linkTarget(root, x[1]) });
    }
    for (const b of badLinks(links)) {
      bad.set(b.path, { path: b.path, link: b.target, why: `${b.why}, ${c.slice(0, 12)}` });
    }
  }
  refuse("the session's commits hold symlinks that are refused", [...bad.values()]);
}

/**
 * Refuse (exit 1, nothing written) a move whose changed paths break the rules of sync's own local
 * writes: a name sync would not write (`..`, `.git`, src/session/sync/safety.ts), a path an existing
 * symlink on the way leads elsewhere (safewrite's parentProblem: git would hash, remove or write the
 * file it leads to), and a link whose target, followed on the disk as it is now, leads out of the tree
 * or into .git or climbs back with `..` after a name (safewrite's linkProblem). Called before anything
 * is hashed, removed or written.
 */
export async function refuseUnsafe(root: string, diff: Map<string, [GitEntry?, GitEntry?]>): Promise<void> {
  const bad = namesRefused(diff.keys());
  if (bad.length) return refuse("the session's commits hold paths that are refused", bad);
  for (const path of diff.keys()) {
    const why = await parentProblem(root, join(root, path), { filesEnd: true });
    if (why) bad.push({ path, why });
  }
  for (const { path, oid } of bad.length ? [] : linksMade(diff)) {
    const link = await linkTarget(root, oid);
    const why = await linkProblem(root, join(root, path), link);
    if (why) bad.push({ path, link, why });
  }
  refuse("the session's commits hold paths that are refused", bad);
}

function refuse(what: string, bad: Refusal[]): void {
  if (!bad.length) return;
  throw new KodamaError(
    `session land: ${what}: ${safeLine(refusalLine(bad))}`,
    ExitCode.FAILED,
    "nothing was landed; look with git log kodama/NAME, fix it in the session, and land again",
  );
}
