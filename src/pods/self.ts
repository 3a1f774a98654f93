/**
 * How to re-invoke kodama itself (tmux panes run `kodama exec …` per pod).
 * A compiled binary is its own executable; under `deno run` (and `deno install` shims, which are
 * `deno run` underneath) it is `deno run -A [--config deno.json] <main module>`.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";

export function selfCommand(): string[] {
  const exe = Deno.execPath();
  const base = exe.split(/[\\/]/).pop() ?? "";
  if (!/^deno(\.exe)?$/.test(base)) return [exe];
  const main = Deno.mainModule;
  if (!main.startsWith("file:")) return [exe, "run", "-A", "--no-prompt", main];
  const path = fileURLToPath(main);
  const out = [exe, "run", "-A", "--no-prompt", "--quiet"];
  // the project's deno.json (import map, unstable flags) is found from the main module's directory
  for (let d = dirname(path), i = 0; i < 4; d = dirname(d), i++) {
    const cfg = join(d, "deno.json");
    if (existsSync(cfg)) {
      out.push("--config", cfg);
      break;
    }
    if (dirname(d) === d) break;
  }
  out.push(path);
  return out;
}

/** POSIX shell quoting for one word. */
export function shQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function shJoin(argv: string[]): string {
  return argv.map(shQuote).join(" ");
}
