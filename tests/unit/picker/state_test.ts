import { assert, assertEquals } from "@kodama/test-assert";
import {
  acceptedItems,
  addItems,
  createState,
  current,
  type Key,
  layout,
  onKey,
  type PickerItem,
  type PickerState,
  removeItems,
  setQuery,
  setViewport,
} from "../../../src/picker/state.ts";

type P = { n: number };
const item = (name: string, ns = "prod", n = 0): PickerItem<P> => ({
  id: `${ns}/${name}`,
  label: name,
  namespace: ns,
  payload: { n },
});
const DRIVES = ["weka-drive-0", "weka-drive-1", "weka-drive-2", "weka-compute-0"].map((n) => item(n, "weka"));

function press<T>(s: PickerState<T>, ...keys: (Key | string)[]): PickerState<T> {
  for (const k of keys) {
    const key: Key = typeof k === "string" && !KEYS.has(k) ? { text: k } : k as Key;
    s = onKey(s, key).state;
  }
  return s;
}
const KEYS = new Set([
  "enter",
  "escape",
  "ctrl-c",
  "backspace",
  "ctrl-u",
  "ctrl-w",
  "up",
  "down",
  "ctrl-p",
  "ctrl-n",
  "pageup",
  "pagedown",
  "home",
  "end",
  "tab",
  "shift-tab",
  "ctrl-a",
  "ctrl-/",
]);
const shown = (s: PickerState<unknown>) => Array.from(s.result.indices, (i) => s.items[i].label);

Deno.test("state: typing filters, Backspace and Ctrl-U widen again", () => {
  let s = createState(DRIVES);
  assertEquals(shown(s).length, 4);
  s = press(s, "d", "r", "v");
  assertEquals(s.query, "drv");
  assertEquals(shown(s), ["weka-drive-0", "weka-drive-1", "weka-drive-2"]);
  s = press(s, " ", "2");
  assertEquals(shown(s), ["weka-drive-2"]);
  s = press(s, "backspace");
  assertEquals(s.query, "drv ");
  assertEquals(shown(s).length, 3);
  s = press(s, "ctrl-w");
  assertEquals(s.query, "");
  s = press(s, "xyz", "ctrl-u");
  assertEquals(s.query, "");
  assertEquals(shown(s).length, 4);
  // pasted text arrives as one key
  s = press(s, "^weka-c");
  assertEquals(shown(s), ["weka-compute-0"]);
});

Deno.test("state: extended syntax goes through to the matcher", () => {
  const s = createState(DRIVES);
  assertEquals(shown(setQuery(s, "weka !drive")), ["weka-compute-0"]);
  assertEquals(shown(setQuery(s, "'drive-1 | compute")).sort(), ["weka-compute-0", "weka-drive-1"]);
  assertEquals(shown(setQuery(s, "0$")).sort(), ["weka-compute-0", "weka-drive-0"]);
});

Deno.test("state: `?` and Ctrl-/ toggle the preview and never enter the query", () => {
  let s = createState(DRIVES, { width: 120 });
  assertEquals(layout(s).preview, "right"); // wide: shown by default
  s = press(s, "dr?");
  assertEquals(s.query, "dr");
  assertEquals(layout(s).preview, "none");
  s = press(s, "ctrl-/");
  assertEquals(layout(s).preview, "right");
  let n = createState(DRIVES, { width: 60, height: 20 });
  assertEquals(layout(n).preview, "none"); // narrow: hidden by default
  n = press(n, "?");
  assertEquals(layout(n).preview, "below");
  assert(layout(n).listRows < 18);
});

Deno.test("state: cursor and scroll stay in bounds", () => {
  const many = Array.from({ length: 50 }, (_, i) => item(`pod-${String(i).padStart(2, "0")}`));
  let s = createState(many, { height: 12 }); // 10 list rows
  assertEquals(layout(s).listRows, 10);
  s = press(s, "up");
  assertEquals([s.cursor, s.offset], [0, 0]);
  s = press(s, "down", "ctrl-n", "down");
  assertEquals([s.cursor, s.offset], [3, 0]);
  s = press(s, "pagedown");
  assertEquals([s.cursor, s.offset], [13, 4]);
  s = press(s, "end");
  assertEquals([s.cursor, s.offset], [49, 40]);
  s = press(s, "down");
  assertEquals([s.cursor, s.offset], [49, 40]);
  s = press(s, "pageup");
  assertEquals([s.cursor, s.offset], [39, 39]);
  s = press(s, "ctrl-p");
  assertEquals([s.cursor, s.offset], [38, 38]);
  s = press(s, "home");
  assertEquals([s.cursor, s.offset], [0, 0]);
  s = press(s, "end", "pagedown", "pagedown");
  assertEquals(current(s)?.label, "pod-49");
  // filtering resets the cursor to the best match
  s = press(s, "pod-4");
  assertEquals([s.cursor, s.offset], [0, 0]);
  // shrinking the terminal keeps the cursor visible
  s = press(s, "ctrl-u", "end");
  s = setViewport(s, 80, 7);
  assertEquals(s.cursor, 49);
  assert(s.offset <= 49 && 49 < s.offset + layout(s).listRows);
  // no matches: cursor 0, nothing current, Enter does not accept
  s = press(s, "zzz");
  assertEquals(s.cursor, 0);
  assertEquals(current(s), undefined);
  const r = onKey(s, "enter");
  assertEquals(r.action, "none");
  assertEquals(r.state.message, "nothing matches");
});

Deno.test("state: Enter accepts the cursor row; Esc and Ctrl-C abort", () => {
  let s = createState(DRIVES);
  s = press(s, "drive", "down");
  const r = onKey(s, "enter");
  assertEquals(r.action, "accept");
  assertEquals(acceptedItems(r.state).map((i) => i.label), ["weka-drive-1"]);
  assertEquals(onKey(s, "escape").action, "abort");
  assertEquals(onKey(s, "ctrl-c").action, "abort");
  // Tab does nothing in single mode
  assertEquals(press(s, "tab").selected.size, 0);
  assertEquals(press(s, "ctrl-a").selected.size, 0);
});

Deno.test("state: multi-select with Tab/Shift-Tab and Ctrl-A survives re-filtering", () => {
  let s = createState(DRIVES, { multi: true });
  s = press(s, "tab", "tab"); // toggles row 0 and 1, cursor on 2
  assertEquals(s.cursor, 2);
  assertEquals([...s.selected].sort(), ["weka/weka-drive-0", "weka/weka-drive-1"]); // empty query: input order
  s = press(s, "shift-tab"); // toggles row 2, moves up
  assertEquals(s.selected.size, 3);
  assertEquals(s.cursor, 1);
  s = press(s, "shift-tab"); // untoggle row 1
  assertEquals(s.selected.size, 2);
  // filter to something else and back: selection kept
  s = press(s, "compute");
  assertEquals(s.selected.size, 2);
  s = press(s, "ctrl-u");
  assertEquals(s.selected.size, 2);
  // Enter returns the selection in input order, not the cursor row
  assertEquals(acceptedItems(s).map((i) => i.label), ["weka-drive-0", "weka-drive-2"]);
  // Ctrl-A: every match; again: none of them
  s = press(s, "drive", "ctrl-a");
  assertEquals(s.selected.size, 3);
  assert(["weka/weka-drive-0", "weka/weka-drive-1", "weka/weka-drive-2"].every((id) => s.selected.has(id)));
  s = press(s, "ctrl-a");
  assert(["weka/weka-drive-0", "weka/weka-drive-1", "weka/weka-drive-2"].every((id) => !s.selected.has(id)));
  // nothing selected: Enter takes the cursor row
  s = press(s, "ctrl-u", "compute");
  s = { ...s, selected: new Set() };
  assertEquals(acceptedItems(s).map((i) => i.label), ["weka-compute-0"]);
});

Deno.test("state: live add keeps query, selection and the cursor's item", () => {
  let s = createState(DRIVES, { multi: true });
  s = press(s, "drive", "down", "tab"); // select weka-drive-1, cursor on weka-drive-2
  assertEquals(current(s)?.label, "weka-drive-2");
  s = addItems(s, [item("weka-drive-10", "weka"), item("weka-drive-3", "weka"), item("api-1", "prod")]);
  assertEquals(s.query, "drive");
  assertEquals(s.selected, new Set(["weka/weka-drive-1"]));
  assertEquals(current(s)?.label, "weka-drive-2");
  assertEquals(shown(s), ["weka-drive-0", "weka-drive-1", "weka-drive-2", "weka-drive-3", "weka-drive-10"]);
  assertEquals(s.items.length, 7);
  // a known id updates its payload in place
  s = addItems(s, [item("weka-drive-0", "weka", 7)]);
  assertEquals(s.items.length, 7);
  assertEquals(s.items[s.byId.get("weka/weka-drive-0")!].payload.n, 7);
});

Deno.test("state: live remove greys out in place; removed rows cannot be chosen; re-add revives", () => {
  let s = createState(DRIVES, { multi: true });
  s = press(s, "drive", "tab", "tab"); // drive-0, drive-1 selected; cursor on drive-2
  s = removeItems(s, ["weka/weka-drive-1", "weka/weka-drive-2", "weka/unknown"]);
  assertEquals(shown(s), ["weka-drive-0", "weka-drive-1", "weka-drive-2"]); // kept in place
  assertEquals(current(s)?.label, "weka-drive-2");
  assert(current(s)?.removed);
  assertEquals(acceptedItems(s).map((i) => i.label), ["weka-drive-0"]); // drive-1 no longer accepted
  // Tab on a removed row does not select it
  s = press(s, "tab");
  assert(!s.selected.has("weka/weka-drive-2"));
  // single mode: Enter on a removed row says why
  let one = createState(DRIVES);
  one = removeItems(press(one, "drive-0"), ["weka/weka-drive-0"]);
  const r = onKey(one, "enter");
  assertEquals(r.action, "none");
  assertEquals(r.state.message, "weka-drive-0 is gone (deleted while the picker was open)");
  // the pod comes back under the same name (StatefulSet): selectable again, selection restored
  s = addItems(s, [item("weka-drive-1", "weka")]);
  assert(!s.items[s.byId.get("weka/weka-drive-1")!].removed);
  assertEquals(acceptedItems(s).map((i) => i.label), ["weka-drive-0", "weka-drive-1"]);
});

Deno.test("state: namespace column is automatic when items span namespaces and is matched", () => {
  const s = createState([item("api-1", "prod"), item("api-1", "staging")]);
  assert(s.showNamespace);
  assertEquals(shown(setQuery(s, "stag api")), ["api-1"]);
  assertEquals(current(setQuery(s, "stag api"))?.id, "staging/api-1");
  assert(!createState(DRIVES).showNamespace);
  assert(createState(DRIVES, { showNamespace: true }).showNamespace);
});
