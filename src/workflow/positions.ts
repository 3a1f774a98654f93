/**
 * Where things are written in a workflow file, without the YAML parser: a table made once, from the
 * parse, when a file's validated form is cached (load.ts `positionTable`), and read back on a cache hit
 * so that run-time messages still name file:line:col (an expression that fails, a workflow a step
 * calls that is not found). The answers are the parse's own (`nodeOffset`, `exprOffset`), stored per
 * path: tests/unit/workflow/positions_test.ts compares both over many files.
 */
import type { Path } from "./model.ts";

/** Offsets into the file's text (UTF-16 code units, as the parser counts them). */
export interface PosTable {
  /** the offset of the node at each path of the workflow (key: `pathKey`) */
  nodes: Record<string, number>;
  /** string scalars: [start, end, 1 when quoted] */
  strings: Record<string, [number, number, number]>;
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

/** The positions of a file read back from its table; `valueAt` gives the workflow's value at a path. */
export function positionsFrom(table: PosTable, text: string, valueAt: (path: Path) => unknown): Positions {
  const offsetOf = (path: Path): number => {
    for (let n = path.length; n >= 0; n--) {
      const o = table.nodes[pathKey(path.slice(0, n))];
      if (o !== undefined) return o;
    }
    return 0;
  };
  return {
    pos: (path) => lineCol(text, offsetOf(path)),
    exprPos: (path, column) => {
      const s = table.strings[pathKey(path)];
      const value = valueAt(path);
      if (!s || typeof value !== "string") return lineCol(text, offsetOf(path));
      return lineCol(text, exprOffsetIn({ value, start: s[0], end: s[1], quoted: s[2] === 1 }, text, column));
    },
  };
}

/** Is this a table as `positionTable` makes them (a cache entry read back from disk)? */
export function isPosTable(v: unknown): v is PosTable {
  const t = v as PosTable | undefined;
  return !!t && typeof t === "object" && !!t.nodes && typeof t.nodes === "object" && !!t.strings &&
    typeof t.strings === "object";
}

/** The value at `path` inside `root` (undefined where the path does not exist). */
export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const seg of path) v = v == null ? undefined : (v as Record<string | number, unknown>)[seg];
  return v;
}
