/**
 * The pod-side change detector (WATCH_SCRIPT) without a cluster, run by the host's sh and tools and by
 * busybox's applets only: its rounds, merged as the sync loop merges them, follow creates, edits (with
 * the new md5), deletes, chmods and symlinks; and an idle round walks the tree once and starts no other
 * process: one `find` (every command is counted by a shim in front of the real one, with the host's sh:
 * busybox sh runs its applets without a PATH lookup), no `touch`, no `sleep` (the rounds are paced over
 * its stdin, as the sync loop paces them); and it ends when its stdin ends.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  EVENT_WALK_EVERY,
  mergeRound,
  parseRound,
  type PodEntry,
  PRINTF,
  STAT,
  watcherCommand,
} from "../../../../src/session/sync/podside.ts";
import { hashBytes } from "../../../../src/session/sync/ancestor.ts";
import { BUSYBOX } from "../../../_sync_tree.ts";
import { SideBySide } from "../../../_side_by_side.ts";

const APPLETS = [
  "sh",
  "find",
  "stat",
  "awk",
  "md5sum",
  "readlink",
  "mktemp",
  "touch",
  "sleep",
  "rm",
  "printf",
];
type Shell = "host" | "busybox";
const SHELLS: Shell[] = BUSYBOX ? ["host", "busybox"] : ["host"];

/** The host's program of this name (searched in PATH). */
function which(name: string): string {
  for (const d of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${d}/${name}`).isFile) return `${d}/${name}`;
    } catch { /* not here */ }
  }
  throw new Error(`no ${name} in PATH`);
}

/** A PATH where each command (but `sh`) logs its name to `log` (one line a run) before running the real one. */
async function shimPath(shell: Shell, log: string, node = false): Promise<{ sh: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-watch-bin-" });
  const sh = shell === "busybox" ? `${dir}/sh` : "/bin/sh";
  if (shell === "busybox") {
    await Deno.symlink(BUSYBOX!, `${dir}/sh`);
    await Deno.symlink(BUSYBOX!, `${dir}/busybox`);
  }
  for (const a of APPLETS) {
    if (a === "sh") continue;
    const real = shell === "busybox" ? `${dir}/busybox ${a}` : which(a);
    await Deno.writeTextFile(`${dir}/${a}`, `#!${sh}\necho ${a} >> '${log}'\nexec ${real} "$@"\n`);
    await Deno.chmod(`${dir}/${a}`, 0o755);
  }
  if (node) {
    await Deno.writeTextFile(`${dir}/node`, `#!${sh}\necho node >> '${log}'\nexec ${which("node")} "$@"\n`);
    await Deno.chmod(`${dir}/node`, 0o755);
  }
  return { sh, path: dir };
}

class Watch {
  state = new Map<string, PodEntry>();
  rounds = 0;
  /** rounds that said `@events` (the notifier is up) */
  eventRounds = 0;
  /** rounds since the last one that did not say `@events` (the notifier was not up for its walk) */
  eventStreak = 0;
  #child: Deno.ChildProcess;
  #done: Promise<void>;
  #tick?: ReturnType<typeof setTimeout>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  constructor(sh: string, path: string, root: string, full: number, events = false) {
    const child = this.#child = new Deno.Command(sh, {
      args: watcherCommand(root, { full, tick: 0.2, git: false, events }).slice(1),
      env: { PATH: path },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    // paced as the sync loop paces it: a line on stdin 0.2 s after each round's end starts the next
    const stdin = this.#stdin = child.stdin.getWriter();
    this.#done = (async () => {
      let buf = "", lines: string[] = [], isFull = false, said = false;
      for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += c;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === "@full" || line === "@since") [isFull, lines] = [line === "@full", []];
          else if (line === "@events") [this.eventRounds, said] = [this.eventRounds + 1, true];
          else if (line === "@end") {
            mergeRound(this.state, parseRound(lines, isFull));
            this.rounds++;
            this.eventStreak = said ? this.eventStreak + 1 : 0;
            said = false;
            this.#tick = setTimeout(() => void stdin.write(new Uint8Array([10])).catch(() => {}), 200);
          } else lines.push(line);
        }
      }
    })();
  }
  /** Wait (generously) until `ok` holds for the merged state. */
  async until(what: string, ok: (s: Map<string, PodEntry>) => boolean): Promise<void> {
    const end = Date.now() + 60_000;
    while (!ok(this.state)) {
      if (Date.now() > end) throw new Error(`the watcher never saw: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async rounds_(n: number): Promise<void> {
    const want = this.rounds + n;
    await this.until(`${n} more rounds`, () => this.rounds >= want);
  }
  /** The end of its stdin, as when the sync loop that paces it is gone. */
  async closeStdin(): Promise<void> {
    clearTimeout(this.#tick);
    await this.#stdin.close().catch(() => {});
  }
  /** Its exit, waited for (generously). */
  async status(): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.#child.status,
        new Promise<never>((_, rej) =>
          timer = setTimeout(() => rej(new Error("the watcher never ended")), 60_000)
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
  async stop(): Promise<void> {
    clearTimeout(this.#tick);
    try {
      this.#child.kill();
    } catch { /* gone */ }
    await this.#done.catch(() => {});
    await this.#child.status;
  }
}

/** Pids of the processes whose working directory is `dir` (the notifier's is the workspace). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/cwd`) === dir) pids.push(Number(e.name));
    } catch { /* gone, or not ours */ }
  }
  return pids;
}

/** Each test paces a watcher's rounds: they run side by side (own trees, own shims and logs). */
const family = new SideBySide("watcher rounds (side by side)");

for (const shell of SHELLS) {
  for (const events of [false, true]) {
    family.test(
      `watcher (${shell}${
        events ? ", node's notifier" : ""
      }): rounds follow create, edit, delete, chmod, symlink; an idle round walks ${
        events ? "nothing" : "once"
      }`,
      async () => {
        const root = await Deno.makeTempDir({ prefix: "kodama-watch-" });
        const log = `${root}.finds`;
        const { sh, path } = await shimPath(shell, log, events);
        await Deno.mkdir(`${root}/src/deep`, { recursive: true });
        await Deno.writeTextFile(`${root}/src/a.txt`, "a\n");
        await Deno.writeTextFile(`${root}/src/deep/b.txt`, "b\n");
        await Deno.mkdir(`${root}/.git`);
        await Deno.writeTextFile(`${root}/.git/HEAD`, "ref\n");
        const w = new Watch(sh, path, root, 1000, events);
        try {
          await w.until("the first listing", (s) => s.has("src/deep/b.txt"));
          assertEquals(w.state.get("src/a.txt")?.kind, "file");
          assertEquals(w.state.get("src/deep")?.kind, "dir");
          assert(![...w.state.keys()].some((p) => p.startsWith(".git")), "`.git` is not looked into");

          const text = "created in the pod\n";
          await Deno.writeTextFile(`${root}/src/new.txt`, text);
          const want = await hashBytes(new TextEncoder().encode(text));
          await w.until("a new file with its md5", (s) => s.get("src/new.txt")?.hash === want);

          await Deno.writeTextFile(`${root}/src/a.txt`, "edited, longer\n");
          const h = await hashBytes(new TextEncoder().encode("edited, longer\n"));
          await w.until(
            "an edit with its new md5",
            (s) => s.get("src/a.txt")?.hash === h && s.get("src/a.txt")?.size === 15,
          );

          await Deno.remove(`${root}/src/deep/b.txt`);
          await w.until("a delete", (s) => !s.has("src/deep/b.txt"));

          await Deno.chmod(`${root}/src/new.txt`, 0o700);
          await w.until("a chmod", (s) => s.get("src/new.txt")?.mode === 0o700);

          await Deno.symlink("a.txt", `${root}/src/link`);
          await w.until("a symlink with its target", (s) => s.get("src/link")?.link === "a.txt");

          // a directory made and written at once, and a tree moved in, then written into: each is seen
          await Deno.mkdir(`${root}/src/fresh/er`, { recursive: true });
          await Deno.writeTextFile(`${root}/src/fresh/er/x.txt`, "x\n");
          await w.until("a file in a new directory", (s) => s.has("src/fresh/er/x.txt"));
          await Deno.mkdir(`${root}.out/t/u`, { recursive: true });
          await Deno.writeTextFile(`${root}.out/t/u/v.txt`, "v\n");
          await Deno.rename(`${root}.out/t`, `${root}/src/moved`);
          await w.until("a tree moved in", (s) => s.has("src/moved/u/v.txt"));
          await Deno.writeTextFile(`${root}/src/moved/u/w.txt`, "w\n");
          await w.until("a file written into the moved tree", (s) => s.has("src/moved/u/w.txt"));

          if (events) {
            // after a quiet spell, a change is seen at the next walk it marks, not at the backstop's
            await w.rounds_(EVENT_WALK_EVERY + 2);
            const at = w.rounds;
            await Deno.writeTextFile(`${root}/src/deep/late.txt`, "late\n");
            await w.until("a change after a quiet spell", (s) => s.has("src/deep/late.txt"));
            assert(
              w.rounds - at <= 3,
              `seen ${w.rounds - at} rounds after the change: the mark did not open a walk`,
            );
          }

          // idle: one walk (one `find`) per round — with the notifier, one every EVENT_WALK_EVERY + 1
          // rounds — and no other process
          // (a walk lists what changed since the walk two before: with the notifier, wait for two walks)
          // The notifier's readiness is an event, not a time: until node has its watches (slow on a busy
          // machine) the watcher rightly walks every round, so the count starts once rounds say `@events`.
          if (events) await w.until("the notifier up", () => w.eventStreak >= 1);
          await w.rounds_(events ? 2 * (EVENT_WALK_EVERY + 1) + 2 : 2);
          await Deno.writeTextFile(log, "");
          const before = w.rounds, streak = w.eventStreak;
          await w.rounds_(events ? 2 * (EVENT_WALK_EVERY + 1) : 5);
          if (events) {
            const rounds = w.rounds - before;
            assert(w.eventStreak - streak === rounds, "the notifier went down while the tree was idle");
          }
          // busybox sh runs its own applets without looking in PATH, so no shim sees them: the processes
          // of a round (the same script) are counted with the host's sh
          if (shell === "host" && events) {
            const ran = (await Deno.readTextFile(log)).split("\n").filter(Boolean);
            const finds = ran.filter((c) => c === "find").length;
            const rounds = w.rounds - before;
            const most = Math.ceil(rounds / (EVENT_WALK_EVERY + 1)) + 1;
            assert(finds >= 1, `no walk over ${rounds} idle rounds: the backstop did not walk`);
            assert(finds <= most, `${finds} find runs over ${rounds} idle rounds (at most ${most})`);
            assertEquals(
              ran.filter((c) => c !== "find"),
              [],
              "an idle round starts no process but a backstop find",
            );
          } else if (shell === "host") {
            const ran = (await Deno.readTextFile(log)).split("\n").filter(Boolean);
            const finds = ran.filter((c) => c === "find").length;
            const rounds = w.rounds - before;
            assert(rounds >= 5);
            assert(
              finds >= rounds - 1,
              `${finds} find runs over ${rounds} idle rounds: a round did not look`,
            );
            assert(
              finds <= rounds + 1,
              `${finds} find runs over ${rounds} idle rounds: more than one walk a round`,
            );
            assertEquals(ran.filter((c) => c !== "find"), [], "an idle round starts no process but its find");
          }

          // stdin ends (the sync loop is gone): the watcher ends too, and so does the notifier
          if (events) {
            assertEquals(processesIn(root).length >= 2, true, "the notifier runs beside the watcher");
            // the rounds say it is up (the sync loop then keeps them TICK_S apart when idle)
            assert(w.eventRounds >= w.rounds - 20, `${w.eventRounds} of ${w.rounds} rounds said @events`);
          } else assertEquals(w.eventRounds, 0, "no notifier, no @events");
          await w.closeStdin();
          assertEquals((await w.status()).success, true);
          for (let n = 0; processesIn(root).length && n < 50; n++) {
            await new Promise((r) => setTimeout(r, 100));
          }
          assertEquals(processesIn(root), [], "nothing of the watcher's is left running");
        } finally {
          await w.stop();
          await Deno.remove(root, { recursive: true }).catch(() => {});
          await Deno.remove(log).catch(() => {});
          await Deno.remove(`${root}.out`, { recursive: true }).catch(() => {});
        }
      },
    );
  }
}

Deno.test("watcher: GNU find's -printf lines parse to the same entries and stat keys as stat's", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-watch-printf-" });
  try {
    await Deno.mkdir(`${root}/d/e`, { recursive: true });
    await Deno.writeTextFile(`${root}/d/a.txt`, "some text\n");
    await Deno.writeTextFile(`${root}/d/e/run.sh`, "#!/bin/sh\n");
    await Deno.chmod(`${root}/d/e/run.sh`, 0o4755);
    await Deno.chmod(`${root}/d/e`, 0o1777);
    await Deno.writeTextFile(`${root}/d/with space`, "");
    await Deno.symlink("a.txt", `${root}/d/link`);
    const find = async (...action: string[]) => {
      const out = await new Deno.Command("find", { args: [".", "!", "-name", ".", ...action], cwd: root })
        .output();
      assert(out.success);
      return new TextDecoder().decode(out.stdout).split("\n");
    };
    const printf = await find("-printf", PRINTF.replace("\\n", "\n"));
    assert(/^\d+ \d+ [fdl] [0-7]+ \.\//.test(printf[0]), `not find's -printf line: ${printf[0]}`);
    const viaPrintf = parseRound(printf, true).entries;
    // the watcher's stat command (STAT), as find -exec runs it
    assertEquals(STAT, "stat -c '%s %Y %f %n'");
    const viaStat = parseRound(await find("-exec", "stat", "-c", "%s %Y %f %n", "{}", "+"), true).entries;
    assertEquals(viaPrintf.size, 6);
    assertEquals(viaPrintf, viaStat);
    assertEquals(viaPrintf.get("d/e/run.sh")?.mode, 0o4755);
    assertEquals(viaPrintf.get("d/e")?.mode, 0o1777);
    assertEquals(viaPrintf.get("d/link")?.kind, "symlink");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("watcher: a directory whose mtime alone moved is no change to plan for; a chmod of it is", () => {
  const state = new Map<string, PodEntry>();
  mergeRound(state, parseRound(["4096 100 41ed ./d", "3 100 81a4 ./d/a"], true));
  // a file made in it: the file is the change, not the directory's new mtime
  assertEquals(
    mergeRound(
      state,
      parseRound(["4096 105 41ed ./d", "2 105 81a4 ./d/b", "D ./d", "3 100 81a4 ./d/a"], false),
    ),
    [
      "d/b",
    ],
  );
  assertEquals(state.get("d")?.mtime, 105);
  // a chmod of the directory is
  assertEquals(mergeRound(state, parseRound(["4096 105 41c0 ./d"], false)), ["d"]);
  assertEquals(state.get("d")?.mode, 0o700);
  // and so is a directory replaced by a file
  assertEquals(mergeRound(state, parseRound(["9 106 81a4 ./d"], true)), ["d/a", "d/b", "d"]);
});
