/**
 * `kodama pods -w|--watch-only`: kubectl's `get pods -w`. List first, print it (unless --watch-only),
 * then watch from the list's resourceVersion and print one row (or object) per change, until Ctrl-C.
 *
 * Filters the API cannot apply (-m, --regex, --running) are applied to each event with label-selector
 * semantics: a pod that starts matching is ADDED, one that stops matching is DELETED (with its new state).
 * Tables keep kubectl's look: widths come from the first batch and only grow (Go's tabwriter with
 * RememberWidths, as kubectl prints watch output), the header is printed once, with the first rows.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube, WatchEventType } from "../kube/client.ts";
import { ExitCode } from "../base/errors.ts";
import { withInterrupt } from "../base/proc/proc.ts";
import { type OutputFormat, parseOutputFormat } from "../ui/output.ts";
import { stripAnsi } from "../ui/color.ts";
import { type Sink, stderrSink, stdoutSink } from "../base/sink.ts";
import { podColumns, withKind } from "./display.ts";
import {
  compileRegex,
  fieldSelectorWith,
  isRunning,
  nameMatches,
  podKey,
  resolveTarget,
  sortPods,
  type TargetFlags,
  targetNamespace,
  validateTarget,
} from "./target.ts";

export interface WatchOptions {
  /** no initial list (kubectl --watch-only) */
  watchOnly?: boolean;
  /** an EVENT column (table), or {type, object} per event (json/yaml) */
  outputWatchEvents?: boolean;
  out?: Sink;
  /** stop when aborted (tests); otherwise SIGINT stops it and the result is 130 */
  signal?: AbortSignal;
  /** the clock for AGE (tests) */
  now?: () => number;
  /** notes about API-server outages (default stderr) */
  err?: Sink;
  /** how long to keep retrying an unreachable API server (default 5m) */
  reconnectTimeout?: string;
}

/**
 * A table printed a few rows at a time with widths that only grow, like Go's tabwriter with
 * RememberWidths: each column is as wide as the widest cell seen so far, plus 3 spaces; the last
 * column is not padded; a cell is at least 6 wide (kubectl's tabwriter minwidth). The header goes out
 * with the first rows.
 */
export class GrowingTable {
  private widths: number[] = [];
  private started = false;
  constructor(private readonly headers: string[]) {}

  /** Render `rows` (one batch, aligned together) as text; "" for no rows. */
  render(rows: string[][]): string {
    if (!rows.length) return "";
    const batch = this.started ? rows : [this.headers, ...rows];
    this.started = true;
    for (const r of batch) {
      r.forEach((c, i) => {
        if (i < r.length - 1) this.widths[i] = Math.max(this.widths[i] ?? 0, stripAnsi(c).length);
      });
    }
    return batch.map((r) =>
      r.map((c, i) =>
        i === r.length - 1 ? c : c + " ".repeat(Math.max(this.widths[i] + 3, 6) - stripAnsi(c).length)
      )
        .join("").trimEnd() + "\n"
    ).join("");
  }
}

type Stringify = (v: unknown) => string;

/** A copy of `v` with every object's keys in sorted order (how Go prints a map). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Renders pods (one batch at a time) in the watch framing kubectl uses for each output format. */
export class WatchPrinter {
  private table?: GrowingTable;
  private docs = 0;
  constructor(
    private readonly format: OutputFormat,
    private readonly o: { allNamespaces: boolean; events: boolean; yaml?: Stringify },
  ) {
    if (format === "table" || format === "wide") {
      const cols = podColumns({ allNamespaces: o.allNamespaces })[format];
      this.table = new GrowingTable([...(o.events ? ["EVENT"] : []), ...cols.headers]);
    }
  }

  render(events: [WatchEventType, V1Pod][], now = Date.now()): string {
    if (!events.length) return "";
    if (this.table) {
      const cols = podColumns({ allNamespaces: this.o.allNamespaces, now })[this.format as "table" | "wide"];
      // kubectl pads the event type to 8 ("MODIFIED"), so the EVENT column never grows
      return this.table.render(
        events.map(([type, p]) => [...(this.o.events ? [type.padEnd(8)] : []), ...cols.row(p)]),
      );
    }
    let s = "";
    for (const [type, pod] of events) {
      // kubectl prints watched objects as unstructured maps: keys sorted
      const p = (this.format === "json" || this.format === "yaml" ? sortKeys(withKind(pod)) : pod) as V1Pod;
      if (this.format === "name") s += `pod/${p.metadata?.name}\n`;
      else if (this.format === "json") {
        // kubectl: consecutive pretty objects (4-space indent); with events, one compact line each
        s += this.o.events ? JSON.stringify({ type, object: p }) + "\n" : JSON.stringify(p, null, 4) + "\n";
      } else {
        if (!this.o.yaml) throw new Error("-o yaml: pass a yaml stringify to WatchPrinter");
        s += (this.docs++ ? "---\n" : "") + this.o.yaml(this.o.events ? { object: p, type } : p);
      }
    }
    return s;
  }
}

/**
 * Client-side filtering of watch events with label-selector semantics. Feed it every API event; it
 * returns the event to show (its type adjusted), or undefined. A 410 restart that replays ADDED for a
 * pod already shown with the same resourceVersion shows nothing.
 */
export class EventFilter {
  private shown = new Map<string, string>();
  constructor(private readonly matches: (p: V1Pod) => boolean) {}

  /** Pods of the initial list count as shown (also with --watch-only: their changes are MODIFIED). */
  seed(pods: V1Pod[]): void {
    for (const p of pods) this.shown.set(podKey(p), p.metadata?.resourceVersion ?? "");
  }

  accept(type: WatchEventType, p: V1Pod): WatchEventType | undefined {
    const key = podKey(p);
    const rv = p.metadata?.resourceVersion ?? "";
    const was = this.shown.get(key);
    if (type === "DELETED" || !this.matches(p)) {
      if (was === undefined) return undefined;
      this.shown.delete(key);
      return "DELETED";
    }
    this.shown.set(key, rv);
    if (was === undefined) return "ADDED";
    if (type === "ADDED" && was === rv) return undefined;
    return "MODIFIED";
  }
}

/** The client-side part of a target (what the API cannot select) as a predicate. */
export function clientMatcher(t: TargetFlags): (p: V1Pod) => boolean {
  const regex = compileRegex(t.regex);
  return (p) => {
    const name = p.metadata?.name ?? "";
    if (t.pod && name !== t.pod) return false;
    if (!nameMatches(name, t.match, regex)) return false;
    return t.includeNotReady !== false || isRunning(p);
  };
}

/**
 * Run the watch until Ctrl-C (returns 130) or `o.signal` aborts (returns 0). Nothing matching is
 * not an error here: kubectl waits quietly for pods to appear.
 */
export async function watchPodsCommand(
  kube: Kube,
  target: TargetFlags,
  format: string,
  o: WatchOptions = {},
): Promise<number> {
  validateTarget(target);
  const t = await resolveTarget(kube, target); // deploy/api -> its selector, watched like -l
  const fmt = parseOutputFormat(format);
  // go-yaml's look, as kubectl prints: YAML 1.1 quoting ("yes", timestamps), sequences not indented
  const yamlMod = fmt === "yaml" ? await import("yaml") : undefined;
  const yaml = yamlMod && ((v: unknown) => yamlMod.stringify(v, { version: "1.1", indentSeq: false }));
  const out = o.out ?? stdoutSink;
  const now = o.now ?? Date.now;
  const printer = new WatchPrinter(fmt, {
    allNamespaces: Boolean(t.allNamespaces),
    events: Boolean(o.outputWatchEvents),
    yaml,
  });
  const filter = new EventFilter(clientMatcher(t));
  const { reportOutages } = await import("./reconnect.ts");
  const offOutages = reportOutages(kube, { reconnectTimeout: o.reconnectTimeout, err: o.err ?? stderrSink });
  // a caller's signal (tests) replaces Ctrl-C
  return await withInterrupt(async (signal, it) => {
    try {
      const ns = targetNamespace(kube, t);
      const q = { labelSelector: t.selector, fieldSelector: fieldSelectorWith(t) };
      // Ctrl-C during a slow list ends at once
      const aborted = new Promise<undefined>((r) => signal.addEventListener("abort", () => r(undefined)));
      const list = await Promise.race([kube.listPodsAt(ns, q), aborted]);
      if (!list || signal.aborted) return it.interrupted ? ExitCode.INTERRUPTED : ExitCode.OK;
      const initial = sortPods(list.items.filter(clientMatcher(t)));
      filter.seed(initial);
      if (!o.watchOnly) out.write(printer.render(initial.map((p) => ["ADDED", p]), now()));
      await kube.watchPods(
        ns,
        q,
        (type, pod) => {
          if (signal.aborted) return;
          const shown = filter.accept(type, pod);
          // one write per event: a row is never split, whatever stops us
          if (shown) out.write(printer.render([[shown, pod]], now()));
        },
        signal,
        list.resourceVersion,
      );
    } finally {
      offOutages();
    }
    return it.interrupted ? ExitCode.INTERRUPTED : ExitCode.OK;
  }, { signal: o.signal, signals: o.signal ? [] : ["SIGINT"] });
}
