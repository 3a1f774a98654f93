/**
 * The tree the sync tests send: nested .gitignore files, a .kodamaignore, a sync.excludePatterns entry,
 * a symlink inside and one pointing out of the tree, a hard link, an executable script, an empty
 * directory, names with spaces and unicode, .kodama/ and .git/. `listing` is the checksum-and-mode view
 * both sides are compared with (made by one shell script, run locally and in the pod).
 */
export const EXCLUDE_PATTERNS = ["*.bak"];

/** Paths the rules leave out (relative). */
export const IGNORED = [
  "build",
  "x.log",
  "sub/secret.txt",
  "sub/deep/gen.out",
  "notes.tmp",
  "old.bak",
  ".kodama",
];

export async function makeTree(root: string): Promise<void> {
  const w = (p: string, text: string, mode?: number) => Deno.writeTextFile(`${root}/${p}`, text, { mode });
  for (const d of ["sub/deep", "empty/nested-empty", "build/out", "with space", "ünï", ".kodama", "keep"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  await w(".gitignore", "*.log\nbuild/\n");
  await w("sub/.gitignore", "secret.txt\n!keep.log\n");
  await w("sub/deep/.gitignore", "*.out\n");
  await w(".kodamaignore", "*.tmp\n");
  await w("a.txt", "alpha\n");
  await w("run.sh", "#!/bin/sh\necho run\n");
  await Deno.chmod(`${root}/run.sh`, 0o755);
  await w("private.txt", "mine\n");
  await Deno.chmod(`${root}/private.txt`, 0o600);
  await w("x.log", "log\n");
  await w("sub/keep.log", "kept by a negation\n");
  await w("sub/secret.txt", "secret\n");
  await w("sub/deep/data.bin", "data\n".repeat(2000));
  await w("sub/deep/gen.out", "generated\n");
  await w("build/out/app", "binary\n");
  await w("notes.tmp", "tmp\n");
  await w("old.bak", "bak\n");
  await w("with space/a file name.txt", "spaces\n");
  await w("ünï/日本語 ファイル.txt", "unicode\n");
  await w(".kodama/agent.json", "{}\n");
  await w("keep/" + "long-name-".repeat(12) + ".txt", "long\n");
  await Deno.symlink("a.txt", `${root}/link-in`);
  await Deno.symlink("../../../etc/hostname", `${root}/sub/link-out`);
  await Deno.link(`${root}/a.txt`, `${root}/hard.txt`);
}

/** The listing script: `what` is the third field of a file's line (its checksum, or its size: cheaper). */
function listing(what: string): string {
  return [
    'cd "$1" || exit 1',
    "find . ! -name . | sort | while IFS= read -r p; do",
    '  if [ -L "$p" ]; then echo "l - $(readlink "$p") $p";',
    '  elif [ -d "$p" ]; then echo "d $(stat -c %a "$p") - $p";',
    `  else echo "f $(stat -c %a "$p") ${what} $p"; fi`,
    "done",
  ].join("\n");
}

/**
 * `find` + `md5sum` + `stat` listing (busybox has no cksum): one line per path, `type mode checksum-or-target path`, sorted.
 * POSIX/busybox tools only. Run with `sh -c LISTING sh DIR`.
 */
export const LISTING = listing('$(md5sum < "$p" | cut -d" " -f1)');

/**
 * The same listing with each file's size where LISTING has its checksum: a stat per path, no file read. A wait
 * compares these first and reads every file (96 MB at sync_test's big-file steps) only once they agree.
 */
export const SIZES = listing('$(stat -c %s "$p")');

/** The listing of a local directory (LISTING, or SIZES). */
export async function localListing(dir: string, script = LISTING): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", script, "sh", dir] }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Drop the listing lines of ignored paths (and what is below them). */
export function withoutIgnored(listing: string, ignored = IGNORED): string {
  return listing.split("\n").filter((l) => {
    const p = l.split(" ").slice(3).join(" ").replace(/^\.\//, "");
    return !ignored.some((i) => p === i || p.startsWith(i + "/"));
  }).join("\n");
}

/** The first of these paths that is a file (a tool the host may have: busybox, node), else undefined. */
export function firstFile(...paths: string[]): string | undefined {
  return paths.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/** The host's busybox (busybox-static in CI), for the tests that run the pod's scripts with its applets only. */
export const BUSYBOX = firstFile("/usr/bin/busybox", "/bin/busybox");
