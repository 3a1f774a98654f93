/**
 * Checks on a parsed YAML document that keep loading it bounded, in one linear pass over its nodes
 * — before `toJS()` or anything else walks the data:
 *
 * - **aliases**: at most `maxAliases` of them, and the nodes they add when expanded at most
 *   `maxAliasNodes` (an alias bomb — `&a [x,x,…]`, `&b [*a,*a,…]`, … — doubles them at each level
 *   and would be expanded by whatever walks the data next); an alias of a node that contains it
 *   (which `toJS()` turns into a cyclic object) and an alias with no anchor before it are refused
 *   too. npm:yaml's own `maxAliasCount` throws without a position, and looking up each alias costs
 *   it a scan of the document: checked here first, each problem at the alias.
 * - **duplicate keys**, found with a set per mapping (npm:yaml's `uniqueKeys` compares every pair of
 *   keys: quadratic in the keys of one mapping).
 *
 * A base module like yamlpos.ts: it imports only `yaml`.
 */
import { isAlias, isMap, isPair, isScalar, isSeq } from "yaml";
import type { Alias, Document, Node as YNode } from "yaml";

export interface YamlProblem {
  /** offset into the source text */
  offset: number;
  message: string;
}

export interface GuardOptions {
  maxAliases: number;
  maxAliasNodes: number;
}

/**
 * Before parsing: the offset where flow collections (`[`, `{`) nest deeper than `max`, if they do.
 * npm:yaml parses nesting by recursion and gives up only when the stack overflows — after seconds
 * for a megabyte of `[[[[…`. Brackets count only where a collection can start (after `[ { , : - ?`
 * or first on a line), outside quotes and comments, so `echo a{b` in a plain scalar is not one.
 */
export function flowTooDeep(text: string, max: number): number | undefined {
  let depth = 0;
  let prev = "\n"; // the last character that is not a space or tab
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === " " || c === "\t") continue;
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf("\n", i);
      if (nl < 0) break;
      i = nl - 1;
      continue;
    }
    if ((c === '"' || c === "'") && (prev === "\n" || "[{,:-?".includes(prev))) {
      for (i++; i < text.length; i++) {
        if (c === '"' && text[i] === "\\") i++;
        else if (text[i] === c) {
          if (c === "'" && text[i + 1] === "'") i++;
          else break;
        }
      }
      prev = c;
      continue;
    }
    if ((c === "[" || c === "{") && (prev === "\n" || "[{,:-?".includes(prev))) {
      if (++depth > max) return i;
    } else if ((c === "]" || c === "}") && depth > 0) depth--;
    prev = c;
  }
  return undefined;
}

/** How deep any file kodama reads from a repository may nest its collections. */
export const MAX_NESTING = 64;

/**
 * `where: collections nest deeper than 64 levels` when `text` (YAML or JSON, JSONC: both are flow syntax
 * here) nests its collections past MAX_NESTING, else undefined: said before a recursive parser would run
 * out of stack ("Maximum call stack size exceeded", which names nothing).
 */
export function nestingProblem(text: string, where: (offset: number) => string): string | undefined {
  const at = flowTooDeep(text, MAX_NESTING);
  return at === undefined ? undefined : `${where(at)}: collections nest deeper than ${MAX_NESTING} levels`;
}

/** `LINE:COL` (1-based) of an offset. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** A parser's own stack overflow, as what it is about (a last resort behind nestingProblem). */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError ||
    (e instanceof Error && /Maximum call stack size exceeded/.test(e.message)) ||
    (typeof e === "string" && /Maximum call stack size exceeded/.test(e));
}

function keyText(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  if (k === null || k === undefined) return "";
  return undefined; // a collection or alias as a key: left to the consumer
}

/** Problems in document order; empty when the document may be turned into data. */
export function guardYaml(doc: Document.Parsed, o: GuardOptions): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const anchors = new Map<string, YNode>();
  const aliases: { node: Alias; target?: YNode }[] = [];
  // one walk in document order: an alias names the last anchor of that name before it
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const n = stack.pop();
    if (n === null || n === undefined) continue;
    if (isAlias(n)) {
      aliases.push({ node: n, target: anchors.get(n.source) });
      continue;
    }
    const anchor = (n as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, n as YNode);
    if (isPair(n)) stack.push(n.value, n.key);
    else if (isMap(n) || isSeq(n)) {
      for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]);
      if (isMap(n)) duplicateKeys(n.items, problems);
    }
  }
  if (aliases.length) checkAliases(aliases, o, problems);
  return problems.sort((a, b) => a.offset - b.offset);
}

/** Alias count, what the aliases expand to, and aliases of nodes that contain them. */
function checkAliases(aliases: { node: Alias; target?: YNode }[], o: GuardOptions, problems: YamlProblem[]) {
  const at = (a: Alias) => a.range?.[0] ?? 0;
  if (aliases.length > o.maxAliases) {
    problems.push({
      offset: at(aliases[o.maxAliases].node),
      message: `more than ${o.maxAliases} YAML aliases; write the values out`,
    });
    return;
  }
  const targetOf = new Map(aliases.map((a) => [a.node, a.target]));
  const cap = o.maxAliasNodes + 1;
  const sizes = new Map<YNode, number>();
  const walking = new Set<YNode>();
  let recursive: Alias | undefined;
  /** nodes of `t` once expanded (aliases inside it count what they stand for), capped */
  const sizeOf = (t: YNode): number => {
    const known = sizes.get(t);
    if (known !== undefined) return known;
    walking.add(t);
    let n = 0;
    const stack: unknown[] = [t];
    while (stack.length && n < cap) {
      const x = stack.pop();
      if (x === null || x === undefined) continue;
      if (isAlias(x)) {
        const inner = targetOf.get(x);
        if (inner && walking.has(inner)) {
          recursive ??= x;
          continue;
        }
        n += inner ? sizeOf(inner) : 0;
        continue;
      }
      n++;
      if (isPair(x)) stack.push(x.value, x.key);
      else if (isMap(x) || isSeq(x)) { for (const i of x.items) stack.push(i); }
    }
    walking.delete(t);
    const s = Math.min(n, cap);
    sizes.set(t, s);
    return s;
  };
  let added = 0;
  for (const { node, target } of aliases) {
    if (!target) {
      problems.push({
        offset: at(node),
        message: `alias *${node.source} has no anchor &${node.source} before it`,
      });
      continue;
    }
    added += sizeOf(target);
    if (recursive) {
      problems.push({
        offset: at(recursive),
        message: `alias *${recursive.source} is inside the node it names (a recursive alias)`,
      });
      return;
    }
    if (added > o.maxAliasNodes) {
      problems.push({
        offset: at(node),
        message:
          `YAML aliases expand to more than ${o.maxAliasNodes} nodes at *${node.source} (an alias bomb?)`,
      });
      return;
    }
  }
}

function duplicateKeys(pairs: unknown[], problems: YamlProblem[]) {
  const seen = new Map<string, unknown>();
  for (const p of pairs) {
    if (!isPair(p)) continue;
    const k = keyText(p.key);
    if (k === undefined) continue;
    if (seen.has(k)) {
      const offset = (p.key as YNode | null)?.range?.[0] ?? 0;
      problems.push({ offset, message: `YAML: Map keys must be unique ("${k}" is set twice)` });
    } else seen.set(k, p);
  }
}
