/** Where the "Run workflow" CodeLens goes in a workflow file. Pure. */

/** Is this file a workflow file the CodeLens applies to (`.kodama/workflows/*.y(a)ml`)? */
export function isWorkflowFile(fileName: string): boolean {
  return /[\\/]\.kodama[\\/]workflows[\\/][^\\/]+\.ya?ml$/.test(fileName);
}

/** The 0-based line of each document's top-level `name:` key, with the name it gives. */
export function workflowNameLines(
  text: string,
): { line: number; name: string }[] {
  const out: { line: number; name: string }[] = [];
  let seen = false;
  text.split(/\r?\n/).forEach((l, line) => {
    if (/^---(\s|$)/.test(l)) {
      seen = false;
      return;
    }
    const m = /^name\s*:\s*(.*?)\s*(#.*)?$/.exec(l);
    if (m && !seen) {
      seen = true;
      out.push({ line, name: m[1].replace(/^(["'])(.*)\1$/, "$2") });
    }
  });
  return out;
}
