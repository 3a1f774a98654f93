/**
 * `session pr`'s replies (src/agent/forge/replies.ts) on a real repository and the forge stand-in: what a
 * `--from-pr` run was given is recorded without any text of the forge's; a thread whose file a later commit
 * changed gets "Addressed in <sha>: `subject`", the others stay recorded; and a record planted or edited by
 * someone else cannot steer a request or a git command: an id that is not a forge's id shape (a path, a
 * query), a base that is not a commit id (an option, a ref expression) are dropped, never used.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { join } from "node:path";
import { startForge } from "./_forge.ts";
import { forgeApi, forgeCall } from "../../src/agent/forge/api.ts";
import { forgeOf } from "../../src/agent/forge/forgeurl.ts";
import { answerThreads, handedPath, loadHanded, recordHanded } from "../../src/agent/forge/replies.ts";
import { withDoorGit } from "../../src/session/git/doorgit.ts";

async function git(args: string[], cwd?: string) {
  const r = await new Deno.Command("git", {
    args,
    cwd,
    env: {
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_TERMINAL_PROMPT: "0",
      GIT_AUTHOR_NAME: "a",
      GIT_AUTHOR_EMAIL: "a@b",
      GIT_COMMITTER_NAME: "a",
      GIT_COMMITTER_EMAIL: "a@b",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trim();
}

Deno.test("session pr replies: the thread whose file changed is answered; a planted record steers nothing", async () => {
  const f = await startForge();
  const work = await Deno.makeTempDir({ prefix: "kodama-replies-" });
  const home = join(work, "home");
  try {
    await f.addRepo("acme/widget");
    const forge = forgeOf(f.gitUrl("acme/widget"), { [f.host]: { type: "github" } });
    const repo = join(work, "clone");
    await git([
      "clone",
      "-q",
      f.gitUrl("acme/widget").replace("http://", `http://tester:${f.gitPassword}@`),
      repo,
    ]);
    await git(["push", "-q", "origin", "HEAD:refs/heads/kodama/s"], repo);
    const pr = await forgeApi(forge, f.token, "T").create({
      head: "kodama/s",
      base: "main",
      title: "s",
      body: "",
      draft: false,
    });
    const base = await git(["rev-parse", "HEAD"], repo);
    const at = { kind: "github" as const, repo: "acme/widget", number: pr.number };
    const [onA, onOther, hostile] = [f.feedback.nextId(), f.feedback.nextId(), f.feedback.nextId()];
    f.feedback.notes.push(
      { ...at, id: onA, path: "src/a.ts", line: 3, author: "r", body: "SECRET-REVIEW-TEXT" },
      { ...at, id: onOther, path: "other.ts", line: 1, author: "r", body: "other" },
      { ...at, id: hostile, path: "src/a.ts", line: 9, author: "r", body: "h" },
    );
    const n = await recordHanded("s", { namespace: "dev", forge, number: pr.number, base }, [
      { id: String(onA), file: "src/a.ts", line: 3, comments: [{ body: "SECRET-REVIEW-TEXT" }] },
      { id: String(onOther), file: "other.ts", line: 1, comments: [{ body: "other" }] },
      { id: "77", comments: [{ body: "no file: never recorded" }] },
    ], home);
    assertEquals(n, 2);
    const text = await Deno.readTextFile(handedPath("s", home));
    assert(!text.includes("SECRET-REVIEW-TEXT") && !text.includes(f.token), text);
    assertEquals((await Deno.stat(handedPath("s", home))).mode! & 0o777, 0o600);
    // a name is a session's, never a path
    for (const bad of ["../s", "s/../../x", "S", ".."]) assertThrows(() => handedPath(bad, home));
    // someone edits the record: ids that are a path or a query, bases that are an option or a ref expression
    const rec = JSON.parse(text);
    const planted = join(work, "pwned");
    rec.threads.push(
      { id: `${hostile}/../../../../issues/1/comments`, file: "src/a.ts", base },
      { id: `${hostile}?x=1`, file: "src/a.ts", base },
      { id: String(hostile), file: "src/a.ts", base: `--output=${planted}` },
      { id: String(hostile), file: "src/a.ts", base: "HEAD~1" },
      { id: String(hostile), file: "src/a.ts", base: `${base}^` },
    );
    await Deno.writeTextFile(handedPath("s", home), JSON.stringify(rec));
    assertEquals((await loadHanded("s", home))!.threads.map((t) => t.id), [String(onA), String(onOther)]);
    // the work after the feedback: src/a.ts changed, other.ts not
    await Deno.mkdir(join(repo, "src"));
    await Deno.writeTextFile(join(repo, "src/a.ts"), "bar\n");
    await git(["add", "."], repo);
    await git(["commit", "-qm", "Rename foo to bar @someone fixes #1"], repo);
    await Deno.writeTextFile(join(repo, "README.md"), "more\n");
    await git(["commit", "-qam", "docs"], repo);
    const head = await git(["rev-parse", "HEAD"], repo);
    const fix = await git(["rev-parse", "HEAD~1"], repo);
    const before = f.requests.length;
    const errs: string[] = [];
    const answered = await withDoorGit(repo, () =>
      answerThreads("s", {
        root: repo,
        head,
        namespace: "dev",
        forge,
        number: pr.number,
        call: forgeCall(forge, f.token, "T"),
        err: { write: (s: string) => errs.push(s) },
        home,
      }));
    assertEquals(answered, 1, errs.join(""));
    const replies = f.feedback.notes.filter((x) => x.inReplyTo);
    assertEquals(replies.map((x) => [x.inReplyTo, x.body]), [
      [onA, `Addressed in ${fix.slice(0, 12)}: \`Rename foo to bar @someone fixes #1\``],
    ]);
    // only that reply was sent: no request along a planted path
    const sent = f.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    assertEquals(sent, [`POST /api/v3/repos/acme/widget/pulls/${pr.number}/comments/${onA}/replies`]);
    assert(!(await Deno.stat(planted).then(() => true, () => false)), "git wrote a planted path");
    // other.ts stays for a later session pr; another request's or namespace's record is not answered
    assertEquals((await loadHanded("s", home))!.threads.map((t) => t.id), [String(onOther)]);
    const other = await answerThreads("s", {
      root: repo,
      head,
      namespace: "prod",
      forge,
      number: pr.number,
      call: forgeCall(forge, f.token, "T"),
      err: { write: () => {} },
      home,
    });
    assertEquals(other, 0);
    assertStringIncludes(await Deno.readTextFile(handedPath("s", home)), String(onOther));
  } finally {
    await f.close();
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.remove(f.root, { recursive: true }).catch(() => {});
  }
});
