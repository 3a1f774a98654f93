/**
 * `session land` for a session started without `--repo` (#51): the project's `.git` went to the pod once,
 * with the initial sync, so the pod's commits share its history and land the same way.
 */
import { assertEquals, assertMatch } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { readLocal, syncSide } from "./_sync.ts";

const NAME = "land-norepo";

withSessionWorld("session land without --repo: the .git sent at start", {}, async (_t, w) => {
  const { pod, until } = syncSide(w, NAME);
  const root = `${w.cwd}/project`;
  await Deno.mkdir(root, { recursive: true });
  const git = (...args: string[]) => {
    const r = new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "piped" }).outputSync();
    return new TextDecoder().decode(r.stdout).trimEnd();
  };
  try {
    git("init", "-q", "-b", "main");
    git("config", "user.name", "me");
    git("config", "user.email", "me@here");
    await Deno.writeTextFile(`${root}/a.txt`, "a\n");
    git("add", "-A");
    git("commit", "-qm", "one");
    const r = await w.k(["start", NAME, "--image", SESSION_IMAGE], { cwd: root });
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /syncing \S+\/project -> \S+:\/workspace: \d+ files?, .*\(\.git included, once\)/);
    await pod(`echo pod > a.txt && git -c user.name=p -c user.email=p@p commit -qam "pod: a"`);
    await until("the pod's a.txt here", async () => (await readLocal(`${root}/a.txt`)) === "pod\n");
    const l = await w.k(["session", "land", NAME], { cwd: root });
    assertEquals(l.code, 0, l.stderr);
    assertMatch(l.stderr, /fast-forwarded main to session land-norepo's \w+ pod: a/);
    assertEquals(git("log", "-1", "--format=%s"), "pod: a");
    assertEquals(git("status", "--porcelain"), "");
  } finally {
    await purge(w, NAME);
  }
});
