/**
 * Folded fan-out output, as `pdsh … | dshbak -c` prints it: each distinct output once, under the pods
 * that produced it, their names compressed into ranges (`load-[000-041,043-099] (99)`), with the exit
 * status of the group. Pure functions; the fan-out collects the output and prints `formatGroups`.
 */
import type { PodResult } from "./summary.ts";

interface Numbered {
  prefix: string;
  digits: string;
  value: number;
}

/** Split `load-042` into `load-` + `042`; names without trailing digits stay whole (undefined). */
function numbered(name: string): Numbered | undefined {
  const m = /^(.*?)(\d+)$/.exec(name);
  if (!m || m[2].length > 15) return undefined;
  return { prefix: m[1], digits: m[2], value: Number(m[2]) };
}

const padded = (d: string) => d.length > 1 && d.startsWith("0");

/**
 * Compress names into pdsh-style host lists: `load-000..load-041, load-043..load-099` ->
 * `load-[000-041,043-099]`; a lone name stays as it is (`load-042`), names without a trailing number are
 * listed as they are. Zero-padded numbers keep their width and join only numbers of the same width;
 * unpadded ones join each other (`node-[9-11]`). Order: by prefix, then number; plain names first.
 */
export function compressNames(names: string[]): string {
  const plain: string[] = [];
  /** prefix -> width class ("p3" = zero-padded to 3 digits, "u" = unpadded) -> numbers */
  const byPrefix = new Map<string, Map<string, { width: number; values: Set<number> }>>();
  const uniq = [...new Set(names)];
  const parsed = uniq.map((n) => [n, numbered(n)] as const);
  // the padded widths in use per prefix: an unpadded number of that width belongs with them (load-100 with load-099)
  const paddedWidths = new Map<string, Set<number>>();
  for (const [, p] of parsed) {
    if (p && padded(p.digits)) {
      const s = paddedWidths.get(p.prefix) ?? new Set();
      s.add(p.digits.length);
      paddedWidths.set(p.prefix, s);
    }
  }
  for (const [name, p] of parsed) {
    if (!p) {
      plain.push(name);
      continue;
    }
    const width = p.digits.length;
    const cls = padded(p.digits) || paddedWidths.get(p.prefix)?.has(width) ? `p${width}` : "u";
    const classes = byPrefix.get(p.prefix) ?? new Map();
    byPrefix.set(p.prefix, classes);
    const c = classes.get(cls) ?? { width: cls === "u" ? 0 : width, values: new Set<number>() };
    classes.set(cls, c);
    c.values.add(p.value);
  }
  const items: { key: string; text: string }[] = plain.sort().map((n) => ({ key: n, text: n }));
  for (const [prefix, classes] of byPrefix) {
    for (const { width, values } of classes.values()) {
      const sorted = [...values].sort((a, b) => a - b);
      const fmt = (v: number) => String(v).padStart(width, "0");
      if (sorted.length === 1) {
        items.push({ key: prefix + fmt(sorted[0]), text: prefix + fmt(sorted[0]) });
        continue;
      }
      const ranges: string[] = [];
      let start = sorted[0];
      let prev = sorted[0];
      for (const v of [...sorted.slice(1), NaN]) {
        if (v === prev + 1) {
          prev = v;
          continue;
        }
        ranges.push(start === prev ? fmt(start) : `${fmt(start)}-${fmt(prev)}`);
        start = prev = v;
      }
      items.push({ key: prefix + fmt(sorted[0]), text: `${prefix}[${ranges.join(",")}]` });
    }
  }
  return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((i) => i.text).join(",");
}

/** What a group's pods ended with: `exit 0`, `exit 2`, `error: …`, `timed out after 5s`, `cancelled`. */
export function outcome(r: PodResult): string {
  switch (r.status) {
    case "ok":
    case "failed":
      return `exit ${r.exitCode}`;
    case "error":
      return `error: ${r.error ?? "unknown error"}`;
    default:
      return r.error ?? r.status;
  }
}

export interface OutputGroup {
  /** the pods' labels (as the prefixes name them) */
  names: string[];
  /** their combined output (stdout and stderr, as they arrived) */
  output: string;
  outcome: string;
  /** every pod of the group succeeded */
  ok: boolean;
}

/**
 * Group results by identical output and outcome. `label` names a pod (`pod`, `ns/pod`, `ctx:pod`).
 * Largest group first; ties by their first name.
 */
export function groupResults(results: PodResult[], label: (r: PodResult) => string): OutputGroup[] {
  const groups = new Map<string, OutputGroup>();
  for (const r of results) {
    const output = r.output ?? "";
    const out = outcome(r);
    const key = JSON.stringify([output, out]);
    const g = groups.get(key) ?? { names: [], output, outcome: out, ok: r.status === "ok" };
    groups.set(key, g);
    g.names.push(label(r));
  }
  const list = [...groups.values()];
  for (const g of list) g.names.sort();
  return list.sort((a, b) => b.names.length - a.names.length || (a.names[0] < b.names[0] ? -1 : 1));
}

const RULE = "----------------";

/**
 * dshbak -c's layout, with the count and the outcome on the header line:
 *
 *   ----------------
 *   load-[000-041,043-099] (99) exit 0
 *   ----------------
 *   same
 */
export function formatGroups(
  groups: OutputGroup[],
  o: { color?: boolean; header?: (s: string, ok: boolean) => string } = {},
): string {
  const out: string[] = [];
  for (const g of groups) {
    const head = `${compressNames(g.names)} (${g.names.length}) ${g.outcome}`;
    out.push(RULE, o.header ? o.header(head, g.ok) : head, RULE);
    if (g.output === "") out.push("(no output)");
    else out.push(g.output.endsWith("\n") ? g.output.slice(0, -1) : g.output);
  }
  return out.length ? out.join("\n") + "\n" : "";
}
