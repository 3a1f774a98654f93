/**
 * The picker as a pure state machine: `onKey(state, key) -> { state, action }`. No terminal I/O here;
 * `render.ts` turns a state into lines and `driver.ts` moves keys and lines between the two.
 *
 * Keys (fzf's defaults where fzf has one):
 *   printable text     append to the query (re-filters)
 *   Backspace          delete the last query character;  Ctrl-U clear the query;  Ctrl-W delete the last word
 *   Up/Down, Ctrl-P/N  move the cursor;  PgUp/PgDn a page;  Home/End first/last match
 *   Enter              accept: in multi mode the selected rows (or the cursor row when nothing is selected)
 *   Tab / Shift-Tab    multi mode: toggle the cursor row and move down / up
 *   Ctrl-A             multi mode: select every live match (again: deselect them)
 *   Esc, Ctrl-C        abort
 *   ?  or  Ctrl-/      toggle the preview. `?` never enters the query: pod names (DNS labels) and fzf's search
 *                      syntax never contain `?`, so binding it costs nothing (like fzf's `--bind ?:toggle-preview`).
 */
import { Matcher, type MatchResult } from "./match.ts";

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
  | "ctrl-/";
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
  v2Limit?: number;
}

/** Width from which the preview sits right of the list (and is shown by default). */
export const WIDE = 100;

function matchText(item: PickerItem<unknown>, showNamespace: boolean): string {
  return showNamespace && item.namespace !== undefined ? `${item.namespace}/${item.label}` : item.label;
}

export function createState<T>(items: readonly PickerItem<T>[], opts: CreateOptions = {}): PickerState<T> {
  const showNamespace = opts.showNamespace ?? new Set(items.map((i) => i.namespace ?? "")).size > 1;
  const unique = dedupe(items);
  const matcher = new Matcher(unique.map((i) => ({ text: matchText(i, showNamespace), name: i.label })), {
    v2Limit: opts.v2Limit,
  });
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

export function setQuery<T>(s: PickerState<T>, query: string): PickerState<T> {
  if (query === s.query) return s;
  return { ...s, query, result: s.matcher.match(query), cursor: 0, offset: 0 };
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
    let next = add ? setQuery(s, s.query + add) : s;
    if (preview) next = togglePreview(next);
    return none(next);
  }
  const rows = layout(s).listRows;
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
    case "backspace":
      return none(setQuery(s, [...s.query].slice(0, -1).join("")));
    case "ctrl-u":
      return none(setQuery(s, ""));
    case "ctrl-w":
      return none(setQuery(s, s.query.replace(/\S*\s*$/, "")));
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
      if (!s.multi) return none(s);
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
    fresh.map((i) => ({ text: matchText(i, s.showNamespace), name: i.label })),
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
