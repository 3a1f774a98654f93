import { assert, assertEquals } from "@kodama/test-assert";
import readline from "node:readline";
import { PassThrough } from "node:stream";
import { type ReadlineLine, syncLine, toKey } from "../../../src/picker/driver.ts";
import { createState, editQuery, type PickerItem } from "../../../src/picker/state.ts";

Deno.test("driver: readline key events map to the state machine's keys", () => {
  assertEquals(toKey({ name: "return", sequence: "\r" }), "enter");
  assertEquals(toKey({ name: "escape", sequence: "\x1b" }), "escape");
  assertEquals(toKey({ name: "c", ctrl: true, sequence: "\x03" }), "ctrl-c");
  assertEquals(toKey({ name: "u", ctrl: true }), "ctrl-u");
  assertEquals(toKey({ name: "a", ctrl: true }), "ctrl-a");
  assertEquals(toKey({ name: "n", ctrl: true }), "ctrl-n");
  assertEquals(toKey({ name: "p", ctrl: true }), "ctrl-p");
  assertEquals(toKey({ name: "tab", sequence: "\t" }), "tab");
  assertEquals(toKey({ name: "tab", shift: true, sequence: "\x1b[Z" }), "shift-tab");
  assertEquals(toKey({ name: "pageup", sequence: "\x1b[5~" }), "pageup");
  assertEquals(toKey({ name: "home" }), "home");
  assertEquals(toKey({ sequence: "\x1b[1~" }), "home");
  assertEquals(toKey({ sequence: "\x1bOF" }), "end");
  assertEquals(toKey({ name: "backspace", sequence: "\x7f" }), "backspace");
  assertEquals(toKey({ sequence: "\x1f" }), "ctrl-/");
  assertEquals(toKey({ name: "a", sequence: "a" }), { text: "a" });
  assertEquals(toKey({ sequence: "?" }), { text: "?" });
  assertEquals(toKey({ name: "space", sequence: " " }), { text: " " });
  assertEquals(toKey({ sequence: "^api" }), { text: "^api" }); // pasted text
  assertEquals(toKey({ name: "f1", sequence: "\x1bOP" }), undefined);
  assertEquals(toKey({ name: "x", meta: true, sequence: "\x1bx" }), undefined);
});

Deno.test("driver: query-line keys map from readline's names for them", () => {
  assertEquals(toKey({ name: "left", sequence: "\x1b[D" }), "left");
  assertEquals(toKey({ name: "right", sequence: "\x1b[C" }), "right");
  assertEquals(toKey({ name: "left", sequence: "\x1bOD" }), "left");
  assertEquals(toKey({ name: "b", ctrl: true, sequence: "\x02" }), "ctrl-b");
  assertEquals(toKey({ name: "f", ctrl: true, sequence: "\x06" }), "ctrl-f");
  assertEquals(toKey({ name: "e", ctrl: true, sequence: "\x05" }), "ctrl-e");
  assertEquals(toKey({ name: "k", ctrl: true, sequence: "\x0b" }), "ctrl-k");
  assertEquals(toKey({ name: "d", ctrl: true, sequence: "\x04" }), "ctrl-d");
  assertEquals(toKey({ name: "b", meta: true, sequence: "\x1bb" }), "alt-b");
  assertEquals(toKey({ name: "f", meta: true, sequence: "\x1bf" }), "alt-f");
  assertEquals(toKey({ name: "left", ctrl: true, sequence: "\x1b[1;5D" }), "ctrl-left");
  assertEquals(toKey({ name: "right", ctrl: true, sequence: "\x1b[1;5C" }), "ctrl-right");
  assertEquals(toKey({ name: "left", meta: true, sequence: "\x1b[1;3D" }), "alt-b");
  assertEquals(toKey({ name: "right", shift: true, sequence: "\x1b[1;2C" }), "alt-f");
  assertEquals(toKey({ name: "delete", sequence: "\x1b[3~" }), "delete");
  assertEquals(toKey({ name: "backspace", meta: true, sequence: "\x1b" }), "alt-backspace");
});

/** What node:readline's decoder (the one @inquirer/core listens to) makes of raw terminal bytes. */
async function decode(bytes: string): Promise<ReturnType<typeof toKey>[]> {
  const input = new PassThrough();
  readline.emitKeypressEvents(input, { escapeCodeTimeout: 20 } as unknown as readline.Interface);
  const keys: ReturnType<typeof toKey>[] = [];
  input.on("keypress", (_s: string, k: Parameters<typeof toKey>[0]) => keys.push(toKey(k)));
  // every byte has been handed to the decoder once the stream ends (its keys are emitted as each chunk
  // is read; only a trailing lone ESC would wait for escapeCodeTimeout, and none of these ends in one)
  const ended = new Promise((r) => input.once("end", r));
  input.end(bytes);
  await ended;
  input.destroy();
  return keys;
}

Deno.test("driver: terminal byte sequences decode to the query-line keys", async () => {
  const cases: [string, ReturnType<typeof toKey>][] = [
    ["\x1b[D", "left"],
    ["\x1b[C", "right"],
    ["\x1bb", "alt-b"],
    ["\x1bf", "alt-f"],
    ["\x1b[1;5D", "ctrl-left"],
    ["\x1b[1;5C", "ctrl-right"],
    ["\x1bOd", "ctrl-left"], // rxvt
    ["\x1b[3~", "delete"],
    ["\x02", "ctrl-b"],
    ["\x06", "ctrl-f"],
    ["\x05", "ctrl-e"],
    ["\x0b", "ctrl-k"],
    ["\x04", "ctrl-d"],
    ["\x15", "ctrl-u"],
    ["\x17", "ctrl-w"],
    ["\x1b[H", "home"],
    ["\x1b[F", "end"],
  ];
  // one write, as a terminal that sends several keys at once (readline splits them)
  assertEquals(await decode(cases.map(([bytes]) => bytes).join("")), cases.map(([, key]) => key));
  // pasted text arrives as one key per character; each inserts at the caret
  assertEquals(await decode("ab"), [{ text: "a" }, { text: "b" }]);
});

Deno.test("driver: readline's line and cursor follow the query on screen and its caret", () => {
  const items: PickerItem<null>[] = ["a", "b"].map((n) => ({ id: n, label: n, payload: null }));
  const s = createState(items, { prompt: "> ", width: 40 });
  const r: ReadlineLine = { line: "junk", cursor: 9 };
  assert(syncLine(r, editQuery(s, "ab😀c", 3), false));
  assertEquals(r, { line: "ab😀c", cursor: 4 }); // UTF-16 units, as readline counts
  assert(!syncLine(r, editQuery(s, "ab😀c", 3), false)); // nothing to change
  // colour: the reverse-video caret cell at the end is part of the line
  syncLine(r, editQuery(s, "ab", 2), true);
  assertEquals(r, { line: "ab ", cursor: 2 });
  syncLine(r, editQuery(s, "ab", 1), true);
  assertEquals(r, { line: "ab", cursor: 1 });
  // a query wider than the line: readline sees the visible window
  syncLine(r, editQuery(s, "x".repeat(60), 60), false);
  assertEquals(r.line.length, 37);
  assertEquals(r.cursor, 37);
});
