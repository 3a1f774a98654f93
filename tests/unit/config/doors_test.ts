/**
 * Issue 50 class 1 (the general rule at its one mechanism, src/config/doors.ts): a local path handed in
 * through a door (an MCP client, the web UI) leads inside the project the server was started for or a
 * granted path, after links; never $KODAMA_HOME or a directory holding it, the home directory or a
 * directory holding it, or a hidden file or directory of the home — even when granted.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { Door } from "../../../src/config/doors.ts";
import { findRepo } from "../../../src/config/paths.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { git } from "../../_git.ts";
import { lockEnv } from "../../_env_lock.ts";

/** A fake machine: HOME with dot-directories, KODAMA_HOME in it, a project and a shared directory. */
async function machine() {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-doors-" }));
  const home = join(tmp, "home");
  const state = join(home, ".kodama");
  const project = join(home, "src", "proj");
  const shared = join(home, "src", "shared");
  for (
    const d of [
      join(state, "workflows"),
      join(home, ".ssh"),
      join(home, ".aws"),
      join(project, ".git"),
      shared,
    ]
  ) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.writeTextFile(join(home, ".bashrc"), "export TOKEN=x\n");
  await Deno.writeTextFile(join(home, ".ssh", "id_rsa"), "KEY\n");
  await Deno.writeTextFile(join(project, ".env"), "A=1\n");
  await Deno.writeTextFile(join(shared, "x.env"), "B=1\n");
  await Deno.symlink(join(state, "workflows"), join(project, "wf"));
  await Deno.symlink(join(home, ".ssh"), join(project, "keys"));
  // held until restore: another file's test reading HOME meanwhile would see this one's
  const restore = await lockEnv(["HOME", "KODAMA_HOME"]);
  Deno.env.set("HOME", home);
  Deno.env.set("KODAMA_HOME", state);
  return { tmp, home, state, project, shared, restore };
}

async function thrown(p: Promise<unknown>): Promise<KodamaError> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof KodamaError, String(e));
    return e;
  }
  throw new Error("expected a refusal");
}

async function refused(p: Promise<unknown>, re: RegExp): Promise<KodamaError> {
  const e = await thrown(p);
  assertEquals(e.code, 4, e.message);
  assertMatch(e.message, re);
  return e;
}

Deno.test("doors: every path an agent or a page names is confined to the project or a granted path", async () => {
  const m = await machine();
  try {
    const door = await Door.open({
      who: "an MCP client",
      started: join(m.project),
      allow: [m.shared],
      flag: "kodama mcp --allow-path",
    });
    // inside the project, and inside the granted path: let through, as real paths
    assertEquals(await door.path(".env", "env file"), join(m.project, ".env"));
    assertEquals(await door.path(join(m.shared, "x.env"), "env file"), join(m.shared, "x.env"));
    assertEquals(await door.cwd(undefined), m.project);
    // kodama's state, directly and through a link in the project
    await refused(door.path(join(m.state, "workflows"), "sync root"), /kodama's own state/);
    await refused(door.path("wf", "sync root"), /kodama's own state/);
    await refused(door.path("wf/evil.yaml", "env file"), /kodama's own state/);
    // a hidden directory or file of the home, directly, through a link, by `..`
    await refused(door.path(join(m.home, ".ssh"), "sync root"), /hidden file or directory of your home/);
    await refused(door.path("keys/id_rsa", "env file"), /hidden file or directory of your home/);
    await refused(door.path(join(m.home, ".bashrc"), "env file"), /hidden file or directory/);
    await refused(door.path("../../.aws", "sync root"), /hidden file or directory/);
    // the home and what holds it (and so holds $KODAMA_HOME)
    await refused(door.path(m.home, "sync root"), /kodama's own state|home directory/);
    await refused(door.path("../../..", "sync root"), /holds/);
    await refused(door.path("/", "sync root"), /holds/);
    // `..` out of the project to a plain directory: outside, naming the flag that grants it
    const e = await refused(door.path("../other", "sync root"), /outside the project/);
    assertMatch(e.hint ?? "", /kodama mcp --allow-path DIR/);
    await refused(door.cwd(join(m.home, "src")), /outside the project/);
    await refused(door.cwd(m.state), /kodama's own state/);
    // a link that points at nothing could point anywhere later
    await Deno.symlink(join(m.tmp, "nowhere"), join(m.project, "dangling"));
    await refused(door.path("dangling/x", "sync root"), /points at nothing/);
  } finally {
    m.restore();
  }
});

Deno.test("doors: what is never granted, and a server started in the home directory", async () => {
  const m = await machine();
  try {
    for (
      const bad of [m.home, join(m.home, ".ssh"), m.state, join(m.state, "workflows"), join(m.home, "..")]
    ) {
      const e = await thrown(
        Door.open({ who: "the web UI", started: m.project, allow: [bad], flag: "kodama ui --allow-path" }),
      );
      assertEquals(e.code, 2, e.message);
      assertMatch(e.message, /--allow-path/);
    }
    // started in the home directory: no project root; only what is granted gets through
    const door = await Door.open({
      who: "an MCP client",
      started: m.home,
      allow: [m.shared],
      flag: "kodama mcp --allow-path",
    });
    assertEquals(door.project, undefined);
    await refused(door.cwd(undefined), /home directory|kodama.s own state/);
    await refused(
      door.path(join(m.project, ".env"), "env file"),
      /outside the paths granted .*no project root/,
    );
    assertEquals(await door.path(join(m.shared, "x.env"), "env file"), join(m.shared, "x.env"));
  } finally {
    m.restore();
  }
});

Deno.test("home as a repository (class 4): a dotfiles git repo at ~ is never the root of a project below it", async () => {
  const m = await machine();
  try {
    await Deno.mkdir(join(m.home, ".git"));
    const below = join(m.home, "work", "app");
    await Deno.mkdir(below, { recursive: true });
    assertEquals((await findRepo(below)).gitRoot, undefined);
    assertEquals((await findRepo(m.project)).gitRoot, m.project);
    assertEquals((await findRepo(m.home)).gitRoot, undefined);
    // a door opened there confines to the project directory, not the home
    const door = await Door.open({
      who: "an MCP client",
      started: below,
      allow: [],
      flag: "kodama mcp --allow-path",
    });
    assertEquals(door.project?.real, below);
    await refused(door.path("../../.ssh/id_rsa", "env file"), /hidden file/);
    await refused(door.path("../../src/proj/.env", "env file"), /outside the project/);
    assert(true);
  } finally {
    m.restore();
  }
});

Deno.test("a repository through a door: its git directory, main repository and objects pass it, not only its work tree", async () => {
  const m = await machine();
  try {
    const { repoThroughDoor } = await import("../../../src/session/git/gitrun.ts");
    const door = await Door.open({
      who: "an MCP client",
      started: m.project,
      allow: [],
      flag: "kodama mcp --allow-path",
    });
    // ~/.password-store: a git repository in a hidden directory of the home
    const store = join(m.home, ".password-store");
    await Deno.mkdir(store);
    git(["init", "-q", "-b", "main"], store);
    git(["commit", "-q", "--allow-empty", "-m", "secrets"], store);
    // the project's own repository passes
    git(["init", "-q", "-b", "main"], m.project);
    git(["commit", "-q", "--allow-empty", "-m", "one"], m.project);
    await repoThroughDoor(door, m.project, "the repository at cwd");
    // a `.git` FILE in a directory of the project naming the store's git directory
    const sub = join(m.project, "sub");
    await Deno.mkdir(sub);
    await Deno.writeTextFile(join(sub, ".git"), `gitdir: ${store}/.git\n`);
    const e = await refused(
      repoThroughDoor(door, sub, "the repository at cwd"),
      /^the git directory of the repository at cwd ".*\.password-store\/\.git" is a hidden file or directory of your home/,
    );
    assertMatch(e.hint ?? "", /never handed to an agent/);
    // ... and in the project's root itself
    await Deno.remove(join(m.project, ".git"), { recursive: true });
    await Deno.writeTextFile(join(m.project, ".git"), `gitdir: ${store}/.git\n`);
    await refused(repoThroughDoor(door, m.project, "the repository at cwd"), /git directory .*hidden file/);
    await Deno.remove(join(m.project, ".git"));
    await Deno.mkdir(join(m.project, ".git"));
    // a linked work tree in the project whose main repository is elsewhere: refused, naming what to grant
    const main = join(m.home, "src", "main");
    await Deno.mkdir(main);
    git(["init", "-q", "-b", "main"], main);
    git(["commit", "-q", "--allow-empty", "-m", "one"], main);
    git(["worktree", "add", "-q", "-b", "wt", join(m.project, "wt")], main);
    const w = await refused(
      repoThroughDoor(door, join(m.project, "wt"), "the repository at cwd"),
      /^the git directory of the repository at cwd .*main\/\.git\/worktrees\/wt.* leads outside the project/,
    );
    assertMatch(
      w.hint ?? "",
      new RegExp(
        `main repository: the person grants it by starting the server with \`kodama mcp --allow-path ${main}\``,
      ),
    );
    // granted its git directory only: the main repository is named, as the directory to grant
    const some = await Door.open({
      who: "an MCP client",
      started: m.project,
      allow: [join(main, ".git", "worktrees")],
      flag: "kodama mcp --allow-path",
    });
    const g = await refused(
      repoThroughDoor(some, join(m.project, "wt"), "the repository at cwd"),
      /^the main repository of the repository at cwd .*main\/\.git" leads outside the project/,
    );
    assertMatch(
      g.hint ?? "",
      new RegExp(
        `linked work tree keeps its branches and objects in its main repository: .*kodama mcp --allow-path ${main}\``,
      ),
    );
    // granted: let through
    const granted = await Door.open({
      who: "an MCP client",
      started: m.project,
      allow: [main],
      flag: "kodama mcp --allow-path",
    });
    await repoThroughDoor(granted, join(m.project, "wt"), "the repository at cwd");
  } finally {
    m.restore();
  }
});

Deno.test("doors: a workflow is named as the list shows it, never a file by its path", async () => {
  const m = await machine();
  try {
    const door = await Door.open({ who: "an MCP client", started: m.project, allow: [], flag: "x" });
    for (const ok of ["kwekash", "health", "my-flow_2", "a.b"]) assertEquals(door.workflowName(ok), ok);
    for (
      const bad of [
        "../../.ssh/creds.yaml",
        join(m.home, ".ssh", "creds.yaml"),
        "creds.yaml",
        "creds.YML",
        "sub/x",
        ".hidden",
        "-rf",
        "",
        "a\nb",
      ]
    ) {
      let e: unknown;
      try {
        door.workflowName(bad);
      } catch (x) {
        e = x;
      }
      assert(e instanceof KodamaError, bad);
      assertEquals(e.code, 2, e.message);
      assertMatch(e.message, /^not a workflow name: .*an MCP client runs workflows by the names/);
      assert(!e.message.includes("\n"), e.message);
    }
  } finally {
    m.restore();
  }
});
