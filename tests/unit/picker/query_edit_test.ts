/** The query line is editable like fzf's: a caret (in code points), motion by character and word, deletion keys. */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  createState,
  current,
  editQuery,
  type Key,
  type KeyName,
  onKey,
  type PickerItem,
  type PickerState,
  wordEndAfter,
  wordStartBefore,
} from "../../../src/picker/state.ts";

type P = null;
const item = (name: string, ns = "prod"): PickerItem<P> => ({
  id: `${ns}/${name}`,
  label: name,
  namespace: ns,
  payload: null,
});
const PODS = ["api-0", "apx-1", "web-0", "weka-drive-0", "weka-drive-1", "weka-compute-0"].map((n) =>
  item(n)
);

/** Press keys: named keys as written, anything else as typed text. */
function press<T>(s: PickerState<T>, ...keys: (KeyName | { text: string })[]): PickerState<T> {
  for (const k of keys) s = onKey(s, k as Key).state;
  return s;
}
const type = (text: string) => ({ text });
const shown = (s: PickerState<unknown>) => Array.from(s.result.indices, (i) => s.items[i].label);
/** the query with the caret drawn as `|` */
const line = (s: PickerState<unknown>) => {
  const c = [...s.query];
  return c.slice(0, s.queryCursor).join("") + "|" + c.slice(s.queryCursor).join("");
};
const at = (query: string, caret: number) => editQuery(createState(PODS), query, caret);

Deno.test("query: the caret starts at the end of the initial query and typing inserts at it", () => {
  let s = createState(PODS, { query: "wdr" });
  assertEquals(line(s), "wdr|");
  s = press(s, "left", "left", type("e"));
  assertEquals(line(s), "we|dr");
  assertEquals(shown(s), ["weka-drive-0", "weka-drive-1"]);
  s = press(s, "ctrl-e", type("1"));
  assertEquals(line(s), "wedr1|");
  assertEquals(shown(s), ["weka-drive-1"]);
});

Deno.test("query: Left/Right and Ctrl-B/Ctrl-F move one character and stop at both ends", () => {
  let s = createState(PODS, { query: "api" });
  s = press(s, "right");
  assertEquals(line(s), "api|"); // already at the end
  s = press(s, "left", "ctrl-b");
  assertEquals(line(s), "a|pi");
  s = press(s, "left", "left", "ctrl-b");
  assertEquals(line(s), "|api"); // stays at 0
  s = press(s, "ctrl-f", "right");
  assertEquals(line(s), "ap|i");
  // moving the caret does not re-filter, move the list cursor or lose the selection
  let m = createState(PODS, { multi: true, query: "w" });
  m = press(m, "down", "tab");
  const before = m;
  m = press(m, "left");
  assertEquals(m.result, before.result);
  assertEquals(m.cursor, before.cursor);
  assertEquals(m.selected, before.selected);
  // an empty query: nowhere to go
  const e = createState(PODS);
  assertEquals(press(e, "left", "right", "ctrl-b", "ctrl-f").queryCursor, 0);
});

Deno.test("query: Alt-B/Alt-F and Ctrl-Left/Ctrl-Right move by word like fzf", () => {
  let s = at("weka-drive !compute", 19);
  s = press(s, "alt-b");
  assertEquals(line(s), "weka-drive !|compute");
  s = press(s, "ctrl-left");
  assertEquals(line(s), "weka-|drive !compute");
  s = press(s, "alt-b", "alt-b");
  assertEquals(line(s), "|weka-drive !compute");
  s = press(s, "alt-f");
  assertEquals(line(s), "weka|-drive !compute");
  s = press(s, "ctrl-right");
  assertEquals(line(s), "weka-drive| !compute");
  s = press(s, "alt-f", "alt-f");
  assertEquals(line(s), "weka-drive !compute|");
  // the helpers on their own, including trailing separators (fzf: `.$` ends forward-word)
  const chars = [..."ab  "];
  assertEquals(wordEndAfter(chars, 0), 2);
  assertEquals(wordEndAfter(chars, 2), 4);
  assertEquals(wordEndAfter(chars, 4), 4);
  assertEquals(wordStartBefore(chars, 4), 0);
  assertEquals(wordStartBefore([..."x-y"], 1), 0);
});

Deno.test("query: Ctrl-E goes to the end; Ctrl-A goes to the start in single mode only", () => {
  let s = at("weka", 1);
  s = press(s, "ctrl-e");
  assertEquals(line(s), "weka|");
  s = press(s, "ctrl-a");
  assertEquals(line(s), "|weka");
  // multi mode keeps Ctrl-A as select-all (the binding); the caret stays
  let m = editQuery(createState(PODS, { multi: true }), "weka-drive", 4);
  m = press(m, "ctrl-a");
  assertEquals(line(m), "weka|-drive");
  assertEquals(m.selected, new Set(["prod/weka-drive-0", "prod/weka-drive-1"]));
});

Deno.test("query: Home/End still move in the list, not in the query", () => {
  let s = at("w", 0);
  s = press(s, "end");
  assertEquals(line(s), "|w");
  assertEquals(s.cursor, shown(s).length - 1);
  s = press(s, "home");
  assertEquals(s.cursor, 0);
  assertEquals(line(s), "|w");
});

Deno.test("query: Backspace deletes before the caret, Delete at it", () => {
  let s = at("weka-dxrive", 6);
  s = press(s, "delete");
  assertEquals(line(s), "weka-d|rive");
  assertEquals(shown(s), ["weka-drive-0", "weka-drive-1"]);
  s = press(s, "backspace");
  assertEquals(line(s), "weka-|rive");
  s = press(s, "ctrl-a", "backspace"); // nothing before the caret
  assertEquals(line(s), "|weka-rive");
  s = press(s, "ctrl-e", "delete"); // nothing at the caret
  assertEquals(line(s), "weka-rive|");
});

Deno.test("query: Ctrl-D deletes at the caret; on an empty query it aborts like fzf", () => {
  let s = at("apxi", 2);
  s = press(s, "ctrl-d");
  assertEquals(line(s), "ap|i");
  assertEquals(shown(s), ["api-0"]);
  // at the end of a non-empty query: nothing to delete, and no abort
  const end = onKey(press(s, "ctrl-e"), "ctrl-d");
  assertEquals(end.action, "none");
  assertEquals(line(end.state), "api|");
  // an empty query: abort (exit 130 in the driver), the state unchanged
  const empty = createState(PODS);
  const r = onKey(empty, "ctrl-d");
  assertEquals(r.action, "abort");
  assertEquals(r.state.query, "");
  // emptied by editing, then Ctrl-D: abort as well
  assertEquals(onKey(press(at("x", 1), "backspace"), "ctrl-d").action, "abort");
  // a non-empty query with the caret at 0 deletes the first character
  assertEquals(line(press(at("xapi", 0), "ctrl-d")), "|api");
});

Deno.test("query: Ctrl-U deletes to the start, Ctrl-K to the end, Ctrl-W the word before the caret", () => {
  let s = at("weka dr !comp", 7);
  assertEquals(line(s), "weka dr| !comp");
  s = press(s, "ctrl-k");
  assertEquals(line(s), "weka dr|");
  s = at("weka dr !comp", 7);
  s = press(s, "ctrl-u");
  assertEquals(line(s), "| !comp");
  // Ctrl-W: fzf's unix-word-rubout (whitespace-separated, trailing blanks go with the word)
  s = at("weka dr  !comp", 9);
  s = press(s, "ctrl-w");
  assertEquals(line(s), "weka |!comp");
  s = press(s, "ctrl-w");
  assertEquals(line(s), "|!comp");
  s = press(s, "ctrl-w", "ctrl-u"); // nothing before the caret: no change
  assertEquals(line(s), "|!comp");
  // Alt-Backspace: fzf's backward-kill-word (letters and digits)
  s = at("weka-drive-1", 10);
  s = press(s, "alt-backspace");
  assertEquals(line(s), "weka-|-1");
  // with the caret at the end they behave as before the caret existed
  assertEquals(press(at("xyz", 3), "ctrl-u").query, "");
  assertEquals(press(at("drv ", 4), "ctrl-w").query, "");
  assertEquals(press(at("abc", 3), "ctrl-k").query, "abc");
});

Deno.test("query: pasted text inserts at the caret and leaves the caret after it", () => {
  let s = at("weka-0", 5);
  s = press(s, type("drive-"));
  assertEquals(line(s), "weka-drive-|0");
  assertEquals(shown(s), ["weka-drive-0"]);
  // `?` in pasted text toggles the preview and is not inserted; control characters are dropped
  s = press(s, type("x?\ty"));
  assertEquals(line(s), "weka-drive-xy|0");
});

Deno.test("query: the caret counts code points (astral characters are one step)", () => {
  const items = ["café-😀-1", "café-2", "cafe-3"].map((n) => item(n));
  let s = createState(items, { query: "é😀" });
  assertEquals(s.queryCursor, 2); // 3 UTF-16 units, 2 code points
  s = press(s, "left");
  assertEquals(line(s), "é|😀");
  s = press(s, type("-"));
  assertEquals(line(s), "é-|😀");
  assertEquals(shown(s), ["café-😀-1"]);
  s = press(s, "right");
  assertEquals(s.queryCursor, 3);
  s = press(s, "backspace"); // removes the whole emoji, never half a surrogate pair
  assertEquals(line(s), "é-|");
  assert(s.query.isWellFormed());
  s = press(s, "left", "left", "delete");
  assertEquals(line(s), "|-");
  // word motion treats letters of any script as word characters
  s = editQuery(s, "ça-été", 6);
  s = press(s, "alt-b");
  assertEquals(line(s), "ça-|été");
  assertEquals(current(press(s, "ctrl-u", "ctrl-k", type("2")))?.label, "café-2");
});

Deno.test("query: editQuery clamps the caret and only re-filters when the text changes", () => {
  const s = createState(PODS, { query: "api" });
  assertEquals(editQuery(s, "api", 99).queryCursor, 3);
  assertEquals(editQuery(s, "api", -5).queryCursor, 0);
  assertEquals(editQuery(s, "api", 3), s); // nothing changed: same state object
  const moved = editQuery(s, "api", 1);
  assertEquals(moved.result, s.result);
  const edited = editQuery(s, "web", 1);
  assertEquals(shown(edited), ["web-0"]);
  assertEquals(edited.queryCursor, 1);
});
