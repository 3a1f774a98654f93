import { assertEquals } from "@std/assert";
import { toKey } from "../../../src/picker/driver.ts";

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
