/**
 * Pure rendering of a picker state to terminal lines (no I/O). With `color: false` the output is plain
 * text, which is what the unit tests assert on.
 *
 *   pod> dri▏
 *     3/120 (1 selected)  ──────────────     enter accept · tab mark · ? preview · esc cancel
 *   > * weka-drive-0            │ namespace  weka-operator-system
 *       weka-drive-1            │ phase      Running
 *       weka-drive-2 (deleted)  │ ...
 */
import {
  current,
  HEADER_ROWS,
  layout,
  liveCount,
  liveMatchCount,
  type PickerItem,
  type PickerState,
  previewShown,
  selectedItems,
} from "./state.ts";

export interface RenderOptions<T> {
  /** colours; the query caret is then a reverse-video cell (the character under it, or a space at the end) */
  color?: boolean;
  /** preview lines for the cursor item (plain text; truncated here) */
  preview?: (item: PickerItem<T>) => string[];
  /**
   * Plain text only: draw this mark (e.g. "|") at the query caret, so tests can see where it is. Off by
   * default: without colour the terminal's own cursor shows the caret (the driver puts it there).
   */
  caretMark?: string;
}

/** The part of the query on screen and the caret within it (code points). */
export interface QueryView {
  text: string;
  caret: number;
}

/**
 * The visible window of the query: all of it when it fits after the prompt (with one cell for a caret at
 * the end), else the part that ends at the caret's cell, so the caret never leaves the screen.
 * The driver uses it too, to put the terminal cursor on the caret.
 */
export function queryView(s: PickerState<unknown>): QueryView {
  const chars = [...s.query];
  const caret = Math.min(s.queryCursor, chars.length);
  const room = Math.max(1, s.width - textWidth(s.prompt) - 1);
  if (chars.length <= room) return { text: s.query, caret };
  const start = Math.max(0, Math.min(caret - room + 1, chars.length - room));
  return { text: chars.slice(start, start + room).join(""), caret: caret - start };
}

type Style =
  | ""
  | "match"
  | "cursor"
  | "marker"
  | "dim"
  | "prompt"
  | "info"
  | "removed"
  | "bold"
  | "cursorMatch"
  | "caret";
type Seg = { text: string; style: Style };

const SGR: Record<Exclude<Style, "">, string> = {
  match: "\x1b[1;32m",
  cursorMatch: "\x1b[1;32m",
  cursor: "\x1b[1;31m",
  marker: "\x1b[1;35m",
  dim: "\x1b[2m",
  prompt: "\x1b[1;34m",
  info: "\x1b[33m",
  removed: "\x1b[90;9m",
  bold: "\x1b[1m",
  caret: "\x1b[7m",
};

/** Code-point width of plain text (pod names and our labels are ASCII; wide glyphs count as one). */
export function textWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Cut plain text to `width` code points, marking the cut with `…`. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return "";
  const cps = [...s];
  if (cps.length <= width) return s;
  return cps.slice(0, Math.max(0, width - 1)).join("") + "…";
}

function pad(s: string, width: number): string {
  const w = textWidth(s);
  return w >= width ? truncate(s, width) : s + " ".repeat(width - w);
}

/** Join segments, cutting at `width` (plain-text width) and adding colour when asked. */
function line(segs: Seg[], width: number, color: boolean): string {
  let out = "";
  let used = 0;
  for (const seg of segs) {
    if (used >= width) break;
    let text = seg.text;
    const w = textWidth(text);
    if (used + w > width) {
      text = truncate(text, width - used);
    }
    used += textWidth(text);
    out += color && seg.style ? `${SGR[seg.style]}${text}\x1b[0m` : text;
  }
  return color ? out : out.trimEnd();
}

/** Split `text` into matched / unmatched segments. */
function highlight(text: string, positions: Set<number>, base: Style, hit: Style): Seg[] {
  if (positions.size === 0) return [{ text, style: base }];
  const segs: Seg[] = [];
  let cur = "";
  let curHit = false;
  let i = 0;
  for (const ch of text) {
    const h = positions.has(i++);
    if (h !== curHit && cur) {
      segs.push({ text: cur, style: curHit ? hit : base });
      cur = "";
    }
    curHit = h;
    cur += ch;
  }
  if (cur) segs.push({ text: cur, style: curHit ? hit : base });
  return segs;
}

function promptSegs(s: PickerState<unknown>, color: boolean, caretMark = ""): Seg[] {
  const { text, caret } = queryView(s);
  const chars = [...text];
  const before = chars.slice(0, caret).join("");
  const after = chars.slice(caret).join("");
  const segs: Seg[] = [{ text: s.prompt, style: "prompt" }, { text: before, style: "" }];
  if (color) {
    segs.push({ text: chars[caret] ?? " ", style: "caret" }, {
      text: chars.slice(caret + 1).join(""),
      style: "",
    });
  } else {
    segs.push({ text: caretMark, style: "" }, { text: after, style: "" });
  }
  return segs.filter((g) => g.text !== "");
}

export function render<T>(s: PickerState<T>, opts: RenderOptions<T> = {}): string[] {
  const color = opts.color ?? false;
  const L = layout(s);
  const lines: string[] = [];

  // 1. prompt line with the query and its caret (the driver also puts the terminal cursor on the caret)
  lines.push(line(promptSegs(s, color, opts.caretMark), s.width, color));

  // 2. info line: counter, selection, message or key hints
  const sel = selectedItems(s).length;
  const counter = `  ${liveMatchCount(s)}/${liveCount(s)}` + (s.multi && sel > 0 ? ` (${sel} selected)` : "");
  let hints = s.message;
  if (!hints) {
    // as many key hints as fit, most important first
    const all = ["enter accept", ...(s.multi ? ["tab mark", "ctrl-a all"] : []), "? preview", "esc cancel"];
    const dropOrder = ["ctrl-a all", "tab mark", "? preview", "esc cancel", "enter accept"];
    let keep = all;
    for (const d of dropOrder) {
      if (textWidth(counter) + textWidth(keep.join(" · ")) + 4 <= s.width) break;
      keep = keep.filter((h) => h !== d);
    }
    hints = keep.join(" · ");
  }
  const gap = s.width - textWidth(counter) - textWidth(hints) - 2;
  lines.push(line(
    gap >= 2 && hints
      ? [{ text: counter, style: "info" }, { text: " " + "─".repeat(gap) + " ", style: "dim" }, {
        text: hints,
        style: s.message ? "bold" : "dim",
      }]
      : [{ text: counter, style: "info" }, { text: s.message ? "  " + s.message : "", style: "bold" }],
    s.width,
    color,
  ));

  // 3. list rows
  const visible = Array.from(s.result.indices.subarray(s.offset, s.offset + L.listRows));
  const positions = s.matcher.positions(s.result, visible);
  const nsWidth = s.showNamespace
    ? Math.min(
      30,
      Math.floor(L.listWidth / 3),
      Math.max(9, ...visible.map((i) => textWidth(s.items[i].namespace ?? ""))),
    )
    : 0;
  const rows: string[] = [];
  visible.forEach((idx, k) => {
    const it = s.items[idx];
    const isCursor = s.offset + k === s.cursor;
    const isSel = !it.removed && s.selected.has(it.id);
    const pos = new Set(positions.get(idx) ?? []);
    const base: Style = it.removed ? "removed" : isCursor ? "bold" : "";
    const hit: Style = it.removed ? "removed" : "match";
    const segs: Seg[] = [
      { text: isCursor ? ">" : " ", style: "cursor" },
      { text: s.multi ? (isSel ? "*" : " ") : "", style: "marker" },
      { text: " ", style: "" },
    ];
    let labelPos = pos;
    if (s.showNamespace) {
      const ns = it.namespace ?? "";
      const nsLen = textWidth(ns);
      const nsPos = new Set([...pos].filter((p) => p < nsLen));
      labelPos = new Set([...pos].filter((p) => p > nsLen).map((p) => p - nsLen - 1));
      segs.push(...highlight(pad(ns, nsWidth), nsPos, it.removed ? "removed" : "dim", hit), {
        text: "  ",
        style: "",
      });
    }
    segs.push(...highlight(it.label, labelPos, base, hit));
    if (it.removed) segs.push({ text: " (deleted)", style: "dim" });
    rows.push(line(segs, L.listWidth, color));
  });
  if (visible.length === 0) rows.push(line([{ text: "  (no matches)", style: "dim" }], L.listWidth, color));

  // 4. preview
  const cur = current(s);
  const pv = previewShown(s) && L.preview !== "none" && cur && opts.preview ? opts.preview(cur) : [];
  if (L.preview === "right") {
    const n = Math.min(L.listRows, Math.max(rows.length, pv.length));
    for (let r = 0; r < n; r++) {
      const left = rows[r] ?? "";
      const leftPad = color
        ? left + " ".repeat(Math.max(0, L.listWidth - visibleWidth(left)))
        : pad(left, L.listWidth);
      const right = pv[r] !== undefined ? truncate(pv[r], L.previewWidth) : "";
      const sep = color ? `\x1b[2m │\x1b[0m ` : " │ ";
      lines.push(color ? leftPad + sep + right : (leftPad + sep + right).trimEnd());
    }
  } else {
    lines.push(...rows);
    if (L.preview === "below" && opts.preview) {
      lines.push(line([{ text: "─".repeat(s.width), style: "dim" }], s.width, color));
      for (const p of pv.slice(0, L.previewRows)) lines.push(line([{ text: p, style: "" }], s.width, color));
    }
  }
  return lines.slice(0, Math.max(HEADER_ROWS + 1, s.height));
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
function visibleWidth(s: string): number {
  return textWidth(s.replace(ANSI, ""));
}
