/** kubectl-style tables: upper-case headers, columns separated by 3 spaces, no borders. */
import { stripAnsi } from "./color.ts";

export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => stripAnsi(r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c + " ".repeat(widths[i] - stripAnsi(c).length)).join(
      "   ",
    )
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** Human age like kubectl: 45s, 12m, 3h20m, 5d, 2y. */
export function formatAge(from: Date | string | undefined, now = Date.now()): string {
  if (!from) return "<unknown>";
  const t = typeof from === "string" ? Date.parse(from) : from.getTime();
  if (Number.isNaN(t)) return "<unknown>";
  let s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  let m = Math.floor(s / 60);
  s %= 60;
  if (m < 10) return s ? `${m}m${s}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  let h = Math.floor(m / 60);
  m %= 60;
  if (h < 8) return m ? `${h}h${m}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  h %= 24;
  if (d < 8) return h ? `${d}d${h}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
