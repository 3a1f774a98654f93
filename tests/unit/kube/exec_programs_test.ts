/**
 * The programs kodama's exec wraps every command in (src/kube/pod/wraphead.sh, wrap.sh, hold.sh) and the
 * one that ends a cut-off run (killer.sh), run here with the machine's sh as a container's exec runs them.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { EXEC_PROGRAMS } from "../../../src/kube/exec.ts";

const { MARK, WRAPPER, HOLDING_WRAPPER, KILLER, EXEC_HOLDER_MARK } = EXEC_PROGRAMS;
const dec = new TextDecoder();

async function sh(args: string[], stdin?: string): Promise<{ code: number; out: string }> {
  const c = new Deno.Command("sh", { args, stdin: stdin === undefined ? "null" : "piped", stdout: "piped" })
    .spawn();
  if (stdin !== undefined) {
    // a program may end before it reads its stdin: a broken pipe then is no failure
    const w = c.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  const r = await c.output();
  return { code: r.code, out: dec.decode(r.stdout) };
}

Deno.test({
  name:
    "exec programs: the wrapper reports the PID, tags the run and becomes the command; a missing one is said",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const r = await sh(["-c", WRAPPER, "kodama-t1", "sh", "-c", 'echo "run=$KODAMA_RUN"; exit 3']);
    assertEquals(r.code, 3);
    assertMatch(r.out, new RegExp(`^${MARK}pid \\d+\\nrun=kodama-t1\\n$`));
    const missing = await sh(["-c", WRAPPER, "kodama-t2", "no-such-command-kodama"]);
    assertEquals([missing.code, missing.out], [127, `${MARK}notfound\n`]);
  },
});

Deno.test({
  name:
    "exec programs: the holding wrapper streams stdin to its child, waits, and carries the idle watchdog's mark",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    assert(HOLDING_WRAPPER.trimEnd().endsWith(`# ${EXEC_HOLDER_MARK}`));
    assert(!WRAPPER.includes(EXEC_HOLDER_MARK));
    const r = await sh(
      ["-c", HOLDING_WRAPPER, "kodama-t3", "sh", "-c", "wc -c; exit 4"],
      "x".repeat(300_000),
    );
    assertEquals(r.code, 4);
    assertMatch(r.out, new RegExp(`^${MARK}pid \\d+\\n\\s*300000\\n$`));
  },
});

Deno.test({
  name: "exec programs: the killer ends the processes tagged with the run's id and counts them",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const tag = `kodama-t${Date.now()}`;
    const run = new Deno.Command("sh", { args: ["-c", WRAPPER, tag, "sleep", "60"], stdout: "piped" })
      .spawn();
    // the PID line: the tagged command runs
    const reader = run.stdout.getReader();
    let head = "";
    while (!head.includes("\n")) head += dec.decode((await reader.read()).value);
    assertMatch(head, new RegExp(`^${MARK}pid \\d+`));
    // the line comes before the wrapper's `exec`, and only the exec'd command's environment carries the tag
    // (a shell's /proc/PID/environ is what it started with): wait until the command runs (at five test files
    // side by side the killer once looked in between)
    const pid = Number(head.slice(MARK.length).match(/pid (\d+)/)![1]);
    while (!Deno.readTextFileSync(`/proc/${pid}/environ`).includes(`KODAMA_RUN=${tag}`)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const k = await sh(["-c", KILLER, "kodama-stop", ...halves(tag), "-"]);
    assertEquals([k.code, k.out.trim()], [0, "1"]);
    const st = await run.status;
    assertEquals(st.signal, "SIGTERM");
    reader.releaseLock();
    await run.stdout.cancel();
    // nothing left with that tag: none found
    assertEquals((await sh(["-c", KILLER, "kodama-stop", ...halves(tag), "-"])).out.trim(), "0");
    await Deno.remove(cancelled(tag)).catch(() => {});
  },
});

/** The tag as the killer takes it: in two halves (whole, its own command line would carry it). */
const halves = (tag: string) => [tag.slice(0, 9), tag.slice(9)];
const cancelled = (tag: string) => `/tmp/.kodama-cancelled-${tag}`;

Deno.test({
  name:
    "exec programs: a run cut off before it started never starts; one still starting is found by its command line",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // the killer came first (the exec was still opening): nothing found, and the run is marked ...
    const tag = `kodama-r${Date.now()}`;
    const k = await sh(["-c", KILLER, "kodama-stop", ...halves(tag), "-"]);
    assertEquals(k.out.trim(), "0");
    assert(Deno.statSync(cancelled(tag)).isFile, "the mark is left for a wrapper still to come");
    // ... so the wrapper that arrives after never runs its command, and takes the mark away
    const late = await sh(["-c", WRAPPER, tag, "sh", "-c", "echo ran"]);
    assertEquals([late.code, late.out], [130, ""]);
    assertEquals(await Deno.stat(cancelled(tag)).then(() => true, () => false), false);

    // a wrapper between its start and its exec (its environment not tagged yet, its PID not told): found by
    // the tag in its command line, ended, counted, and no mark left behind
    const tag2 = `kodama-s${Date.now()}`;
    const slow = new Deno.Command("sh", { args: ["-c", "echo up; sleep 30", tag2], stdout: "piped" }).spawn();
    const reader = slow.stdout.getReader();
    assertEquals(dec.decode((await reader.read()).value), "up\n");
    const k2 = await sh(["-c", KILLER, "kodama-stop", ...halves(tag2), "-"]);
    assertEquals(k2.out.trim(), "1");
    assertEquals((await slow.status).signal, "SIGTERM");
    assertEquals(await Deno.stat(cancelled(tag2)).then(() => true, () => false), false);
    reader.releaseLock();
    await slow.stdout.cancel();
  },
});
