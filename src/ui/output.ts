/** `-o table|wide|json|yaml|name` for any list of Kubernetes-shaped objects. */
import { usageError } from "../base/errors.ts";
import { renderTable } from "./table.ts";
import { quote } from "../base/text/escape.ts";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml", "name"] as const;
export type OutputFormat = typeof OUTPUT_FORMATS[number];

export function parseOutputFormat(v: string | undefined): OutputFormat {
  const f = (v ?? "table") as OutputFormat;
  if (!OUTPUT_FORMATS.includes(f)) {
    throw usageError(`unknown output format ${quote(v)}`, `use one of: ${OUTPUT_FORMATS.join(", ")}`);
  }
  return f;
}

type Stringify = (value: unknown) => string;
let yamlStringify: Stringify | undefined;

/**
 * Load what `format` needs before rendering: the `yaml` package is imported only for `-o yaml`
 * (loading it costs ~10 ms of every start-up otherwise).
 */
export async function prepareOutput(format: OutputFormat): Promise<void> {
  if (format === "yaml" && !yamlStringify) yamlStringify = (await import("yaml")).stringify as Stringify;
}

/** Objects with an apiVersion/kind go out as a `v1 List` like kubectl does (`-o yaml` needs `prepareOutput`). */
export function renderList(
  items: Record<string, unknown>[],
  format: "json" | "yaml",
  kind = "List",
): string {
  const list = { apiVersion: "v1", kind, items, metadata: { resourceVersion: "" } };
  return format === "json" ? JSON.stringify(list, null, 2) + "\n" : yamlOf(list);
}

function yamlOf(v: unknown): string {
  if (!yamlStringify) throw new Error("-o yaml: call prepareOutput() first");
  return yamlStringify(v);
}

export interface Columns<T> {
  headers: string[];
  row(item: T): string[];
}

export function renderItems<T extends object>(
  items: T[],
  format: OutputFormat,
  opts: { table: Columns<T>; wide?: Columns<T>; name: (item: T) => string; kind?: string },
): string {
  switch (format) {
    case "json":
    case "yaml":
      return renderList(items as Record<string, unknown>[], format, opts.kind);
    case "name":
      return items.map((i) => opts.name(i) + "\n").join("");
    case "wide": {
      const cols = opts.wide ?? opts.table;
      return renderTable(cols.headers, items.map((i) => cols.row(i)));
    }
    default:
      return renderTable(opts.table.headers, items.map((i) => opts.table.row(i)));
  }
}
