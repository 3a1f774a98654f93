/**
 * What a pod sends back is untrusted (#26 class 10): every spelling of `.git` a file system reads as the
 * git directory is never written locally (sync pull, two-way sync, a workflow's cp), and a symlink the pod
 * made whose target leads out of the tree is never made locally — an editor writing through it would
 * write where the pod chose. Hidden-style variants of each.
 */
import { assert, assertEquals } from "../../../_assert.ts";
import { isDotGit } from "../../../../src/base/platform.ts";
import {
  inGitDir,
  localRule,
  localWriteProblem,
  pulledLinkProblem,
  pulledPathProblem,
} from "../../../../src/session/sync/safety.ts";
import { planPull } from "../../../../src/session/sync/pull.ts";
import type { RemoteEntry } from "../../../../src/session/sync/remote.ts";

Deno.test("every spelling a file system reads as .git is .git", () => {
  const git = [
    ".git",
    ".GIT",
    ".Git",
    ".git.", // Windows drops trailing dots
    ".git ", // and spaces
    ".git. . ",
    "git~1", // NTFS short name
    "GIT~1",
    ".git::$INDEX_ALLOCATION", // an NTFS stream of the directory
    ".g\u200cit", // HFS+ ignores these code points
    "\u200e.git",
    ".gi\ufefft",
    ".G\u200dI\u202eT",
  ];
  for (const s of git) assert(isDotGit(s), JSON.stringify(s));
  for (const s of [".gitignore", ".github", "git", ".gitx", "x.git", "..git", ".git~1", "git~2", ".kodama"]) {
    assert(!isDotGit(s), JSON.stringify(s));
  }
  for (const p of [".GIT/hooks/pre-commit", "sub/.git./config", "a/GIT~1/config", "m/.g\u200cit/hooks/x"]) {
    assert(inGitDir(p), p);
    assert(pulledPathProblem(p)?.includes(".git"), p);
  }
  assert(!inGitDir("src/.github/workflows/ci.yml"));
});

Deno.test("kodama's rules are never a pod's to change here, in any spelling; their neighbours are data", () => {
  const config = [
    ".kodama.yaml",
    "sub/.kodama.yaml",
    ".Kodama.YAML",
    ".kodama.yaml.", // Windows drops the dot
    ".kodama/workflows/x.yaml",
    "a/b/.kodama/templates/t.yaml",
    "sub/.KODAMA/workflows/x.yaml",
    "sub/.ko\u200cdama/workflows/x.yaml", // HFS+ ignores the joiner
    "sub/KODAMA~1/workflows/x.yaml", // NTFS short name of .kodama
    "sub/.kodama", // the directory itself
  ];
  for (const p of config) assert(localRule(p)?.includes("kodama's configuration"), p);
  const ignores = [
    ".gitignore",
    "src/.gitignore",
    ".kodamaignore",
    "x/.KodamaIgnore",
    ".gitignore ",
    "GITIGN~1",
  ];
  for (const p of ignores) assert(localRule(p)?.includes("ignore file"), p);
  for (
    const p of [
      "kodama.yaml",
      ".kodama.yaml.bak",
      "docs/kodama/x.md",
      ".gitignore.txt",
      "a.gitignore",
      ".github/workflows/ci.yml",
      ".kodamarc",
      "kodama~1.txt.x",
    ]
  ) {
    assertEquals(localRule(p), undefined, p);
  }
  // a name no local file may have says so first; a rule is still compared (it syncs to the pod), not a bad name
  assert(localWriteProblem(".git/config")?.includes(".git"));
  assert(localWriteProblem(".gitignore")?.includes("ignore file"));
  assertEquals(pulledPathProblem(".gitignore"), undefined);
});

Deno.test("a pod's symlink may point inside the tree, never out of it", () => {
  const out: [string, string][] = [
    ["notes.md", "/home/me/.ssh/authorized_keys"],
    ["a/b/link", "../../../etc/passwd"],
    ["link", ".."],
    ["link", "../repo-sibling/file"],
    ["a/link", "./../../x"],
    ["a/link", "b/../../../x"],
    ["w", "C:/Users/me/.aws/credentials"],
    ["w", "c:relative-to-drive"],
    ["w", "\\\\server\\share\\x"],
    ["w", "..\\..\\x"],
    ["e", ""],
  ];
  for (const [rel, link] of out) assert(pulledLinkProblem(rel, link), `${rel} -> ${link}`);
  const inside: [string, string][] = [
    ["a/link", "../b/file"],
    ["a/b/link", "../../top"],
    ["link", "docs/readme.md"],
    ["link", "./x/../y"],
    ["a/link", "."],
  ];
  for (const [rel, link] of inside) {
    assertEquals(pulledLinkProblem(rel, link), undefined, `${rel} -> ${link}`);
  }
});

Deno.test("sync pull plans no link out of the tree and nothing in any spelling of .git", () => {
  const f: RemoteEntry = { kind: "file", size: 1, mtime: 1_700_000_100, mode: 0o644 };
  const link = (to: string): RemoteEntry => ({
    kind: "symlink",
    size: 0,
    mtime: 1_700_000_100,
    mode: 0o777,
    link: to,
  });
  const remote = new Map<string, RemoteEntry>([
    ["ok.txt", f],
    ["inside", link("ok.txt")],
    ["notes.md", link("/home/me/.ssh/authorized_keys")],
    ["up", link("../../.bashrc")],
    [".GIT/hooks/post-checkout", f],
    ["git~1/config", f],
    [".g\u200cit/config", f],
  ]);
  const planned = planPull(remote, new Map(), new Map(), () => false).map((i) => i.path);
  assertEquals(planned, ["inside", "ok.txt"]);
});

Deno.test("workflows.paths directories under the root count as .kodama/workflows: no workflow file, no link in their place", () => {
  const dirs = ["ci/workflows", "."];
  const refused = [
    "ci/workflows/tests.yaml",
    "CI/Workflows/tests.YML", // a folding disk reads it as the same
    "ci", // a file or link where the directory's parent is
    "ci/workflows", // … or the directory itself
    "deploy.yaml", // "." : the root's own yaml files
  ];
  for (const p of refused) assert(localRule(p, dirs)?.includes("workflows directory"), p);
  for (
    const p of ["ci/workflows/README.md", "ci/workflows/old/x.yaml", "ci/build.sh", "src/x.yaml", "README.md"]
  ) {
    assertEquals(localRule(p, dirs), undefined, p);
  }
  // the pod may make the directories (and delete them when empty): only a file or link in their place is refused
  assertEquals(localRule("ci", dirs, false), undefined);
  assertEquals(localRule("ci/workflows", dirs, false), undefined);
  assert(localRule("ci/workflows/x.yaml", dirs, false), "deleting a workflow is refused as writing one");
});
