/**
 * What each word of a `local` command is to the program it starts (pure): the program itself, a file the
 * program runs as code (`sh build.sh`, `python3 tool.py`, `bash --rcfile x`), a string it runs as code
 * (`sh -c STRING`, `python3 -c`, `node -e`), or data. Wrappers (`env`, `nice`, `timeout`, `xargs`, …) are
 * looked through. Used twice: the pins (pins.ts: every file that runs is pinned) and the engine's
 * interpolation (a `${{ }}` value is data: quoted in a shell string, refused where it would be code).
 */

/** `sh`: POSIX shell code, quoted for; `code`: any other language's code (refused). */
export type Lang = "sh" | "code";

export interface CommandWords {
  /** indices of words naming a program or a file that runs as code */
  files: number[];
  /** indices of words that are code strings, and their language */
  code: { index: number; lang: Lang }[];
  /** the language stdin is read as, when the program reads its code from stdin */
  stdin?: Lang;
}

const SHELLS = /^(sh|bash|dash|zsh|ksh|mksh|ash|yash|busybox)$/;
const FISH = /^(fish|pwsh|powershell|cmd|csh|tcsh)$/;
const PYTHON = /^(python[0-9.]*|pypy[0-9.]*)$/;
const NODE = /^(node|nodejs|bun)$/;
const PERLISH = /^(perl|ruby|php|lua|luajit|tclsh|Rscript|osascript)$/;
const AWKISH = /^(awk|gawk|mawk|nawk|sed|gsed|jq)$/;
/** programs that run the rest of their words as another command */
const WRAPPERS =
  /^(env|nice|nohup|timeout|stdbuf|ionice|setsid|time|command|exec|xargs|sudo|doas|chrt|taskset|flock|unbuffer|strace|ltrace|watch)$/;

export function base(w: string): string {
  return w.replace(/^.*[\\/]/, "").replace(/\.exe$/i, "");
}

/** Is this program (its base name) one that runs the rest of its words as another command? */
export const isWrapper = (prog: string): boolean => WRAPPERS.test(prog);

/**
 * Where the command a wrapper runs starts: after the wrapper's own options (and option values: `timeout 5`,
 * `nice -n 5`) and assignments (`env A=1`); `i` is the word after the wrapper.
 */
export function wrappedAt(argv: string[], i: number): number {
  while (
    i < argv.length && (/^[-+]/.test(argv[i]) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i]) ||
      /^\d+(\.\d+)?[smhd]?$/.test(argv[i]))
  ) {
    if (/^-(n|u|g|s|k|c|C|I|L|P|d|E|i|o|e|p)$/.test(argv[i]) && i + 1 < argv.length) i++;
    i++;
  }
  return i;
}

/** Classify the words of `argv` (as written: an expression word is still a word). */
export function commandWords(argv: string[]): CommandWords {
  const out: CommandWords = { files: [], code: [] };
  let i = 0;
  for (;;) {
    if (i >= argv.length) return out;
    out.files.push(i);
    const prog = base(argv[i]);
    i++;
    if (WRAPPERS.test(prog)) {
      i = wrappedAt(argv, i);
      if (prog === "watch" && i < argv.length) {
        // watch runs its words through `sh -c`
        for (let j = i; j < argv.length; j++) out.code.push({ index: j, lang: "sh" });
        return out;
      }
      continue;
    }
    if (SHELLS.test(prog) || FISH.test(prog)) {
      const lang: Lang = SHELLS.test(prog) ? "sh" : "code";
      let inline = false, fromStdin = false;
      if (prog === "busybox" && i < argv.length && SHELLS.test(argv[i])) i++;
      while (i < argv.length && /^[-+]/.test(argv[i]) && argv[i] !== "-" && argv[i] !== "--") {
        const a = argv[i];
        if (/^--(rcfile|init-file)$/.test(a) && i + 1 < argv.length) out.files.push(++i);
        else if (/^[-+][oO]$/.test(a)) i++;
        else if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(a) || /^-(command|Command)$/.test(a)) inline = true;
        else if (/^-[a-zA-Z]*s[a-zA-Z]*$/.test(a)) fromStdin = true;
        i++;
      }
      if (argv[i] === "--") i++;
      if (inline) {
        if (i < argv.length) out.code.push({ index: i, lang });
        return out; // the rest are $0, $1 …: data
      }
      if (fromStdin || i >= argv.length) out.stdin = lang;
      else out.files.push(i);
      return out;
    }
    if (PYTHON.test(prog) || NODE.test(prog) || PERLISH.test(prog) || prog === "deno") {
      const inlineFlag = PYTHON.test(prog)
        ? /^-(c)$/
        : NODE.test(prog)
        ? /^(-e|-p|--eval|--print)$/
        : prog === "php"
        ? /^-r$/
        : /^-[eE]$/;
      if (prog === "deno") {
        // deno eval CODE; deno run [flags] FILE
        if (argv[i] === "eval") {
          const j = argv.findIndex((w, k) => k > i && !w.startsWith("-"));
          if (j >= 0) out.code.push({ index: j, lang: "code" });
          return out;
        }
        if (argv[i] === "run" || argv[i] === "test" || argv[i] === "task") i++;
      }
      while (i < argv.length && argv[i].startsWith("-") && argv[i] !== "-") {
        if (inlineFlag.test(argv[i])) {
          if (i + 1 < argv.length) out.code.push({ index: i + 1, lang: "code" });
          return out;
        }
        // files loaded as code by an option: node -r/--require/--import, ruby -r, perl -M is a module
        if (/^(-r|--require|--import|--loader)$/.test(argv[i]) && i + 1 < argv.length) out.files.push(++i);
        else if (/^-[mWX]$/.test(argv[i]) && PYTHON.test(prog) && i + 1 < argv.length) i++;
        i++;
      }
      if (i >= argv.length || argv[i] === "-") out.stdin = "code";
      else out.files.push(i);
      return out;
    }
    if (AWKISH.test(prog)) {
      // the program text: the first operand, or -e/--expression values; -f FILE runs a file
      let program = false;
      while (i < argv.length && argv[i].startsWith("-")) {
        if (/^(-e|--expression)$/.test(argv[i]) && i + 1 < argv.length) {
          out.code.push({ index: ++i, lang: "code" });
          program = true;
        } else if (/^(-f|--file|--from-file)$/.test(argv[i]) && i + 1 < argv.length) {
          out.files.push(++i);
          program = true;
        } else if (/^-[vF]$/.test(argv[i])) i++;
        i++;
      }
      if (!program && i < argv.length) out.code.push({ index: i, lang: "code" });
      return out;
    }
    if (/^(make|gmake|just|task)$/.test(prog)) {
      while (i < argv.length) {
        if (/^(-f|--file|--makefile|--justfile|--taskfile)$/.test(argv[i]) && i + 1 < argv.length) {
          out.files.push(++i);
        }
        i++;
      }
      return out;
    }
    return out;
  }
}

/** Names whose value the shell or a loader runs as code: never set from an expression. */
export const CODE_VARS =
  /^(PATH|LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|DYLD_[A-Z_]+|BASH_ENV|ENV|PS[0-4]|PROMPT_COMMAND|IFS|SHELLOPTS|BASHOPTS|CDPATH|PYTHONPATH|PYTHONSTARTUP|PYTHONHOME|NODE_OPTIONS|NODE_PATH|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|GIT_[A-Z_]+|EDITOR|VISUAL|PAGER|SHELL|BASH_FUNC_.*|ZDOTDIR|HOME)$/;
