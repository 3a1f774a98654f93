/** Markdown reference of every config key, generated from the schema (kept in docs/config.md). */
import { allKeys, typeLabel } from "./keys.ts";

export const DOCS_START =
  "<!-- config-keys:start (generated from src/config/schema.ts; do not edit by hand) -->";
export const DOCS_END = "<!-- config-keys:end -->";

function cell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A Markdown table: key, type, default, description. */
export function configKeysMarkdown(): string {
  const rows = allKeys().map((k) => {
    const def = k.default === undefined
      ? "—"
      : "`" + (Array.isArray(k.default)
        ? `[${k.default.join(", ")}]`
        : typeof k.default === "object" && k.default !== null
        ? JSON.stringify(k.default)
        : String(k.default)) +
        "`";
    return `| \`${k.key}\` | ${cell(typeLabel(k))} | ${def} | ${cell(k.description)} |`;
  });
  return ["| key | type | default | description |", "| --- | --- | --- | --- |", ...rows].join("\n") + "\n";
}

/** Replace the generated section of a Markdown document. */
export function replaceGeneratedSection(doc: string): string {
  const a = doc.indexOf(DOCS_START);
  const b = doc.indexOf(DOCS_END);
  if (a < 0 || b < a) throw new Error("docs/config.md lacks the generated-section markers");
  return doc.slice(0, a + DOCS_START.length) + "\n\n" + configKeysMarkdown() + "\n" + doc.slice(b);
}
