/**
 * Source positions in parsed YAML (the `yaml` package's node tree): the node at a path of map
 * keys / sequence indexes, its offset, and that offset as 1-based line:column. Shared by the
 * workflow loader and the config file reader so both point at the same place for the same path.
 * A base module like errors.ts: it imports only `yaml` and no kodama module.
 */
import { isMap, isPair, isScalar, isSeq, type LineCounter } from "yaml";
import type { Node as YNode } from "yaml";

export type { YNode };
/** Map keys and sequence indexes from the document root; numeric strings index sequences too. */
export type YamlPath = readonly (string | number)[];

export interface LinePos {
  /** 1-based */
  line: number;
  /** 1-based */
  col: number;
}

/** The key and value nodes of `seg` under `n` (a mapping key, or an index into a sequence). */
export function childNode(
  n: YNode | null | undefined,
  seg: string | number,
): { key?: YNode; value?: YNode } | undefined {
  if (isMap(n)) {
    const pair = n.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
    return pair
      ? { key: pair.key as YNode, value: (pair.value ?? undefined) as YNode | undefined }
      : undefined;
  }
  const index = typeof seg === "number" ? seg : /^\d+$/.test(seg) ? Number(seg) : undefined;
  if (isSeq(n) && index !== undefined) {
    const v = n.items[index] as YNode | undefined;
    return v ? { value: v } : undefined;
  }
  return undefined;
}

/** The value node at `path`, or undefined when the path does not exist. */
export function nodeAt(root: YNode | null | undefined, path: YamlPath): YNode | undefined {
  let n: YNode | null | undefined = root;
  for (const seg of path) n = childNode(n, seg)?.value;
  return n ?? undefined;
}

/** Walk `path` from `root`: the offset reached, and whether the whole path exists. */
function walk(
  root: YNode | null | undefined,
  path: YamlPath,
  key: boolean,
): { offset: number; found: boolean } {
  let n: YNode | null | undefined = root;
  let offset = n?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const c = childNode(n, path[i]);
    if (!c) return { offset, found: false };
    if (key && i === path.length - 1 && c.key) return { offset: c.key.range?.[0] ?? offset, found: true };
    n = c.value;
    offset = n?.range?.[0] ?? c.key?.range?.[0] ?? offset;
  }
  return { offset, found: true };
}

/**
 * Offset of the node at `path` (its key when `key`); where the path does not exist, the offset of
 * its nearest existing ancestor (0 for an empty document).
 */
export function nodeOffset(root: YNode | null | undefined, path: YamlPath, key = false): number {
  return walk(root, path, key).offset;
}

/** Like `nodeOffset`, but undefined when the path does not exist in the document. */
export function findOffset(root: YNode | null | undefined, path: YamlPath, key = false): number | undefined {
  const r = walk(root, path, key);
  return r.found ? r.offset : undefined;
}

/** 1-based line and column of `offset`. */
export function linePos(lc: LineCounter, offset: number): LinePos {
  return lc.linePos(offset);
}

/** `:line:col` for appending to a file name; "" when the offset is unknown. */
export function posSuffix(lc: LineCounter, offset: number | undefined): string {
  if (offset === undefined) return "";
  const { line, col } = lc.linePos(offset);
  return `:${line}:${col}`;
}

/**
 * A hint for a YAML error a person makes by hand: an unquoted `: ` inside a value (`run: echo a: b`), which
 * the parser reports as a nested mapping. `text` and `offset` are the document and the error's position.
 */
export function yamlErrorHint(message: string, text: string, offset = 0): string | undefined {
  if (
    !/Nested mappings are not allowed|Implicit map keys need|not allowed within flow collections/.test(
      message,
    )
  ) {
    return undefined;
  }
  const start = text.lastIndexOf("\n", Math.max(0, offset - 1)) + 1;
  const end = text.indexOf("\n", offset);
  const line = text.slice(start, end < 0 ? undefined : end);
  // after the key's `: `, the value has a `: ` of its own
  const value = line.slice(line.indexOf(": ") + 2);
  return line.includes(": ") && /:(\s|$)/.test(value) ? QUOTE_HINT : undefined;
}

const QUOTE_HINT = `quote a value that contains ': ', e.g. run: "echo a: b"`;
