/**
 * A second opinion on a module's imports, independent of es-module-lexer. The lexer decides what is
 * code, string, comment or regular expression with its own heuristics; Deno's parser decides at run
 * time. Where they disagreed, an import the lexer did not see would run unchecked — and a `npm:`
 * package would be downloaded by kodama's own process and run in the worker. So every place this
 * scanner reads as an import, or as a string that can only be a forbidden specifier, must be one the
 * lexer reported; anything else is refused. To slip through, code must now fool two tokenizers in
 * the same way while Deno reads it as an import.
 *
 * The scanner knows comments, strings and template literals (with `${}` nesting), not regular
 * expressions: a `/"/` may put it in a string, which only makes it see less, never more than it
 * should — the lexer still has to agree.
 */

export interface CrossProblem {
  offset: number;
  message: string;
}

/** Specifiers no script may use, whatever they are written in. */
const FORBIDDEN =
  /^(?:npm|jsr):|^data:(?:text|application)\/(?:javascript|ecmascript|typescript|x-javascript|x-typescript|jsx|tsx|wasm)|^node:(?:vm|worker_threads|inspector|inspector\/promises|repl|module|wasi|tty)$/i;

const ID = /[\p{ID_Continue}$\u200c\u200d]/u;

/**
 * `sites`: offsets of the `import`/`export` keyword of every import the lexer reported (static,
 * dynamic, re-export); `specifiers`: offsets of the opening quote of each reported specifier.
 */
export function crossCheck(text: string, sites: Set<number>, specifiers: Set<number>): CrossProblem[] {
  const out: CrossProblem[] = [];
  /** open template literals: the brace depth of the `${` each one is in, or -1 while in its text */
  const templates: number[] = [];
  let depth = 0;
  let i = 0;
  const skipSpaceAndComments = (j: number): number => {
    for (;;) {
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text.startsWith("//", j)) {
        const nl = text.indexOf("\n", j);
        j = nl < 0 ? text.length : nl + 1;
      } else if (text.startsWith("/*", j)) {
        const end = text.indexOf("*/", j + 2);
        j = end < 0 ? text.length : end + 2;
      } else return j;
    }
  };
  const stringAt = (start: number, quote: string): number => {
    // `start` is the opening quote; returns the index after the closing one
    const body = text.slice(start + 1, start + 64);
    if (FORBIDDEN.test(body.split(quote)[0]) && !specifiers.has(start)) {
      out.push({
        offset: start,
        message: `${
          JSON.stringify(body.split(quote)[0].slice(0, 40))
        } can only name a module kodama does not allow (npm:, jsr:, data: code, node:vm…); scripts import files of the repository`,
      });
    }
    let j = start + 1;
    while (j < text.length && text[j] !== quote && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
    return j + 1;
  };
  while (i < text.length) {
    const inTemplateText = templates.length > 0 && templates[templates.length - 1] === -1;
    const c = text[i];
    if (inTemplateText) {
      if (c === "\\") i += 2;
      else if (c === "`") {
        templates.pop();
        i++;
      } else if (c === "$" && text[i + 1] === "{") {
        templates[templates.length - 1] = depth;
        depth++;
        i += 2;
      } else i++;
      continue;
    }
    if (c === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) {
      i = skipSpaceAndComments(i);
      continue;
    }
    if (c === '"' || c === "'") {
      i = stringAt(i, c);
      continue;
    }
    if (c === "`") {
      stringAt(i, "`");
      templates.push(-1);
      i++;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}") {
      depth--;
      if (templates.length && templates[templates.length - 1] === depth) {
        templates[templates.length - 1] = -1; // back in the template's text
      }
    } else if ((c === "i" || c === "e") && !ID.test(text[i - 1] ?? " ")) {
      const word = c === "i" ? "import" : "export";
      if (text.startsWith(word, i) && !ID.test(text[i + word.length] ?? " ")) {
        let prev = i - 1;
        while (prev >= 0 && /\s/.test(text[prev])) prev--;
        const member = text[prev] === "." || text[prev] === "#";
        const next = skipSpaceAndComments(i + word.length);
        // `import(`, `import.source(`/`import.defer(`, and every static import/export-from statement
        const dynamic = word === "import" &&
          (text[next] === "(" || /^\.\s*(source|defer)\b/.test(text.slice(next)));
        const isStatic = word === "import"
          ? /^["'{*\p{ID_Start}$_]/u.test(text[next] ?? "") &&
            !text.startsWith("meta", next)
          : isExportFrom(text, next);
        if (!member && (dynamic || isStatic) && !sites.has(i)) {
          out.push({
            offset: i,
            message: `kodama's module reader does not see an ${
              dynamic ? "import()" : `${word} statement`
            } here, but Deno might: write it plainly (a string literal specifier, outside comments and strings)`,
          });
        }
        i += word.length;
        continue;
      }
    }
    i++;
  }
  return out;
}

/** `export … from "x"` / `export * from "x"` (not `export const`, `export default`, `export { a }`). */
function isExportFrom(text: string, at: number): boolean {
  if (text[at] === "*") return true;
  if (text[at] !== "{") return /^type\s*[{*]/.test(text.slice(at));
  const close = text.indexOf("}", at);
  return close > 0 && /^\s*from\b/.test(text.slice(close + 1));
}
