/**
 * Does a `local` command load repository code that none of its words names as a file (pure; issue 79 escape
 * 5)? An interpreter given a module by name (`python3 -m tools.mod`, `perl -MFoo`, `ruby -rx`, `node -r x`)
 * or an inline program (`python3 -c "import tools.mod"`, `node -e "require('./x')"`, `awk 'BEGIN{system(…)}'`)
 * reads whatever that name or program reaches — from the working directory, which such a program puts on its
 * import path — so the caller pins the whole repository, as for a computed `source`.
 *
 * An allow-list, failing closed: an interpreter's run counts as naming its code only in the one shape
 * `INTERPRETER [options known to load nothing] SCRIPT [args]`; any other option (one this reader does not
 * know, combined short flags holding `m`/`c`/`e`, an option value that is not a plain word), no script (code
 * from stdin), or an interpreter whose plain run already searches the working directory (`lua`'s
 * `./?.lua`, `php`'s `include_path`, `Rscript`'s `.Rprofile`, `tclsh`'s relative `source`, …) reaches the
 * repository. So does an assignment to a variable a loader reads (`env PYTHONPATH=. …`, `NODE_OPTIONS=…`).
 */
import { base, CODE_VARS, commandWords, isWrapper, wrappedAt } from "../codewords.ts";

const PYTHON = /^(python[0-9.]*|pypy[0-9.]*|py)$/;
const NODE = /^(node|nodejs)$/;
const PERL = /^perl[0-9.]*$/;
const RUBY = /^(ruby|jruby|truffleruby)[0-9.]*$/;
const SHELLS = /^(sh|bash|dash|zsh|ksh|mksh|ash|yash|busybox)$/;
/** awk and sed run their program (`system()`, sed's `e`): inline or from a file, it can run any file */
const AWKISH = /^(awk|gawk|mawk|nawk|sed|gsed)$/;
/**
 * Interpreters whose ordinary run reads code from the working directory, or whose option grammar is not
 * modelled here: any run of one reaches the repository.
 */
const ALWAYS =
  /^(lua[0-9.]*|luajit|Rscript|R|tclsh[0-9.]*|wish[0-9.]*|expect|php[0-9.]*|php-cgi|julia|elixir|elixirc|iex|mix|erl|escript|guile[0-9.]*|racket|raco|sbcl|clisp|ecl|ccl|java|jshell|jbang|groovy|scala|scala-cli|kotlin|kotlinc|swift|ghc|ghci|runghc|runhaskell|stack|cabal|ocaml|utop|irb|pry|tsx|ts-node|esno|vite-node|raku|rakudo|perl6|pwsh|powershell|osascript|gjs|qjs|node-gyp|ipython[0-9.]*|jupyter|pytest|py\.test|jest|vitest|mocha|ava|rspec|phpunit|crystal|nim|zig|v|dart|gdb|lldb|vim|nvim|emacs)$/;

/** Python's flags that take no value and load nothing (`-B`, `-u`, `-O`, `-OO`, `-I`, `-E` …). */
const PY_FLAGS = new Set("bBdEhIOPqRsSuvVx");
const PERL_FLAGS = new Set("wWXTtnpasUc");
const RUBY_FLAGS = new Set("acdlnpsvwyTU");
/** Node's options that load nothing; everything else (`-e`, `-p`, `-r`, `--import`, `--loader`, `--test`,
 * `--run`, `--env-file`, `-C`, `-i`, …) reaches the repository. */
const NODE_SAFE = new RegExp(
  "^(-c|--check|-v|--version|-h|--help|--no-warnings|--no-deprecation|--throw-deprecation|" +
    "--pending-deprecation|--trace-[a-z-]+|--enable-source-maps|--expose-gc|--abort-on-uncaught-exception|" +
    "--preserve-symlinks(-main)?|--experimental-(strip|transform)-types|--no-experimental-[a-z-]+|" +
    "--(max-old-space-size|max-semi-space-size|stack-size|stack-trace-limit)=\\d+|" +
    "--unhandled-rejections=[a-z-]+|--inspect(-brk|-wait)?(=[\\w.:-]+)?|--disable-warning=[\\w-]+)$",
);

/**
 * Does `argv` load repository code no word of it names as a file? `shell` reads an inline shell string
 * (`sh -c STRING`): true when the string does.
 */
export function loadsUnnamedCode(argv: string[], shell: (code: string) => boolean): boolean {
  let i = 0;
  while (i < argv.length) {
    const prog = base(argv[i]);
    if (isWrapper(prog)) {
      const to = wrappedAt(argv, i + 1);
      for (let j = i + 1; j < to; j++) {
        const assign = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(argv[j]);
        if (assign && CODE_VARS.test(assign[1])) return true; // `env PYTHONPATH=. python3 …`
        if (prog === "env" && /^(-S|--split-string)/.test(argv[j])) return true; // a command line in one word
        if (argv[j].includes("$")) return true; // a word the shell computed, where options go
      }
      if (prog === "watch") return shell(argv.slice(to).join(" "));
      i = to;
      continue;
    }
    if (prog === "find") return findExecs(argv.slice(i + 1), shell);
    const rest = argv.slice(i + 1);
    if (SHELLS.test(prog)) {
      const w = commandWords(argv.slice(i));
      return w.code.some((c) => c.lang === "sh" && shell(argv[i + c.index]));
    }
    if (PYTHON.test(prog)) return pythonUnnamed(rest);
    if (NODE.test(prog)) return nodeUnnamed(rest);
    if (PERL.test(prog)) return flagsUnnamed(rest, PERL_FLAGS, PERL_VALUES, "i");
    if (RUBY.test(prog)) return rubyUnnamed(rest);
    if (AWKISH.test(prog) || ALWAYS.test(prog)) return true;
    if (prog === "jq") return rest.some((a) => /^(-L|--library-path)/.test(a));
    return false;
  }
  return false;
}

/** `find … -exec CMD … ;`: each command it runs. */
function findExecs(args: string[], shell: (code: string) => boolean): boolean {
  for (let j = 0; j < args.length; j++) {
    if (!/^-(exec|execdir|ok|okdir)$/.test(args[j])) continue;
    const end = args.findIndex((a, k) => k > j && (a === ";" || a === "+"));
    if (loadsUnnamedCode(args.slice(j + 1, end < 0 ? undefined : end), shell)) return true;
  }
  return false;
}

/**
 * Python's grammar: short flags combine (`-Bu`); `-c` and `-m` end the options (inline code, a module by
 * name: the working directory is on the path); `-W`/`-X` take a value (the rest of the word, or the next).
 */
function pythonUnnamed(args: string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return i + 1 >= args.length;
    if (!a.startsWith("-") || a === "-") return a === "-"; // the script (pinned with its directory), or stdin
    if (a === "--check-hash-based-pycs") {
      i++;
      continue;
    }
    if (a.startsWith("--")) return !/^--(version|help)$/.test(a);
    for (let k = 1; k < a.length; k++) {
      if (a[k] === "W" || a[k] === "X") {
        if (k === a.length - 1) i++;
        break;
      }
      if (!PY_FLAGS.has(a[k])) return true; // c, m, i (stdin after the script), or unknown
    }
  }
  return true; // no script: code from stdin, the working directory on the path
}

function nodeUnnamed(args: string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return i + 1 >= args.length;
    if (!a.startsWith("-") || a === "-") return a === "-";
    if (!NODE_SAFE.test(a)) return true;
  }
  return true;
}

/**
 * perl-like short flags: each letter in `flags` loads nothing; a letter of `values` takes what its pattern
 * matches right after it (`-l0`, `-0777`, `-CSD`, `-W2`); `tail` takes the rest of the word (`-i.bak`).
 * Anything else — `-e`, `-E`, `-M`, `-m`, `-I`, `-x`, `-d:Mod`, `-F`, `-S`, a long option — reaches the
 * repository.
 */
function flagsUnnamed(
  args: string[],
  flags: Set<string>,
  values: Record<string, RegExp>,
  tail: string,
): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return i + 1 >= args.length;
    if (!a.startsWith("-") || a === "-") return a === "-";
    if (a.startsWith("--")) return true;
    for (let k = 1; k < a.length; k++) {
      if (a[k] === tail) break;
      if (values[a[k]]) {
        k += values[a[k]].exec(a.slice(k + 1))![0].length;
        continue;
      }
      if (!flags.has(a[k])) return true;
    }
  }
  return true;
}

const PERL_VALUES = { l: /^[0-7]*/, "0": /^(x[0-9a-fA-F]+|[0-7]*)/, C: /^([0-9]+|[IOESioDALa]*)/ };
const RUBY_VALUES = { W: /^[0-2]?/, "0": /^[0-7]*/ };

/** Ruby: perl-like short flags (`-r`, `-I`, `-e`, `-C dir`, `-x` reach the repository) and a few long ones. */
function rubyUnnamed(args: string[]): boolean {
  const i = args.findIndex((a) => !/^--(disable|enable)[-=][\w,-]+$|^--(verbose|jit|yjit)$/.test(a));
  const short = i < 0 ? [] : args.slice(i);
  return flagsUnnamed(short, RUBY_FLAGS, RUBY_VALUES, "i");
}
