/**
 * #81 point 5: `session land` of several repositories through a door (an MCP client, a page, the editor): every
 * repository's recorded path must pass the door before anything runs (exit 4 naming it; nothing written, no
 * git run there), and each repository's git is door git of its own — a program the second repository names
 * (its config's core.fsmonitor, a hook) never runs, and all-or-none still holds: a failure after the first
 * write puts both back, index included (written under index.lock). In-process: withRepoGits + landLocal.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { type Head, headOf, landLocal } from "../../../src/session/git/landrepos.ts";
import { type RepoFetched, withRepoGits } from "../../../src/session/git/fetchrepos.ts";
import { Door } from "../../../src/config/doors.ts";
import type { StateRepo } from "../../../src/session/state/state.ts";
import type { KodamaError } from "../../../src/base/errors.ts";
import { lockEnv } from "../../_env_lock.ts";

const run = (cwd: string, ...args: string[]) => {
  const r = new Deno.Command("git", {
    args: ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trimEnd();
};

/** Two repositories under `top/proj` (a: fast-forward, b: merge), b naming a marker program everywhere. */
async function world() {
  const top = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-landdoor-" }));
  const proj = `${top}/proj`, a = `${proj}/a`, b = `${proj}/b`, marks = `${top}/marks`;
  for (const d of [a, b]) {
    await Deno.mkdir(d, { recursive: true });
    run(d, "init", "-q", "-b", "main");
    run(d, "config", "user.name", "me");
    run(d, "config", "user.email", "me@here");
    await Deno.writeTextFile(`${d}/f.txt`, "one\n");
    await Deno.writeTextFile(`${d}/g.txt`, "g\n");
    run(d, "add", "-A");
    run(d, "commit", "-qm", "one");
    run(d, "checkout", "-q", "-b", "kodama/s");
    await Deno.writeTextFile(`${d}/f.txt`, "from the session\n");
    run(d, "commit", "-qam", "session");
    run(d, "checkout", "-q", "main");
  }
  await Deno.writeTextFile(`${b}/g.txt`, "mine\n");
  run(b, "commit", "-qam", "local");
  // b names a program: its fsmonitor and every hook a land could meet
  const prog = `${top}/prog.sh`;
  await Deno.writeTextFile(prog, `#!/bin/sh\ntouch "${marks}"\n`);
  await Deno.chmod(prog, 0o755);
  run(b, "config", "core.fsmonitor", prog);
  for (const h of ["reference-transaction", "post-checkout", "post-merge", "post-index-change"]) {
    await Deno.copyFile(prog, `${b}/.git/hooks/${h}`);
    await Deno.chmod(`${b}/.git/hooks/${h}`, 0o755);
  }
  const repos: StateRepo[] = [{ name: "a", path: a }, { name: "b", path: b }];
  const fetched = (heads: Head[]): RepoFetched[] =>
    heads.map((h) => {
      const head = run(h.root, "rev-parse", "kodama/s");
      return {
        repo: h.repo,
        root: h.root,
        before: head,
        f: {
          h: { head, branch: "kodama/s-1", branches: new Map(), roots: [] },
          local: "kodama/s",
          bytes: 0,
          others: [],
        },
      };
    });
  const look = () =>
    [a, b].map((
      d,
    ) => [run(d, "rev-parse", "main"), run(d, "ls-files", "-s"), run(d, "status", "--porcelain")]);
  const door = await Door.open({ who: "a test client", started: proj, allow: [], flag: "--allow-path" });
  const marked = () => Deno.lstat(marks).then(() => true, () => false);
  return { top, proj, a, b, repos, fetched, look, door, marked };
}

/** The landing through the door: each repository's head and plan under its own door git. */
const land = (w: Awaited<ReturnType<typeof world>>, o: Parameters<typeof landLocal>[3] = {}) =>
  withRepoGits(w.repos, "session land", w.door, async (roots, at) => {
    const heads: Head[] = [];
    for (const r of w.repos) heads.push(await at(roots.get(r.name)!, () => headOf(r, "s")));
    return await landLocal(heads, w.fetched(heads), "s", { ...o, at });
  });

Deno.test("land of several through a door: both land, each by its own door git; b's programs never run", async () => {
  const w = await world();
  try {
    const plans = await land(w);
    assertEquals(plans.map((p) => p.kind), ["fast-forward", "merge"]);
    assertEquals(run(w.a, "rev-parse", "main"), run(w.a, "rev-parse", "kodama/s"));
    assertEquals(run(w.b, "rev-list", "--parents", "-1", "main").split(" ").length, 3);
    assertEquals(await Deno.readTextFile(`${w.b}/f.txt`), "from the session\n");
    assertEquals(run(w.b, "status", "--porcelain"), "");
    assertEquals(await w.marked(), false, "a program named by repository b ran");
  } finally {
    await Deno.remove(w.top, { recursive: true });
  }
});

Deno.test("land of several through a door: a failure after b's write puts both back (index too)", async () => {
  const w = await world();
  try {
    const was = w.look();
    const e = await assertRejects(() =>
      land(w, {
        afterWrite: (r) => {
          if (r === "b") throw new Error("planted");
        },
      })
    );
    assertMatch(e.message, /repository b: planted/);
    assertEquals(w.look(), was);
    assertEquals(await w.marked(), false);
  } finally {
    await Deno.remove(w.top, { recursive: true });
  }
});

Deno.test("land of several through a door: a recorded repository the door does not let through is refused first", async () => {
  const w = await world();
  try {
    // outside the project: a sibling, a link inside the project leading out, a .git file naming one outside
    const out = `${w.top}/elsewhere`;
    await Deno.mkdir(out);
    run(out, "init", "-q", "-b", "main");
    await Deno.symlink(out, `${w.proj}/link`);
    await Deno.mkdir(`${w.proj}/c`);
    await Deno.writeTextFile(`${w.proj}/c/.git`, `gitdir: ${out}/.git\n`);
    const was = w.look();
    for (const path of [out, `${w.proj}/link`, `${w.proj}/c`, `${w.proj}/../elsewhere`]) {
      const planted: StateRepo[] = [w.repos[0], { name: "victim", path }];
      const e = await assertRejects(() =>
        withRepoGits(planted, "session land", w.door, () => {
          throw new Error("reached git");
        })
      ) as KodamaError;
      assertEquals(e.code, 4, `${path}: ${e.message}`);
      assertMatch(e.message, /^session land: repository victim: /, path);
      assertEquals(w.look(), was);
    }
    // the same repositories without a door: as the terminal always did
    let reached = false;
    await withRepoGits([w.repos[0], { name: "victim", path: out }], "session land", undefined, () => {
      reached = true;
      return Promise.resolve();
    });
    assert(reached);
  } finally {
    await Deno.remove(w.top, { recursive: true });
  }
});

Deno.test("KODAMA_DOOR_GIT=1 (the editor, a workflow step): the started directory, and KODAMA_DOOR_ALLOW's, only", async () => {
  const w = await world();
  const restore = await lockEnv(["KODAMA_DOOR_GIT", "KODAMA_DOOR_ALLOW"]);
  try {
    Deno.env.set("KODAMA_DOOR_GIT", "1");
    Deno.env.delete("KODAMA_DOOR_ALLOW");
    // this process runs elsewhere (the test's cwd): a and b are outside what door git may touch
    const e = await assertRejects(() =>
      withRepoGits(w.repos, "session fetch", undefined, () => Promise.reject(new Error("reached git")))
    ) as KodamaError;
    assertEquals(e.code, 4, e.message);
    assertMatch(e.message, /^session fetch: repository a: /);
    assertMatch(e.hint ?? "", /KODAMA_DOOR_ALLOW=/);
    // the editor lists its workspace folders: both pass, each by door git of its own
    Deno.env.set("KODAMA_DOOR_ALLOW", `${w.a}:${w.b}`);
    const roots = await withRepoGits(w.repos, "session fetch", undefined, (r) => Promise.resolve(r));
    assertEquals([...roots.values()], [w.a, w.b]);
    // one of them only: the other is refused by name
    Deno.env.set("KODAMA_DOOR_ALLOW", w.a);
    const one = await assertRejects(() =>
      withRepoGits(w.repos, "session fetch", undefined, () => Promise.reject(new Error("reached git")))
    ) as KodamaError;
    assertEquals(one.code, 4);
    assertMatch(one.message, /^session fetch: repository b: /);
  } finally {
    restore();
    await Deno.remove(w.top, { recursive: true });
  }
});
