/** `KODAMA_PICKER=fzf`: hand the choice to an installed fzf binary (it draws on /dev/tty; we read stdout). */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { spawnTool } from "../base/proc/proc.ts";

export interface FzfOptions {
  multi?: boolean;
  query?: string;
  prompt?: string;
  /** the fzf executable (default "fzf") */
  bin?: string;
}

/** Run fzf over `lines`; returns the chosen lines. Exit 130 on Esc/Ctrl-C, 3 when fzf found nothing. */
export async function fzfPick(lines: string[], opts: FzfOptions = {}): Promise<string[]> {
  const bin = opts.bin ?? "fzf";
  const args = ["--layout=reverse", "--height=~50%", "--info=inline"];
  if (opts.multi) args.push("--multi");
  if (opts.query) args.push("--query", opts.query);
  if (opts.prompt) args.push("--prompt", opts.prompt);
  const child = spawnTool(
    bin,
    args,
    "KODAMA_PICKER=fzf asks for it: install fzf (e.g. apt-get install fzf), or unset KODAMA_PICKER to use the built-in picker",
    { stdin: "piped", stdout: "piped", stderr: "inherit" },
  );
  const stdout = new Response(child.stdout).text();
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(lines.map((l) => l + "\n").join("")));
    await writer.close();
  } catch { /* fzf exited early (e.g. Esc before reading everything) */ }
  const [text, status] = await Promise.all([stdout, child.status]);
  const chosen = text.split("\n").filter(Boolean);
  switch (status.code) {
    case 0:
      return chosen;
    case 1:
      throw new KodamaError("fzf: nothing matched", ExitCode.NOT_FOUND);
    case 130:
      throw new KodamaError("picker aborted", ExitCode.INTERRUPTED);
    default:
      throw new KodamaError(
        `fzf failed (exit ${status.code})`,
        ExitCode.FAILED,
        "check the fzf version and FZF_DEFAULT_OPTS",
      );
  }
}

/**
 * The query for fzf over `namespace/name` lines that matches what kodama's picker matches: there an
 * anchored term without a `/` matches the name (`^api`, `^web-1$`), which on fzf's whole line is the text
 * right after the only `/`: `^api` -> `'/api`, `^api$` -> `/api$`, negated alike. Other terms are fzf's own.
 */
export function nsNameQuery(query: string): string {
  return query.split(/(?<!\\) /).map((token) => {
    const inv = token.startsWith("!");
    const t = inv ? token.slice(1) : token;
    if (!t.startsWith("^") || t.includes("/") || t.length < 2 || t === "^$") return token;
    const rest = t.slice(1);
    if (rest.endsWith("$") && rest.length > 1) return `${inv ? "!" : ""}/${rest}`;
    return inv ? `!/${rest}` : `'/${rest}`;
  }).join(" ");
}
