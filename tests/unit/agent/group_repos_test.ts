// compare of replicas with several repositories (#81): the gather reads each named repository of the workspace
// (its commits, numstat, uncommitted files), parseGather keeps each one's facts and sums them, FILES says both;
// files.sh (compare --diff A B) reads `api/x.txt` from /workspace/api.
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import {
  FILES_SCRIPT,
  filesCell,
  GATHER_SCRIPT,
  gatherArgv,
  linesCell,
  parseFiles,
  parseGather,
  renderComparison,
} from "../../../src/agent/group/compare.ts";

const HEAD = "a".repeat(40);
const BASE = "b".repeat(40);

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
    cwd,
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(r.stdout).trim();
}

/** A repository in ws/NAME cloned at `base` (kodama.base), then `files` committed on top. */
async function repo(ws: string, name: string, files: Record<string, string>, dirty = false) {
  const d = join(ws, name);
  await Deno.mkdir(d);
  await git(d, "init", "-q", "-b", "main");
  await Deno.writeTextFile(join(d, "base.txt"), "base\n");
  await git(d, "add", "-A");
  await git(d, "commit", "-qm", "base");
  await git(d, "config", "kodama.base", await git(d, "rev-parse", "HEAD"));
  await git(d, "checkout", "-qb", "kodama/g-1-20260101000000");
  if (Object.keys(files).length) {
    for (const [f, c] of Object.entries(files)) await Deno.writeTextFile(join(d, f), c);
    await git(d, "add", "-A");
    await git(d, "commit", "-qm", "work");
  }
  if (dirty) await Deno.writeTextFile(join(d, "wip.txt"), "wip\n");
}

for (const sh of ["sh", "dash"]) {
  Deno.test(`compare (${sh}): several repositories gathered each, summed, their paths under their directories`, async () => {
    const ws = await Deno.makeTempDir({ prefix: "kodama-gather-repos-" });
    try {
      await repo(ws, "api", { "a.txt": "1\n2\n", "b.txt": "b\n" });
      await repo(ws, "web", { "w.txt": "w\n" }, true);
      await repo(ws, "docs", {});
      const out = await new Deno.Command(sh, {
        args: ["-c", GATHER_SCRIPT, ...gatherArgv(["api", "web", "docs", "../x", ".hidden"]).slice(3)],
        cwd: ws,
        env: { KODAMA_WORKSPACE: ws, HOME: ws, PATH: Deno.env.get("PATH") ?? "" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(new TextDecoder().decode(out.stderr), "");
      const g = parseGather(new TextDecoder().decode(out.stdout));
      assertEquals(g.repositories?.map((r) => [r.name, r.commits, r.diffstat?.files, r.uncommitted]), [
        ["api", 1, 2, 0],
        ["web", 1, 1, 1],
        ["docs", 0, 0, 0],
      ]);
      assertEquals(g.commits, 2);
      assertEquals(g.uncommitted, 1);
      assertEquals(g.diffstat, {
        files: 3,
        insertions: 4,
        deletions: 0,
        paths: ["api/a.txt", "api/b.txt", "web/w.txt"],
      });
      assertEquals(filesCell(g), "3 (api 2, web 1, docs 0)");
      // compare --diff A B reads each path at HEAD of its own repository
      const f = await new Deno.Command(sh, {
        args: ["-c", FILES_SCRIPT, "kodama-files", "7"],
        cwd: ws,
        env: { KODAMA_WORKSPACE: ws, PATH: Deno.env.get("PATH") ?? "" },
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const w = f.stdin.getWriter();
      // a path out of the workspace's repositories, another spelling, a hidden directory: none of them read
      await w.write(
        new TextEncoder().encode(
          "api/a.txt\nweb/w.txt\n../api/a.txt\nnone.txt\n/api/a.txt\n.git/config\n./api/a.txt\n",
        ),
      );
      await w.close();
      const files = parseFiles((await f.output()).stdout, 7);
      assertEquals(files, ["1\n2\n", "w\n", undefined, undefined, undefined, undefined, undefined]);
    } finally {
      await Deno.remove(ws, { recursive: true });
    }
  });
}

Deno.test("compare: parseGather of several repositories keeps only named ones, numbers as numbers", () => {
  const text = [
    "1\texited\t0\t2026-01-15T14:00:00Z\t2026-01-15T14:05:30Z\t7\t0\t",
    "@@repo api",
    "@@git",
    "branch=kodama/g-1",
    `head=${HEAD}`,
    `base=${BASE}`,
    "commits=2",
    "dirty=0",
    "@@numstat",
    "3\t1\tsrc/a.ts",
    // a name that is no directory kodama names: its facts are dropped, never mixed into another's
    "@@repo ../etc",
    "@@git",
    `head=${HEAD}`,
    `base=${BASE}`,
    "commits=40",
    "@@numstat",
    "9\t9\tpasswd",
    // other spellings: a hidden name, a path, and a name given twice (the first one's facts stay)
    "@@repo .kodama",
    "@@git",
    "commits=7",
    "@@repo a/b",
    "@@git",
    "commits=8",
    "@@repo api",
    "@@git",
    "commits=9",
    "@@repo web",
    "@@git",
    `head=${HEAD}`,
    `base=${BASE}`,
    "commits=lots",
    "@@numstat",
    "1\t0\tw.txt",
    "@@summary",
    "Done.",
    "@@end",
  ].join("\n");
  const g = parseGather(text);
  assertEquals(g.repositories?.map((r) => r.name), ["api", "web"]);
  assertEquals(g.commits, 2);
  assertEquals(g.diffstat?.paths, ["api/src/a.ts", "web/w.txt"]);
  assertEquals([g.diffstat?.insertions, g.diffstat?.deletions], [4, 1]);
  assertEquals(g.head, undefined);
  assertEquals(g.summary, "Done.");
  const table = renderComparison([{ name: "g-1", replica: 1, status: "Running", ...g }]);
  assert(table.includes("2 (api 1, web 1)"), table);
  assert(table.includes("+4/-1 (api +3/-1, web +1/-0)"), table);
  // one repository: as it always was
  assertEquals(filesCell({ diffstat: { files: 2, insertions: 0, deletions: 0, paths: [] } }), "2");
  assertEquals(linesCell({ diffstat: { files: 2, insertions: 5, deletions: 1, paths: [] } }), "+5/-1");
});
