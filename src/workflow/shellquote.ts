/**
 * A `${{ }}` value is data and never becomes code on this machine (docs/security.md). Where a `local`
 * step's word is code (codewords.ts: `sh -c STRING`, a shell's stdin, `python3 -c`, `node -e`), each
 * expression's value is:
 *
 * - in POSIX shell code: quoted for the place it lands — outside quotes `'v'`, inside single quotes
 *   `v` with `'` as `'\''`, inside double quotes `"'v'"` — so it is one word of data;
 * - refused where quoting cannot make it data: as (part of) the command word, after `eval`, `source`, a
 *   shell, an interpreter or a wrapper that runs its words, inside `$( )`, backquotes, `${ }`, `$(( ))`,
 *   a comment or a here-document, in an assignment to a variable that is code (`PATH=`, `LD_PRELOAD=`);
 * - refused in any other language's code.
 *
 * Whoever runs the workflow — the CLI, an MCP client, the web UI, VS Code — and whatever its trust.
 */
import { type ExprContext, ExprError, parseTemplate, toStr } from "./expr.ts";
import { evaluate } from "./expr.ts";
import { CODE_VARS, type Lang } from "./codewords.ts";
import { shellQuote } from "../base/text/escape.ts";

const HINT =
  "pass it as an argument instead: [sh, -c, 'echo \"$1\"', sh, '${{ params.x }}'] (or through env:)";

/** Commands whose arguments are run as code or as a command. */
const RUNS_ARGS =
  /^(eval|source|\.|trap|alias|builtin|command|exec|sh|bash|dash|zsh|ksh|mksh|ash|fish|busybox|python[0-9.]*|node|nodejs|bun|deno|perl|ruby|php|lua|awk|gawk|mawk|sed|env|nice|nohup|timeout|stdbuf|ionice|setsid|time|xargs|sudo|doas|su|watch|find|parallel)$/;
const RESERVED = new Set([
  "if",
  "then",
  "else",
  "elif",
  "fi",
  "do",
  "done",
  "while",
  "until",
  "for",
  "in",
  "case",
  "esac",
  "!",
  "{",
  "}",
  "time",
]);

type Frame = "plain" | "single" | "double" | "sub" | "back" | "param" | "arith";

/** The value of `s` with each expression's value made data for `lang`, or an ExprError at its column. */
export function interpolateCode(s: string, lang: Lang, ctx: ExprContext): string {
  const parts = parseTemplate(s);
  if (!parts.some((p) => "expr" in p)) return s;
  if (lang === "code") {
    const p = parts.find((p) => "expr" in p) as { offset: number };
    throw new ExprError(
      `a \${{ }} value is data and is never pasted into code run on this machine (this word is a program's code); ${HINT}`,
      p.offset,
    );
  }
  const lx = new Lexer();
  let out = "";
  for (const p of parts) {
    if ("text" in p) {
      lx.feed(p.text);
      out += p.text;
      continue;
    }
    const why = lx.unsafe();
    if (why) {
      throw new ExprError(
        `a \${{ }} value is data and is never pasted into shell code run on this machine ${why}; ${HINT}`,
        p.offset,
      );
    }
    let v: unknown;
    try {
      v = evaluate(p.expr, ctx);
    } catch (e) {
      if (e instanceof ExprError) throw e.shifted(p.offset);
      throw e;
    }
    // one word in single quotes (escape.ts shellQuote); inside '…' without its own quotes, inside "…" it
    // closes the double quotes around it
    const w = shellQuote(toStr(v), { always: true });
    const frame = lx.top;
    out += frame === "single" ? w.slice(1, -1) : frame === "double" ? `"${w}"` : w;
    lx.feed("x"); // a word character: the word goes on
  }
  return out;
}

class Lexer {
  stack: Frame[] = ["plain"];
  comment = false;
  heredoc = false;
  inWord = false;
  word = "";
  cmdPos = true;
  cmdName: string | undefined;

  get top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  /** Why an expression here cannot be quoted into data, or undefined. */
  unsafe(): string | undefined {
    if (this.heredoc) return "(in a here-document)";
    if (this.comment) return "(in a comment)";
    if (this.stack.some((f) => f !== "plain" && f !== "single" && f !== "double")) {
      return "(inside $( ), backquotes, ${ } or $(( )))";
    }
    if (this.cmdPos) {
      const assign = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(this.word);
      if (!this.inWord || !assign) return "(as the command to run)";
      if (CODE_VARS.test(assign[1])) return `(assigned to ${assign[1]}, which the shell or a program runs)`;
      return undefined;
    }
    const name = (this.cmdName ?? "").replace(/^.*\//, "");
    if (RUNS_ARGS.test(name)) {
      return `(an argument of ${name}, which runs its arguments as code or as a command)`;
    }
    return undefined;
  }

  private endWord() {
    if (!this.inWord) return;
    if (this.cmdPos) {
      if (!RESERVED.has(this.word) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(this.word)) {
        this.cmdName = this.word;
        this.cmdPos = false;
      }
    }
    this.inWord = false;
    this.word = "";
  }

  feed(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text[i], n = text[i + 1] ?? "";
      if (this.heredoc) return;
      if (this.comment) {
        if (c === "\n") {
          this.comment = false;
          this.cmdPos = true;
        }
        continue;
      }
      const top = this.top;
      if (top === "single") {
        if (c === "'") this.stack.pop();
        else this.word += c;
        continue;
      }
      if (top === "double" || top === "back" || top === "param") {
        if (c === "\\") {
          this.word += n;
          i++;
        } else if (top === "double" && c === '"') this.stack.pop();
        else if (top === "back" && c === "`") this.stack.pop();
        else if (top === "param" && c === "}") this.stack.pop();
        else if (top === "double" && c === "$" && n === "(") {
          this.stack.push(text[i + 2] === "(" ? "arith" : "sub");
          i++;
        } else if (top === "double" && c === "$" && n === "{") {
          this.stack.push("param");
          i++;
        } else if (top === "double" && c === "`") this.stack.push("back");
        else this.word += c;
        continue;
      }
      if (top === "arith") {
        if (c === ")" && n === ")") {
          this.stack.pop();
          i++;
        }
        continue;
      }
      // plain or a command substitution's body
      if (c === "\\") {
        if (n !== "\n") {
          this.inWord = true;
          this.word += n;
        }
        i++;
      } else if (c === "'") {
        this.inWord = true;
        this.stack.push("single");
      } else if (c === '"') {
        this.inWord = true;
        this.stack.push("double");
      } else if (c === "$" && n === "(") {
        this.inWord = true;
        this.stack.push(text[i + 2] === "(" ? "arith" : "sub");
        i++;
      } else if (c === "$" && n === "{") {
        this.inWord = true;
        this.stack.push("param");
        i++;
      } else if (c === "`") {
        this.inWord = true;
        this.stack.push("back");
      } else if (c === "#" && !this.inWord) this.comment = true;
      else if (c === "<" && n === "<" && text[i + 2] !== "<") this.heredoc = true;
      else if (top === "sub" && c === ")") {
        this.endWord();
        this.stack.pop();
      } else if (c === " " || c === "\t") this.endWord();
      else if (c === "\n" || c === ";" || c === "&" || c === "|" || c === "(" || c === ")") {
        this.endWord();
        this.cmdPos = true;
        this.cmdName = undefined;
      } else if (c === "<" || c === ">") {
        this.endWord();
      } else {
        this.inWord = true;
        this.word += c;
      }
    }
  }
}
