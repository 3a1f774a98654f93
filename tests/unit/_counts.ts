/**
 * What tests/unit/counts_test.ts counts, read from the sources (pure functions over file text, so the test
 * can also prove the counting on planted snippets).
 *
 * A **fixed sleep** is a wait for a fixed time where a condition could be waited on. In every `.ts`, `.js`
 * and `.sh` file under `tests/`, except the test server's own implementation (`tests/cluster/` files that
 * are not `*_test.ts`: its timings stand for a cluster's, they are not a test waiting), it is one of:
 *
 * (The counter's own files, ./counts_test.ts and this one, plant examples and are not read.)
 *
 * 1. `setTimeout(r, X)` whose callback is a bare resolver (`r`, `res`, `resolve`, `ok`, `done`, `wake`) —
 *    `await new Promise((r) => setTimeout(r, 500))` — with X other than the literal `0` (a zero delay is a
 *    turn of the event loop, not a wait);
 * 2. a call of a file's own sleep helper — a `const NAME = (ms) => new Promise((r) => setTimeout(r, ms))`
 *    or `function NAME(ms) { return new Promise(... setTimeout(r, ms)) }` — such as `sleep(200)`,
 *    `delay(ms)`, `tick(20)`, except with no argument or `0` (the helper's definition is not a call);
 * 3. a shell `sleep N;` or `sleep N &&` in a program a test runs that is not a loop's pause (`do sleep N;
 *    done`, `…; sleep N; done`): the program waits a fixed time before its next step.
 *
 * Not counted, because they wait on a condition: a pause inside a loop (`for`, `while`, `do`) — the
 * loop's own test is the condition, as in `waitUntil` (tests/cluster/harness.ts) — and a shell `sleep` that
 * ends a program (`exec sleep 1d`, `sleep 600`: a pod kept alive).
 *
 * By hand: `grep -rnE "setTimeout\((r|res|resolve|ok|done|wake), *[^0 ]|(sleep|delay|tick)\([^)0]"
 * tests/ --include=*.ts` and `grep -rnE "sleep [0-9.]+ *(;|&&)" tests/`, drop `tests/cluster/` files that are
 * not tests, helpers' definitions, pauses inside a loop and `do sleep N; done`, and count what is left.
 */

/** A fixed sleep found: where, the line, and whether a comment says why it stays. */
export interface Sleep {
  file: string;
  line: number;
  text: string;
  kind: "setTimeout" | "helper" | "shell";
  /** a `//` or `#` comment on the same line or in the comment lines right above it */
  commented: boolean;
}

const RESOLVER = "(?:r|res|resolve|ok|done|wake)";
const TIMEOUT_RE = new RegExp(`setTimeout\\(\\s*${RESOLVER}\\s*,\\s*([^)]*?)\\s*\\)`, "g");
/** `const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))` (and `function sleep(ms) {…}`) */
const HELPER_RE = new RegExp(
  `(?:(?:const|let)\\s+(\\w+)\\s*=\\s*(?:async\\s*)?\\(\\s*(\\w+)[^)]*\\)[^=]*=>|function\\s+(\\w+)\\s*\\(\\s*(\\w+)[^)]*\\)[^{]*\\{)` +
    `[^\\n]*setTimeout\\(\\s*${RESOLVER}\\s*,\\s*(\\w+)\\s*\\)`,
  "g",
);
const SHELL_RE = /(^|[^\w-])sleep\s+[0-9.]+\s*(;|&&)/g;

/** Is the position inside a `for`/`while`/`do` block (or the body of a one-line loop) of its function? */
export function inLoop(text: string, at: number): boolean {
  const lineStart = text.lastIndexOf("\n", at - 1) + 1;
  const lineText = text.slice(lineStart, at);
  if (/^\s*(for|while)\s*\(/.test(lineText) || /\bdo\s*$/.test(lineText)) return true;
  let depth = 0;
  for (let i = at - 1; i >= 0; i--) {
    const c = text[i];
    if (c === "}") depth++;
    else if (c === "{") {
      if (depth > 0) {
        depth--;
        continue;
      }
      const opener = headOf(text, i);
      if (/^(for|while)\s*\(|^do$|^\}?\s*do\b|\bfor\s*\(.*\)\s*$/.test(opener)) return true;
      // a function's body: the loop, if any, is the caller's business
      if (/=>\s*$|\bfunction\b|^(async\s+)?[\w$]+\s*\([^)]*\)\s*(:\s*[^{]+)?$/.test(opener)) return false;
    }
  }
  return false;
}

/** What opens the block whose `{` is at `brace`: its line, or from the line of the `(` a `) {` closes. */
function headOf(text: string, brace: number): string {
  let end = brace - 1;
  while (end >= 0 && /\s/.test(text[end])) end--;
  let from = brace;
  if (text[end] === ")") {
    for (let depth = 0, i = end; i >= 0; i--) {
      if (text[i] === ")") depth++;
      else if (text[i] === "(" && --depth === 0) {
        from = i;
        break;
      }
    }
  }
  return text.slice(text.lastIndexOf("\n", from - 1) + 1, brace).trim();
}

function lineOf(text: string, at: number): number {
  let n = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function commentedAt(lines: string[], line: number): boolean {
  const here = lines[line - 1] ?? "";
  if (/\/\/|(^|\s)#\s/.test(here.replace(/https?:\/\/\S+/g, ""))) return true;
  const above = (lines[line - 2] ?? "").trim();
  return above.startsWith("//") || above.startsWith("*") || above.startsWith("/*") || above.startsWith("#");
}

/** The fixed sleeps of one file's text (see the module's comment for what counts). */
export function fixedSleeps(file: string, text: string): Sleep[] {
  const out: Sleep[] = [];
  const lines = text.split("\n");
  const add = (at: number, kind: Sleep["kind"]) => {
    const line = lineOf(text, at);
    // a comment that shows the pattern is not a wait
    if (/^\s*(\*|\/\/|\/\*)/.test(lines[line - 1])) return;
    out.push({ file, line, text: lines[line - 1].trim(), kind, commented: commentedAt(lines, line) });
  };
  const helpers = new Set<string>();
  const defLines = new Set<number>();
  for (const m of text.matchAll(HELPER_RE)) {
    const [name, param] = m[1] ? [m[1], m[2]] : [m[3], m[4]];
    if (param === m[5]) {
      helpers.add(name);
      defLines.add(lineOf(text, m.index!));
    }
  }
  for (const m of text.matchAll(TIMEOUT_RE)) {
    const at = m.index!;
    if (m[1] === "0" || defLines.has(lineOf(text, at))) continue;
    if (!inLoop(text, at)) add(at, "setTimeout");
  }
  for (const name of helpers) {
    for (const m of text.matchAll(new RegExp(`(?<![\\w.])${name}\\(\\s*([^)]*?)\\s*\\)`, "g"))) {
      const at = m.index!;
      if (defLines.has(lineOf(text, at)) || m[1] === "" || m[1] === "0") continue;
      if (!inLoop(text, at)) add(at, "helper");
    }
  }
  for (const m of text.matchAll(SHELL_RE)) {
    const at = m.index! + m[1].length;
    // inside `do … done` on its line: a loop's pause
    const before = text.slice(text.lastIndexOf("\n", at - 1) + 1, at);
    if (before.search(/\bdo\b(?![\s\S]*\bdone\b)/) >= 0) continue;
    add(at, "shell");
  }
  return out.sort((a, b) => a.line - b.line);
}

/** Files under tests/ that the sleep count reads (the test server's implementation is not a test). */
export function countedFile(path: string): boolean {
  if (!/\.(ts|js|sh)$/.test(path)) return false;
  if (path.startsWith("tests/cluster/") && !path.endsWith("_test.ts")) return false;
  // the counter's own planted examples
  return path !== "tests/unit/counts_test.ts" && path !== "tests/unit/_counts.ts";
}

/**
 * Function signatures taking the whole client: a parameter typed `Kube` (`kube: Kube`, `k: Kube | undefined`,
 * `kube?: Kube`) in a file of src/, outside src/kube/ (the client's own house). A narrow one is typed with a
 * seam type of src/kube/seam.ts (`KubeObjects`, `KubePods`, `KubeTargets`, …) or a `Pick<Kube, …>`.
 */
export const WHOLE_KUBE_RE = /\b\w+\??\s*:\s*Kube\b(?![\w.<])/g;
export const NARROW_KUBE_RE =
  /\b\w+\??\s*:\s*(?:Pick<Kube\b|Kube(?:Objects|Pods|Reach|ReachEvents|Targets|Identity|Streams|Sessions)\b)/g;

export function kubeParams(text: string): { whole: number; narrow: number } {
  // comments say `kube: Kube` too; only code counts
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/[^\n]*/g, "$1");
  return { whole: code.match(WHOLE_KUBE_RE)?.length ?? 0, narrow: code.match(NARROW_KUBE_RE)?.length ?? 0 };
}
