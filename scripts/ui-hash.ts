/** What decides whether src/web/assets.ts is current: its sources' bytes and the pinned browser packages. */

/** The deno.json imports bundled into the browser side (scripts/ui-build.ts). */
export const BROWSER_PACKAGES = [
  "preact",
  "htm",
  "@xterm/xterm",
  "@xterm/addon-fit",
  "diff2html",
  "highlight.js",
];

export async function sourceHash(root: string, files: readonly string[], deps: Record<string, string>) {
  const enc = new TextEncoder();
  const parts: string[] = [JSON.stringify(Object.entries(deps).sort())];
  for (const f of files) parts.push(f, await Deno.readTextFile(`${root}/${f}`));
  const digest = await crypto.subtle.digest("SHA-256", enc.encode(parts.join("\0")));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The pinned versions of BROWSER_PACKAGES, as npm names them, read from deno.json's imports. */
export function pinnedDeps(imports: Record<string, string>): Record<string, string> {
  const deps: Record<string, string> = {};
  for (const p of BROWSER_PACKAGES) {
    const m = /^npm:(.+)@([^@]+)$/.exec(imports[p] ?? "");
    if (!m) throw new Error(`deno.json pins no npm:${p}@VERSION`);
    deps[m[1]] = m[2];
  }
  return deps;
}
