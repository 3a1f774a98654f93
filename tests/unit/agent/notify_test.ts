/**
 * Being told (src/agent/notify/notify.ts, outcome.js's needsInput, platform.ts's desktopNotifyCommand): which
 * event a run's end is, the one-line summary, the terminal's OSC 9/777 + bell with the agent's text made
 * safe, and the desktop notifier's command per OS with the text never where it could be code.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  classify,
  factsOf,
  isQuestion,
  needsInput,
  type Outcome,
} from "../../../src/agent/outcome/outcome.ts";
import {
  announceRunEnd,
  eventOf,
  noteOfRun,
  type RunEndNote,
  summaryLine,
  terminalNotification,
} from "../../../src/agent/notify/notify.ts";
import { groupNote, type ReplicaRow } from "../../../src/agent/group/compare.ts";
import { desktopNotifyCommand, type NotifyCommand, platformFor } from "../../../src/base/platform.ts";

const ok: Outcome = { class: "succeeded", retryable: false, message: "done" };
const line = (o: unknown) => JSON.stringify(o);

Deno.test("isQuestion: a last sentence that asks, past closing quotes, emphasis and brackets", () => {
  for (
    const q of [
      "Should I also fix the tests?",
      "Which one do you want: A or B?**",
      'Proceed with "x"?"',
      "続けますか？",
    ]
  ) {
    assert(isQuestion(q), q);
  }
  for (
    const s of ["Done. Tests pass.", "I asked myself why? Then fixed it.", "", "What now? I'll wait here."]
  ) {
    assert(!isQuestion(s), s);
  }
});

Deno.test("needsInput: denied uses, a budget, a question as the final message; else nothing", () => {
  const claude = factsOf([
    line({ type: "system", subtype: "init", model: "m", session_id: "s" }),
    line({
      type: "assistant",
      message: { id: "a", model: "m", content: [{ type: "text", text: "Shall I go on?" }] },
    }),
    line({ type: "result", subtype: "success", is_error: false, result: "Shall I go on?" }),
  ].join("\n"));
  const o = classify(claude, { state: "succeeded", exitCode: 0 });
  assertEquals(needsInput(claude, o), "question");
  const plain = factsOf(line({ type: "result", subtype: "success", is_error: false, result: "All done." }));
  assertEquals(needsInput(plain, classify(plain, { state: "succeeded", exitCode: 0 })), undefined);
  assertEquals(
    needsInput(plain, { class: "denied", retryable: false, message: "2 tool uses denied" }),
    "denied",
  );
  assertEquals(needsInput(plain, ok, { state: "succeeded", denied: 1 }), "denied");
  assertEquals(needsInput(plain, { class: "budget", retryable: false, message: "max turns" }), "budget");
  // a failed run that happens to end in a question is a failure, not a question
  const failed = factsOf(line({ type: "result", subtype: "error", is_error: true, result: "Why 500?" }));
  assertEquals(needsInput(failed, classify(failed, { state: "failed", exitCode: 1 })), undefined);
  // a stopped run is nobody's question
  assertEquals(
    needsInput(claude, { class: "interrupted", retryable: false, message: "stopped (agent stop)" }),
    undefined,
  );
});

Deno.test("the last message is read from Codex's and the Gemini CLI's streams too", () => {
  const codex = factsOf([
    line({ type: "thread.started", thread_id: "t" }),
    line({
      type: "item.completed",
      item: { id: "1", type: "agent_message", text: "Which branch should I use?" },
    }),
    line({ type: "turn.completed", usage: {} }),
  ].join("\n"));
  assertEquals(codex.lastMessage, "Which branch should I use?");
  const gemini = factsOf([
    line({ type: "init", model: "g", session_id: "s" }),
    line({ type: "message", role: "user", content: "hi" }),
    line({ type: "message", role: "assistant", content: "Do you want ", delta: true }),
    line({ type: "message", role: "assistant", content: "tests too?", delta: true }),
    line({ type: "result", status: "success", stats: {} }),
  ].join("\n"));
  assertEquals(gemini.lastMessage, "Do you want tests too?");
  assertEquals(needsInput(gemini, classify(gemini, { state: "succeeded", exitCode: 0 })), "question");
});

Deno.test("eventOf: done, failed (every failing class, stalled too), needs-input; a stop says nothing", () => {
  assertEquals(eventOf(ok), "done");
  assertEquals(eventOf({ class: "no-changes", retryable: false, message: "" }), "done");
  assertEquals(eventOf({ class: "stalled", retryable: false, message: "" }), "failed");
  assertEquals(eventOf({ class: "auth", retryable: false, message: "" }), "failed");
  assertEquals(eventOf(ok, "question"), "needs-input");
  assertEquals(
    eventOf({ class: "interrupted", retryable: false, message: "stopped (agent stop)" }),
    undefined,
  );
  assertEquals(eventOf({ class: "running", retryable: false, message: "running" }), undefined);
});

Deno.test("noteOfRun: a run's outcome words, why it waits, what it changed, in one line", () => {
  const n = noteOfRun("my-work", {
    id: "3",
    state: "succeeded",
    exitCode: 0,
    truth: {
      toolCalls: 2,
      denied: 0,
      final: "Done. Should I open a PR?",
      commits: 1,
      filesChanged: 2,
      fromLog: true,
    },
  });
  assertEquals(n?.event, "needs-input");
  assertEquals(n?.reason, "question");
  assertEquals(
    summaryLine(n!),
    "my-work run 3 needs input: it asks you something (succeeded; 2 files, 1 commit)",
  );
  const bad = noteOfRun("my-work", {
    id: "4",
    state: "failed",
    exitCode: 1,
    truth: { toolCalls: 0, denied: 0, error: "invalid x-api-key", fromLog: true },
  });
  assertEquals(bad?.event, "failed");
});

Deno.test("terminalNotification: OSC 9, OSC 777 and the bell; the agent's controls never reach the terminal", () => {
  const s = terminalNotification("kodama: a;b", "run 1 failed: \x1b]52;c;ZXZpbA==\x07boom\nnext\x1b[2J");
  assert(s.startsWith("\x1b]9;kodama: a,b: "));
  assert(s.includes("\x1b]777;notify;kodama: a,b;run 1 failed: boom next\x07"));
  assert(s.endsWith("\x07\x07"));
  // exactly the three sequences' own ESC/BEL: nothing of the agent's
  assertEquals(s.split("\x1b").length - 1, 2);
  assertEquals(s.split("\x07").length - 1, 3);
  assert(!s.includes("52;c") && !s.includes("[2J") && !s.includes("\n"));
});

const EVIL = `"); do shell script "rm -rf ~" --`;

Deno.test("desktopNotifyCommand: osascript's `on run argv` with the text as data (macOS)", () => {
  const c = desktopNotifyCommand(platformFor("darwin", () => undefined), "kodama: x", EVIL)!;
  assertEquals(c.argv[0], "osascript");
  const source = c.argv.filter((_, i) => c.argv[i - 1] === "-e");
  assertEquals(source, [
    "on run argv",
    "display notification (item 2 of argv) with title (item 1 of argv)",
    "end run",
  ]);
  // the text is an argument after the script, never part of it
  assertEquals(c.argv.slice(-2), ["kodama: x", EVIL]);
  assert(source.every((l) => !l.includes("rm -rf")));
  // a word that starts with `-` cannot pass for an osascript option
  const dash = desktopNotifyCommand(platformFor("darwin", () => undefined), "t", "-e boom")!;
  assertEquals(dash.argv.at(-1), " -e boom");
});

Deno.test("desktopNotifyCommand: notify-send after `--` (Linux); none without a display", () => {
  const env = (n: string) => (n === "DISPLAY" ? ":0" : undefined);
  const c = desktopNotifyCommand(platformFor("linux", env), "kodama: x", "--help me")!;
  assertEquals(c.argv, ["notify-send", "--app-name=kodama", "--", "kodama: x", "--help me"]);
  assertEquals(desktopNotifyCommand(platformFor("linux", () => undefined), "t", "x"), undefined);
  const wl = (n: string) => (n === "WAYLAND_DISPLAY" ? "wayland-0" : undefined);
  assert(desktopNotifyCommand(platformFor("linux", wl), "t", "x"));
});

Deno.test("desktopNotifyCommand: a PowerShell balloon, the script on stdin, the words in the environment (Windows)", () => {
  const c = desktopNotifyCommand(
    platformFor("windows", () => undefined),
    "kodama: x",
    `'; Remove-Item C:\\ #`,
  )!;
  assertEquals(c.argv, ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", "-"]);
  assert(c.stdin.includes("$env:KODAMA_NOTIFY_TEXT") && c.stdin.includes("NotifyIcon"));
  assert(!c.stdin.includes("Remove-Item") && !c.argv.join(" ").includes("Remove-Item"));
  assertEquals(c.env, { KODAMA_NOTIFY_TITLE: "kodama: x", KODAMA_NOTIFY_TEXT: `'; Remove-Item C:\\ #` });
});

function recorder() {
  const written: string[] = [];
  const spawned: NotifyCommand[] = [];
  return {
    written,
    spawned,
    sink: { write: (c: Uint8Array | string) => written.push(String(c)) },
    spawn: (c: NotifyCommand) => spawned.push(c),
  };
}

const NOTE: RunEndNote = { event: "failed", session: "s", run: "1", outcome: "failed: stalled" };

Deno.test("announceRunEnd: the terminal only when it is a TTY, the desktop when asked, only the chosen events", () => {
  const mac = platformFor("darwin", () => undefined);
  const r = recorder();
  assertEquals(
    announceRunEnd(NOTE, {
      terminal: { sink: r.sink, tty: true },
      desktop: true,
      platform: mac,
      spawn: r.spawn,
    }),
    "s run 1 failed: stalled",
  );
  assertEquals(r.written.length, 1);
  assert(r.written[0].includes("\x1b]777;notify;kodama: s run 1;s run 1 failed: stalled\x07"));
  assertEquals(r.spawned.length, 1);
  assertEquals(r.spawned[0].argv.at(-1), "s run 1 failed: stalled");

  const pipe = recorder();
  announceRunEnd(NOTE, { terminal: { sink: pipe.sink, tty: false }, desktop: false, spawn: pipe.spawn });
  assertEquals([pipe.written.length, pipe.spawned.length], [0, 0]);

  const picky = recorder();
  const said = announceRunEnd(NOTE, {
    terminal: { sink: picky.sink, tty: true },
    desktop: true,
    on: ["done"],
    platform: mac,
    spawn: picky.spawn,
  });
  assertEquals([said, picky.written.length, picky.spawned.length], [undefined, 0, 0]);
});

Deno.test("groupNote: a group is failed when a replica failed, else waits on you, else done", () => {
  const row = (name: string, state: string, final = "ok.", check?: string): ReplicaRow => ({
    name,
    replica: 1,
    status: "Running",
    agent: { run: "1", state },
    truth: { toolCalls: 0, denied: 0, final, fromLog: true },
    ...(check ? { check: { state: check } } : {}),
  });
  assertEquals(groupNote("g", [row("g-1", "succeeded"), row("g-2", "succeeded")]).event, "done");
  const asks = groupNote("g", [row("g-1", "succeeded"), row("g-2", "succeeded", "Which API?")]);
  assertEquals([asks.event, summaryLine(asks)], [
    "needs-input",
    "group g needs input: 1 waits on you (2 of 2 replicas succeeded)",
  ]);
  const bad = groupNote("g", [row("g-1", "succeeded", "x", "failed"), row("g-2", "failed")]);
  assertEquals([bad.event, bad.outcome], ["failed", "0 of 2 replicas succeeded"]);
});
