/**
 * The picker as a pure state machine: `onKey(state, key) -> { state, action }`. No terminal I/O here;
 * `render.ts` turns a state into lines and `driver.ts` moves keys and lines between the two.
 *
 * Keys (fzf's defaults where fzf has one; the list keys win where fzf differs: Home/End and, in
 * multi mode, Ctrl-A act on the list, not on the query line):
 *   printable text     insert at the caret (pasted text too; re-filters)
 *   Left/Right, Ctrl-B/F          caret one character (code point) left / right
 *   Alt-B/F, Ctrl-Left/Right      caret one word left / right (words: letters and digits, like fzf)
 *   Ctrl-E             caret to the end of the query;  Ctrl-A (single mode only) caret to the start
 *   Backspace          delete before the caret;  Delete delete at the caret
 *   Ctrl-D             delete at the caret; on an empty query abort (fzf's delete-char/eof)
 *   Ctrl-U             delete from the caret to the start (fzf's unix-line-discard)
 *   Ctrl-W             delete the whitespace-separated word before the caret (unix-word-rubout)
 *   Alt-Backspace      delete the word (letters and digits) before the caret (backward-kill-word)
 *   Ctrl-K             delete from the caret to the end (kill-line)
 *   Up/Down, Ctrl-P/N  move the cursor;  PgUp/PgDn a page;  Home/End first/last match
 *   Enter              accept: in multi mode the selected rows (or the cursor row when nothing is selected)
 *   Tab / Shift-Tab    multi mode: toggle the cursor row and move down / up
 *   Ctrl-A             multi mode: select every live match (again: deselect them)
 *   Esc, Ctrl-C        abort
 *   ?  or  Ctrl-/      toggle the preview. `?` never enters the query: pod names (DNS labels) and fzf's search
 *                      syntax never contain `?`, so binding it costs nothing (like fzf's `--bind ?:toggle-preview`).
 */
import { type MatchEntry, Matcher, type MatchResult } from "./match.ts";

export interface PickerItem<T = unknown> {
  /** stable identity; pods use `namespace/name` so a pod re-created under the same name comes back */
  id: string;
  /** the row text (pod name) */
  label: string;
  namespace?: string;
  /** gone from the cluster: shown greyed in place, not selectable */
  removed?: boolean;
  payload: T;
}

export type KeyName =
  | "enter"
  | "escape"
  | "ctrl-c"
  | "backspace"
  | "ctrl-u"
  | "ctrl-w"
  | "up"
  | "down"
  | "ctrl-p"
  | "ctrl-n"
  | "pageup"
  | "pagedown"
  | "home"
  | "end"
  | "tab"
  | "shift-tab"
  | "ctrl-a"
  | "ctrl-/"
  // query line editing
  | "left"
  | "right"
  | "ctrl-b"
  | "ctrl-f"
  | "alt-b"
  | "alt-f"
  | "ctrl-left"
  | "ctrl-right"
  | "ctrl-e"
  | "delete"
  | "ctrl-d"
  | "ctrl-k"
  | "alt-backspace";
/** A named key, or typed/pasted text. */
export type Key = KeyName | { text: string };

export type Action = "none" | "accept" | "abort";

export interface PickerState<T = unknown> {
  readonly items: readonly PickerItem<T>[];
  readonly byId: ReadonlyMap<string, number>;
  /** how many items are removed (greyed) */
  readonly removed: number;
  readonly matcher: Matcher;
  readonly multi: boolean;
  /** show a namespace column (and match `namespace/name`) */
  readonly showNamespace: boolean;
  readonly prompt: string;
  readonly query: string;
  /** the caret in `query`, in code points: 0 = before the first one, the query's length = at the end */
  readonly queryCursor: number;
  readonly result: MatchResult;
  /** position of the cursor in `result.indices` */
  readonly cursor: number;
  /** first visible position in `result.indices` */
  readonly offset: number;
  readonly selected: ReadonlySet<string>;
  /** preview toggled by the user; null = automatic (shown when the terminal is wide) */
  readonly previewPref: boolean | null;
  /** terminal area the picker may draw in */
  readonly width: number;
  readonly height: number;
  /** one-line notice shown until the next key */
  readonly message: string;
}

export interface CreateOptions {
  multi?: boolean;
  query?: string;
  /** show the namespace column; default: when the items span more than one namespace */
  showNamespace?: boolean;
  prompt?: string;
  width?: number;
  height?: number;
  preview?: boolean;
  /** fzf's fuzzy algorithm (default v2, fzf's default) */
  algo?: "v1" | "v2";
}

/** Width from which the preview sits right of the list (and is shown by default). */
export const WIDE = 100;

/**
 * What the matcher sees: `namespace/name` when namespaces are shown (the -A picker), else the name. Anchored
 * terms (`^api`, `-0$`) match from the name, so `^api` finds api pods in every namespace; a term with a `/`
 * matches all of `namespace/name` (`^prod/api`).
 */
export function matchEntry(item: PickerItem<unknown>, showNamespace: boolean): MatchEntry {
  if (!showNamespace || item.namespace === undefined) return { text: item.label };
  return { text: `${item.namespace}/${item.label}`, anchor: [...item.namespace].length + 1 };
}

export function createState<T>(items: readonly PickerItem<T>[], opts: CreateOptions = {}): PickerState<T> {
  const showNamespace = opts.showNamespace ?? new Set(items.map((i) => i.namespace ?? "")).size > 1;
  const unique = dedupe(items);
  const matcher = new Matcher(unique.map((i) => matchEntry(i, showNamespace)), { algo: opts.algo });
  const query = opts.query ?? "";
  return {
    items: unique,
    byId: new Map(unique.map((it, i) => [it.id, i])),
    removed: unique.filter((i) => i.removed).length,
    matcher,
    multi: opts.multi ?? false,
    showNamespace,
    prompt: opts.prompt ?? "> ",
    query,
    queryCursor: codePoints(query).length,
    result: matcher.match(query),
    cursor: 0,
    offset: 0,
    selected: new Set(),
    previewPref: opts.preview ?? null,
    width: opts.width ?? 80,
    height: opts.height ?? 24,
    message: "",
  };
}

function dedupe<T>(items: readonly PickerItem<T>[]): PickerItem<T>[] {
  const seen = new Set<string>();
  const out: PickerItem<T>[] = [];
  for (const it of items) {
    if (seen.has(it.id)) continue;
    seen.add(it.id);
    out.push(it);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// layout (shared with render.ts so scrolling and drawing agree)

export interface Layout {
  /** rows available for list entries */
  listRows: number;
  listWidth: number;
  preview: "right" | "below" | "none";
  previewWidth: number;
  previewRows: number;
}

/** prompt line + info line */
export const HEADER_ROWS = 2;

export function previewShown(s: PickerState<unknown>): boolean {
  return s.previewPref ?? s.width >= WIDE;
}

export function layout(s: PickerState<unknown>): Layout {
  const body = Math.max(1, s.height - HEADER_ROWS);
  if (!previewShown(s)) {
    return { listRows: body, listWidth: s.width, preview: "none", previewWidth: 0, previewRows: 0 };
  }
  if (s.width >= WIDE) {
    const previewWidth = Math.min(Math.floor(s.width * 0.45), 80);
    return {
      listRows: body,
      listWidth: s.width - previewWidth - 3,
      preview: "right",
      previewWidth,
      previewRows: body,
    };
  }
  if (body < 6) {
    return { listRows: body, listWidth: s.width, preview: "none", previewWidth: 0, previewRows: 0 };
  }
  const listRows = Math.max(3, Math.floor(body / 2));
  return {
    listRows,
    listWidth: s.width,
    preview: "below",
    previewWidth: s.width,
    previewRows: body - listRows - 1,
  };
}

// ---------------------------------------------------------------------------------------------
// queries about a state

export function matchCount(s: PickerState<unknown>): number {
  return s.result.indices.length;
}

/** The item under the cursor, if any. */
export function current<T>(s: PickerState<T>): PickerItem<T> | undefined {
  const i = s.result.indices[s.cursor];
  return i === undefined ? undefined : s.items[i];
}

export function liveCount(s: PickerState<unknown>): number {
  return s.items.length - s.removed;
}

export function liveMatchCount(s: PickerState<unknown>): number {
  if (s.removed === 0) return matchCount(s);
  let n = 0;
  for (const i of s.result.indices) if (!s.items[i].removed) n++;
  return n;
}

/** Selected items that still exist, in input order. */
export function selectedItems<T>(s: PickerState<T>): PickerItem<T>[] {
  if (s.selected.size === 0) return [];
  return s.items.filter((it) => !it.removed && s.selected.has(it.id));
}

/** What Enter would return right now. */
export function acceptedItems<T>(s: PickerState<T>): PickerItem<T>[] {
  if (s.multi) {
    const sel = selectedItems(s);
    if (sel.length > 0) return sel;
  }
  const cur = current(s);
  return cur && !cur.removed ? [cur] : [];
}

// ---------------------------------------------------------------------------------------------
// transitions

function withCursor<T>(s: PickerState<T>, cursor: number): PickerState<T> {
  const n = matchCount(s);
  const c = n === 0 ? 0 : Math.max(0, Math.min(n - 1, cursor));
  return { ...s, cursor: c, offset: scrolled(s, c, s.offset) };
}

/** Keep the cursor visible; never scroll past the end. */
function scrolled(s: PickerState<unknown>, cursor: number, offset: number): number {
  const rows = layout(s).listRows;
  const n = matchCount(s);
  let o = offset;
  if (cursor < o) o = cursor;
  if (cursor >= o + rows) o = cursor - rows + 1;
  o = Math.min(o, Math.max(0, n - rows));
  return Math.max(0, o);
}

/** Replace the query (re-filters); the caret goes to its end. */
export function setQuery<T>(s: PickerState<T>, query: string): PickerState<T> {
  if (query === s.query) return s;
  return editQuery(s, query, codePoints(query).length);
}

/** Set the query and the caret (clamped to the query). Only a changed query re-filters and resets the cursor. */
export function editQuery<T>(s: PickerState<T>, query: string, queryCursor: number): PickerState<T> {
  const caret = Math.max(0, Math.min(codePoints(query).length, queryCursor));
  if (query === s.query) return caret === s.queryCursor ? s : { ...s, queryCursor: caret };
  return { ...s, query, queryCursor: caret, result: s.matcher.match(query), cursor: 0, offset: 0 };
}

// ---------------------------------------------------------------------------------------------
// query line editing (positions in code points)

function codePoints(s: string): string[] {
  return Array.from(s);
}

const WORD = /[\p{L}\p{N}]/u;
const isWord = (ch: string | undefined) => ch !== undefined && WORD.test(ch);

/** fzf's backward-word: the start of the word (letters/digits) before `caret`, or 0. */
export function wordStartBefore(chars: readonly string[], caret: number): number {
  for (let k = Math.min(caret, chars.length) - 2; k >= 0; k--) {
    if (!isWord(chars[k]) && isWord(chars[k + 1])) return k + 1;
  }
  return 0;
}

/** fzf's forward-word: just past the end of the word (letters/digits) at or after `caret`, or the end. */
export function wordEndAfter(chars: readonly string[], caret: number): number {
  for (let k = caret; k < chars.length; k++) {
    if (k === chars.length - 1 || (isWord(chars[k]) && !isWord(chars[k + 1]))) return k + 1;
  }
  return chars.length;
}

/** Replace the code points [from, to) of the query with `insert`; the caret ends after the insertion. */
function splice<T>(s: PickerState<T>, from: number, to: number, insert = ""): PickerState<T> {
  const chars = codePoints(s.query);
  const query = chars.slice(0, from).join("") + insert + chars.slice(to).join("");
  return editQuery(s, query, from + codePoints(insert).length);
}

/** Query-line keys; undefined when `key` is not one of them. */
function editKey<T>(s: PickerState<T>, key: KeyName): PickerState<T> | undefined {
  const chars = codePoints(s.query);
  const c = Math.min(s.queryCursor, chars.length);
  switch (key) {
    case "left":
    case "ctrl-b":
      return editQuery(s, s.query, c - 1);
    case "right":
    case "ctrl-f":
      return editQuery(s, s.query, c + 1);
    case "alt-b":
    case "ctrl-left":
      return editQuery(s, s.query, wordStartBefore(chars, c));
    case "alt-f":
    case "ctrl-right":
      return editQuery(s, s.query, wordEndAfter(chars, c));
    case "ctrl-e":
      return editQuery(s, s.query, chars.length);
    case "backspace":
      return c > 0 ? splice(s, c - 1, c) : s;
    case "delete":
    case "ctrl-d":
      return c < chars.length ? splice(s, c, c + 1) : s;
    case "ctrl-u":
      return splice(s, 0, c);
    case "ctrl-w": {
      const before = chars.slice(0, c).join("").replace(/\S*\s*$/u, "");
      return splice(s, codePoints(before).length, c);
    }
    case "alt-backspace":
      return splice(s, wordStartBefore(chars, c), c);
    case "ctrl-k":
      return splice(s, c, chars.length);
  }
  return undefined;
}

/** Resize: the picker may draw `width` x `height`. */
export function setViewport<T>(s: PickerState<T>, width: number, height: number): PickerState<T> {
  const next = { ...s, width: Math.max(1, width), height: Math.max(HEADER_ROWS + 1, height) };
  return { ...next, offset: scrolled(next, next.cursor, next.offset) };
}

function toggle<T>(s: PickerState<T>, it: PickerItem<T>): PickerState<T> {
  const selected = new Set(s.selected);
  if (selected.has(it.id)) selected.delete(it.id);
  else selected.add(it.id);
  return { ...s, selected };
}

export function onKey<T>(state: PickerState<T>, key: Key): { state: PickerState<T>; action: Action } {
  const s: PickerState<T> = state.message ? { ...state, message: "" } : state;
  const none = (next: PickerState<T>) => ({ state: next, action: "none" as const });
  if (typeof key === "object") {
    let add = "";
    let preview = false;
    for (const ch of key.text) {
      if (ch === "?") preview = !preview;
      else if (ch >= " " && ch !== "\x7f") add += ch;
    }
    let next = add ? splice(s, s.queryCursor, s.queryCursor, add) : s;
    if (preview) next = togglePreview(next);
    return none(next);
  }
  const rows = layout(s).listRows;
  // fzf's delete-char/eof: Ctrl-D on an empty query leaves like Esc (exit 130)
  if (key === "ctrl-d" && s.query === "") return { state: s, action: "abort" };
  const edited = editKey(s, key);
  if (edited) return none(edited);
  switch (key) {
    case "escape":
    case "ctrl-c":
      return { state: s, action: "abort" };
    case "enter": {
      if (acceptedItems(s).length > 0) return { state: s, action: "accept" };
      const cur = current(s);
      const message = cur?.removed
        ? `${cur.label} is gone (deleted while the picker was open)`
        : "nothing matches";
      return none({ ...s, message });
    }
    case "up":
    case "ctrl-p":
      return none(withCursor(s, s.cursor - 1));
    case "down":
    case "ctrl-n":
      return none(withCursor(s, s.cursor + 1));
    case "pageup":
      return none(withCursor(s, s.cursor - rows));
    case "pagedown":
      return none(withCursor(s, s.cursor + rows));
    case "home":
      return none(withCursor(s, 0));
    case "end":
      return none(withCursor(s, matchCount(s) - 1));
    case "tab":
    case "shift-tab": {
      if (!s.multi) return none(s);
      const cur = current(s);
      const toggled = cur && !cur.removed ? toggle(s, cur) : s;
      return none(withCursor(toggled, s.cursor + (key === "tab" ? 1 : -1)));
    }
    case "ctrl-a": {
      // single mode: fzf's beginning-of-line; multi mode: select all (the binding)
      if (!s.multi) return none(editQuery(s, s.query, 0));
      const live = Array.from(s.result.indices, (i) => s.items[i]).filter((it) => !it.removed);
      const selected = new Set(s.selected);
      if (live.every((it) => selected.has(it.id))) { for (const it of live) selected.delete(it.id); }
      else for (const it of live) selected.add(it.id);
      return none({ ...s, selected });
    }
    case "ctrl-/":
      return none(togglePreview(s));
  }
  return none(s);
}

export function togglePreview<T>(s: PickerState<T>): PickerState<T> {
  const next = { ...s, previewPref: !previewShown(s) };
  return { ...next, offset: scrolled(next, next.cursor, next.offset) };
}

// ---------------------------------------------------------------------------------------------
// live list

/** Remember the cursor's item and its screen row, to put it back after the match list changes. */
function keepCursor<T>(before: PickerState<T>, after: PickerState<T>): PickerState<T> {
  const curIndex = before.result.indices[before.cursor];
  if (curIndex === undefined) return withCursor(after, 0);
  const pos = after.result.indices.indexOf(curIndex);
  if (pos < 0) return withCursor(after, Math.min(before.cursor, matchCount(after) - 1));
  const row = before.cursor - before.offset;
  const next = { ...after, cursor: pos, offset: Math.max(0, pos - row) };
  return { ...next, offset: scrolled(next, pos, next.offset) };
}

/**
 * Items appeared (watch ADDED/MODIFIED): new ids are appended and matched; known ids get the new payload
 * and come back to life if they were removed. Query, selection and the cursor's item stay.
 */
export function addItems<T>(s: PickerState<T>, items: readonly PickerItem<T>[]): PickerState<T> {
  let list: PickerItem<T>[] | undefined;
  const fresh: PickerItem<T>[] = [];
  const freshIds = new Set<string>();
  let removed = s.removed;
  for (const it of items) {
    const at = s.byId.get(it.id);
    if (at !== undefined) {
      list ??= s.items.slice();
      if (list[at].removed) removed--;
      list[at] = { ...it, removed: false };
    } else if (!freshIds.has(it.id)) {
      freshIds.add(it.id);
      fresh.push({ ...it, removed: false });
    }
  }
  if (!list && fresh.length === 0) return s;
  if (fresh.length === 0) return { ...s, items: list!, removed };
  const all = [...(list ?? s.items), ...fresh];
  const byId = new Map(s.byId);
  fresh.forEach((it, k) => byId.set(it.id, s.items.length + k));
  const matcher = s.matcher.withAdded(
    fresh.map((i) => matchEntry(i, s.showNamespace)),
  );
  return keepCursor(s, { ...s, items: all, removed, byId, matcher, result: matcher.match(s.query) });
}

/** Items disappeared (watch DELETED): greyed out in place, no longer selectable or accepted. */
export function removeItems<T>(s: PickerState<T>, ids: readonly string[]): PickerState<T> {
  let list: PickerItem<T>[] | undefined;
  let removed = s.removed;
  for (const id of ids) {
    const at = s.byId.get(id);
    if (at === undefined || (list ?? s.items)[at].removed) continue;
    list ??= s.items.slice();
    list[at] = { ...list[at], removed: true };
    removed++;
  }
  return list ? { ...s, items: list, removed } : s;
}
