/**
 * git's files as data for door git (src/session/git/gitrefs.ts): ref files, packed-refs, `.git` files, reflog
 * lines, the few config values that describe a repository's format and the allow-list of formats; and the
 * bounds of what a pod may send to `session fetch` (src/session/git/fetch.ts overLimit).
 */
import { assertEquals, assertMatch } from "@kodama/test-assert";
import {
  configValues,
  formatProblem,
  lastReflog,
  parsePackedRefs,
  parseRefFile,
  reflogLine,
} from "../../../src/session/git/gitrefs.ts";
import { parseGitFile } from "../../../src/base/fs/gitpaths.ts";
import { FETCH_LIMITS, overLimit } from "../../../src/session/git/fetch.ts";

const A = "a".repeat(40), B = "b".repeat(40), C = "c".repeat(64);

Deno.test("parseRefFile: an object id, a symbolic ref, else nothing", () => {
  assertEquals(parseRefFile(`${A}\n`), { oid: A });
  assertEquals(parseRefFile(`${C}\r\n`), { oid: C });
  assertEquals(parseRefFile("ref: refs/heads/main\n"), { symref: "refs/heads/main" });
  assertEquals(parseRefFile("ref: ../../etc/passwd\n"), undefined);
  assertEquals(parseRefFile("AAAA\n"), undefined);
  assertEquals(parseRefFile(""), undefined);
});

Deno.test("parsePackedRefs: refs and ids; the header, peeled lines and junk skipped", () => {
  const text =
    `# pack-refs with: peeled fully-peeled sorted \n${A} refs/heads/main\n^${B}\n${B} refs/tags/v1\n` +
    `${A} HEAD\nnot a line\n${B.slice(2)} refs/heads/short\n`;
  assertEquals([...parsePackedRefs(text)], [["refs/heads/main", A], ["refs/tags/v1", B]]);
});

Deno.test("parseGitFile: the gitdir line of a .git file", () => {
  assertEquals(parseGitFile("gitdir: /r/.git/worktrees/x\n"), "/r/.git/worktrees/x");
  assertEquals(parseGitFile("gitdir: ../main/.git\r\n"), "../main/.git");
  assertEquals(parseGitFile("nothing"), undefined);
});

Deno.test("reflog lines: written as git writes them, the newest read back", () => {
  const when = new Date(1_700_000_000_000);
  const one = reflogLine("", A, "Me <me@x>", when, "kodama session fetch x");
  assertEquals(one, `${"0".repeat(40)} ${A} Me <me@x> 1700000000 +0000\tkodama session fetch x\n`);
  const two = reflogLine(A, B, "Me <me@x>", when, "two\nlines");
  assertEquals(lastReflog(one + two), { oid: B, message: "two lines" });
  assertEquals(lastReflog(""), undefined);
});

Deno.test("configValues: sections, subsections (their case kept), quotes, comments; last value wins", () => {
  const cfg = configValues(
    `[core]\n\trepositoryformatversion = 1\n\tBare = false ; c\n[extensions]\n\tobjectFormat = sha256\n` +
      `[branch "Main"]\n\tremote = up\n[remote "up"]\n\turl = "git@h:x.git"\n[core]\n\tbare\n`,
  );
  assertEquals(cfg.get("core.repositoryformatversion"), "1");
  assertEquals(cfg.get("core.bare"), "true");
  assertEquals(cfg.get("extensions.objectformat"), "sha256");
  assertEquals(cfg.get("branch.Main.remote"), "up");
  assertEquals(cfg.get("remote.up.url"), "git@h:x.git");
});

Deno.test("formatProblem: an allow-list of formats; reftable, a future extension, version 2 refused", () => {
  assertEquals(formatProblem(configValues("[core]\n\trepositoryformatversion = 0\n")), {
    objectFormat: "sha1",
  });
  assertEquals(
    formatProblem(
      configValues(
        "[core]\nrepositoryformatversion=1\n[extensions]\nobjectformat=sha256\nworktreeConfig=true\n",
      ),
    ),
    { objectFormat: "sha256" },
  );
  assertMatch(
    formatProblem(configValues("[core]\nrepositoryformatversion=1\n[extensions]\nrefStorage=reftable\n"))
      .problem!,
    /extensions\.refstorage = reftable/,
  );
  assertMatch(formatProblem(configValues("[extensions]\nsomethingNew=1\n")).problem!, /somethingnew/);
  assertMatch(formatProblem(configValues("[core]\nrepositoryformatversion=2\n")).problem!, /version 2/);
});

Deno.test("overLimit: refs, bytes, objects and the header the pod sends are bounded", () => {
  assertEquals(overLimit({ refs: FETCH_LIMITS.refs, bytes: 10, objects: 10 }), undefined);
  assertMatch(overLimit({ refs: FETCH_LIMITS.refs + 1 })!, /offers 101 branches \(at most 100\)/);
  assertMatch(overLimit({ bytes: FETCH_LIMITS.bytes + 1 })!, /larger than/);
  assertMatch(overLimit({ objects: FETCH_LIMITS.objects + 1 })!, /objects \(at most/);
  assertMatch(overLimit({ header: FETCH_LIMITS.header + 1 })!, /about its branches/);
});

Deno.test("packObjects: the object count a bundle's pack declares", async () => {
  const { git } = await import("../../_git.ts");
  const { packObjects } = await import("../../../src/session/git/fetch.ts");
  const tmp = await Deno.makeTempDir({ prefix: "gitrefs-test-" });
  try {
    git(["init", "-q", "-b", "main"], tmp);
    await Deno.writeTextFile(`${tmp}/a`, "a\n");
    await Deno.writeTextFile(`${tmp}/b`, "b\n");
    git(["add", "."], tmp);
    git(["commit", "-qm", "one"], tmp);
    git(["bundle", "create", `${tmp}/x.bundle`, "main"], tmp);
    assertEquals(await packObjects(`${tmp}/x.bundle`), 4); // a commit, a tree, two blobs
    await Deno.writeTextFile(`${tmp}/junk.bundle`, "# v2 git bundle\n\nnot a pack");
    assertEquals(await packObjects(`${tmp}/junk.bundle`), 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
