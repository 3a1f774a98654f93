/** `-o table|wide|json|yaml|name` for any list of Kubernetes-shaped objects. */
import { stringify as yamlStringify } from "yaml";
import { usageError } from "../errors.ts";
import { renderTable } from "./table.ts";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml", "name"] as const;
export type OutputFormat = typeof OUTPUT_FORMATS[number];

export function parseOutputFormat(v: string | undefined): OutputFormat {
  const f = (v ?? "table") as OutputFormat;
  if (!OUTPUT_FORMATS.includes(f)) {
    throw usageError(`unknown output format "${v}"`, `use one of: ${OUTPUT_FORMATS.join(", ")}`);
  }
  return f;
}

/** Objects with an apiVersion/kind go out as a `v1 List` like kubectl does. */
export function renderList(
  items: Record<string, unknown>[],
  format: "json" | "yaml",
  kind = "List",
): string {
  const list = { apiVersion: "v1", kind, items, metadata: { resourceVersion: "" } };
  return format === "json" ? JSON.stringify(list, null, 2) + "\n" : yamlStringify(list);
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
