/**
 * Where things are written in a workflow file, without the YAML parser: a table made once, from the
 * parse, when a file's validated form is cached (load.ts `positionTable`), and read back on a cache hit
 * so that run-time messages still name file:line:col (an expression that fails, a workflow a step
 * calls that is not found). The answers are the parse's own (`nodeOffset`, `exprOffset`), stored per
 * node: tests/unit/workflow/positions_test.ts compares both over many files.
 *
 * The table is compact (a few bytes a node): the workflow's nodes are numbered in a depth-first walk of
 * the workflow value itself (a map's keys in their order, a list's items), which the cached JSON keeps,
 * so a node needs no path written down. A lookup walks the value again — only for an error message.
 */
import type { Path } from "./model.ts";

/** Offsets into the file's text (UTF-16 code units, as the parser counts them). */
export interface PosTable {
  /** the offset of each node of the workflow, depth-first, parents before their `children` */
  offsets: number[];
  /** string scalars, by their node's number: [end, 1 when quoted] (they start at their offset) */
  strings: Record<string, [number, number]>;
}

/** A value's children in the order the table numbers them. */
export function children(v: unknown): [string | number, unknown][] {
  if (Array.isArray(v)) return v.map((x, i) => [i, x]);
  if (v && typeof v === "object") return Object.entries(v);
  return [];
}

function size(v: unknown): number {
  let n = 1;
  for (const [, x] of children(v)) n += size(x);
  return n;
}

/**
 * The number of the node at `path`, and whether the whole path exists (else: the nearest existing
 * ancestor's). Numbers and numeric strings name the same list item, as in yamlpos.ts `childNode`.
 */
function numberOf(root: unknown, path: Path): { index: number; found: boolean; value: unknown } {
  let index = 0, v = root;
  for (const seg of path) {
    let at = index + 1, hit = false;
    for (const [k, x] of children(v)) {
      if (String(k) === String(seg)) {
        v = x;
        hit = true;
        break;
      }
      at += size(x);
    }
    if (!hit) return { index, found: false, value: undefined };
    index = at;
  }
  return { index, found: true, value: v };
}

export interface Positions {
  /** 1-based line/column of the node at `path` (or of its nearest existing ancestor) */
  pos(path: Path): { line: number; col: number };
  /** 1-based line/column of the `column`-th character of the string at `path` */
  exprPos(path: Path, column: number): { line: number; col: number };
}

/** Numbers and numeric strings name the same sequence item, as in yamlpos.ts `childNode`. */
export function pathKey(path: readonly (string | number)[]): string {
  return path.map(String).join("\u0000");
}

/** The 1-based line and column of `offset`: lines start after each "\n" (the parser's LineCounter). */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1, start = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/**
 * The offset of the `column`-th character of a string scalar's value (`value`, written from `start` to
 * `end`, quoted or not), looked up in the source text: aligned on the `${{` that precedes the column,
 * so quoting and escapes before it do not matter.
 */
export function exprOffsetIn(
  s: { value: string; start: number; end: number; quoted: boolean },
  text: string,
  column: number,
): number {
  const markIndex = s.value.lastIndexOf("${{", column);
  if (markIndex < 0) return s.start + (s.quoted ? 1 : 0) + column;
  const nth = countOccurrences(s.value.slice(0, markIndex), "${{");
  let src = s.start;
  for (let k = 0; k <= nth; k++) {
    const f = text.indexOf("${{", k === 0 ? src : src + 3);
    if (f < 0 || f > s.end) return s.start;
    src = f;
  }
  return src + (column - markIndex);
}

function countOccurrences(s: string, sub: string): number {
  let n = 0, i = s.indexOf(sub);
  while (i >= 0) {
    n++;
    i = s.indexOf(sub, i + sub.length);
  }
  return n;
}

/** The positions of a file read back from its table, for the workflow value the table was made from. */
export function positionsFrom(table: PosTable, text: string, workflow: unknown): Positions {
  const offsetOf = (index: number) => table.offsets[index] ?? 0;
  return {
    pos: (path) => lineCol(text, offsetOf(numberOf(workflow, path).index)),
    exprPos: (path, column) => {
      const { index, found, value } = numberOf(workflow, path);
      const s = found ? table.strings[index] : undefined;
      if (!s || typeof value !== "string") return lineCol(text, offsetOf(index));
      const start = offsetOf(index);
      return lineCol(text, exprOffsetIn({ value, start, end: s[0], quoted: s[1] === 1 }, text, column));
    },
  };
}

/** Is this a table as `positionTable` makes them, for this workflow (a cache entry read back from disk)? */
export function isPosTable(v: unknown, workflow: unknown): v is PosTable {
  const t = v as PosTable | undefined;
  return !!t && typeof t === "object" && Array.isArray(t.offsets) && t.offsets.length === size(workflow) &&
    t.offsets.every((o) => Number.isInteger(o)) && !!t.strings && typeof t.strings === "object";
}

/** The value at `path` inside `root` (undefined where the path does not exist). */
export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const seg of path) v = v == null ? undefined : (v as Record<string | number, unknown>)[seg];
  return v;
}
