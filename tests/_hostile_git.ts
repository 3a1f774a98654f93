/**
 * A repository that names a program everywhere git could look for one, generated from git's own lists: every
 * variable `git help --config` prints (placeholders given concrete values: drivers and tools named `marker`,
 * which `.gitattributes` selects for every path; `url.<base>.insteadOf` rewriting every absolute path to
 * `ext::`), set to an executable marker script in `.git/config`, in a file it `include.path`s and
 * `includeIf`s, and in `config.worktree`; every hook name (`git help githooks`, and the ones git runs
 * without listing them there) planted as a marker script in `.git/hooks` and in `core.hooksPath` — before
 * the call, and again while it runs (`plantDuring`: in any directory kodama's door git makes, as it appears).
 * Any program that runs leaves a file in `marks`. Door git must run none of them.
 *
 * The settings that say what format the repository has (`core.repositoryFormatVersion`, `extensions.*`)
 * are data kodama reads against an allow-list (src/session/git/gitrefs.ts), not programs: they keep real values.
 */
import { join } from "node:path";

const EXTRA_HOOKS = [
  "fsmonitor-watchman",
  "post-index-change",
  "reference-transaction",
  "pre-auto-gc",
  "post-rewrite",
  "push-to-checkout",
  "proc-receive",
  "sendemail-validate",
  "p4-changelist",
  "p4-prepare-changelist",
  "p4-post-changelist",
  "p4-pre-submit",
  "post-checkout",
  "post-merge",
  "pre-commit",
  "commit-msg",
  "prepare-commit-msg",
  "pre-rebase",
  "pre-merge-commit",
];

function gitText(args: string[]): string {
  const r = new Deno.Command("git", {
    args,
    stdout: "piped",
    stderr: "null",
    env: { MANPAGER: "cat", PAGER: "cat" },
  })
    .outputSync();
  return new TextDecoder().decode(r.stdout);
}

/** Every hook name git knows: its githooks page, and the extras above. */
export function hookNames(): string[] {
  // deno-lint-ignore no-control-regex
  const page = gitText(["help", "githooks"]).replace(/.\x08/g, "");
  const listed = [...page.matchAll(/^ {3}([a-z0-9][a-z0-9-]+)\s*$/gm)].map((m) => m[1]);
  return [...new Set([...listed, ...EXTRA_HOOKS])].sort();
}

/** `git help --config`, each placeholder given a value: section, subsection (or none), key. */
export function configKeys(base: string): [string, string | undefined, string][] {
  const out: [string, string | undefined, string][] = [];
  for (const line of gitText(["help", "--config"]).split("\n")) {
    const k = line.trim();
    if (!/^[A-Za-z]/.test(k) || /^(core\.repositoryformatversion|extensions\.)/i.test(k)) continue;
    const parts = k.split(".");
    const sec = parts[0], key = parts[parts.length - 1] === "*" ? "marker" : parts[parts.length - 1];
    const mid = parts.slice(1, -1).join(".");
    const sub = !mid
      ? undefined
      : /^url$/i.test(sec)
      ? base
      : mid === "*" || /^<.*>$/.test(mid)
      ? (/<condition>/.test(mid) ? "gitdir:/" : /<url>/.test(mid) ? "https://example.invalid/" : "marker")
      : mid;
    if (key.startsWith("<")) continue;
    out.push([sec, sub, key]);
    // the branch being worked on, and every signing format
    if (sub === "marker" && /^branch$/i.test(sec)) out.push([sec, "main", key]);
    if (/^gpg$/i.test(sec) && sub === "marker") {
      for (const f of ["openpgp", "x509", "ssh"]) out.push([sec, f, key]);
    }
  }
  return out;
}

const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** A config file setting every key to `value` (placeholder sections as configKeys gives them). */
export function hostileConfig(value: string, base: string, include?: string): string {
  const lines: string[] = [];
  for (const [sec, sub, key] of configKeys(base)) {
    lines.push(sub === undefined ? `[${sec}]` : `[${sec} ${q(sub)}]`);
    lines.push(`\t${key} = ${q(/^(include|includeif)$/i.test(sec) && include ? include : value)}`);
  }
  return lines.join("\n") + "\n";
}

export interface Hostile {
  /** the files the marker scripts left: programs that ran */
  ran: () => Promise<string[]>;
  /** plant every hook in kodama's door git directories as they appear, until stopped */
  /**
   * Plant the hooks, again and again until `stop`, in every directory made in `tmp` from now on whose name
   * has one of `prefixes` (default `kodama-`), and in the repository's hooks. Give the kodama under test a
   * TMPDIR of its own where it runs as a process; in-process, where the temp directory is every test
   * file's, name the prefixes of kodama's own scratch, so other tests' directories are left alone.
   */
  plantDuring: (tmp?: string, prefixes?: string[]) => { stop: () => Promise<number> };
}

/**
 * Make the repository at `repo` (its work tree; `.git` a directory) hostile. Call it after the test's own
 * git commands there: git itself can no longer read that config (door git never does).
 */
export async function makeHostile(repo: string, marks: string): Promise<Hostile> {
  await Deno.mkdir(marks, { recursive: true });
  const script = join(marks, "marker.sh");
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$0 $*" "$PWD" > "${marks}/ran-$$-$(date +%s%N)"\nexit 0\n`,
  );
  await Deno.chmod(script, 0o755);
  const hooks = hookNames();
  const plant = async (dir: string) => {
    await Deno.mkdir(dir, { recursive: true }).catch(() => {});
    for (const h of hooks) {
      await Deno.copyFile(script, join(dir, h)).catch(() => {});
      await Deno.chmod(join(dir, h), 0o755).catch(() => {});
    }
  };
  const git = join(repo, ".git");
  const inc = join(marks, "included.cfg");
  // rewrite every absolute path (a bundle kodama fetches from, wherever it is) to a remote helper
  const base = `ext::sh -c ${script.replaceAll(" ", "% ")} %S #`;
  await Deno.writeTextFile(inc, hostileConfig(script, base));
  const cfg = "[core]\n\trepositoryformatversion = 1\n\tbare = false\n" +
    `\thooksPath = ${q(join(repo, ".husky"))}\n[extensions]\n\tworktreeConfig = true\n` +
    `[include]\n\tpath = ${q(inc)}\n[includeIf "gitdir:/"]\n\tpath = ${q(inc)}\n` +
    `[url ${q(base)}]\n\tinsteadOf = /\n[protocol "ext"]\n\tallow = always\n[protocol]\n\tallow = always\n` +
    hostileConfig(script, base, inc);
  await Deno.writeTextFile(join(git, "config"), cfg);
  await Deno.writeTextFile(join(git, "config.worktree"), hostileConfig(script, base, inc));
  await Deno.writeTextFile(join(git, "info", "attributes"), "* filter=marker diff=marker merge=marker\n")
    .catch(() => {});
  await Deno.writeTextFile(join(repo, ".gitattributes"), "* filter=marker diff=marker merge=marker\n");
  await plant(join(git, "hooks"));
  await plant(join(repo, ".husky"));
  return {
    ran: async () =>
      (await Array.fromAsync(Deno.readDir(marks))).map((e) => e.name).filter((n) => n.startsWith("ran-")),
    plantDuring: (tmp = Deno.env.get("TMPDIR") ?? "/tmp", prefixes = ["kodama-"]) => {
      let on = true, planted = 0;
      // only directories made from now on (the calls' scratch), never what was there before (another
      // run's leftovers: on a well-used machine that was thousands, each planted for minutes)
      const seen = new Set([...Deno.readDirSync(tmp)].map((e) => e.name));
      const loop = (async () => {
        while (on) {
          for await (const e of Deno.readDir(tmp)) {
            if (!e.isDirectory || !prefixes.some((p) => e.name.startsWith(p)) || seen.has(e.name)) continue;
            seen.add(e.name);
            const d = join(tmp, e.name);
            for (const sub of ["git/hooks", "none/hooks", "hooks"]) {
              await plant(join(d, sub));
              planted++;
            }
          }
          await plant(join(git, "hooks"));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      return {
        stop: async () => {
          on = false;
          await loop;
          return planted;
        },
      };
    },
  };
}
