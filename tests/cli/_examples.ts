/** The examples of a Markdown text: the rule tests/cli/readme_examples_test.ts states. */

/** Not run by the demo-world harnesses: `[demo project]` lines run in the demo's scratch project (demo_agents_test). */
export const SKIP = /\[(not in the demo|interactive|demo project)[\]:]/;

export interface Example {
  line: number;
  command: string;
  skip: boolean;
  /** its `# comment` (empty when none) */
  comment: string;
}

/** The examples of a README text, by the rule above. */
export function readmeExamples(text: string): Example[] {
  const out: Example[] = [];
  let inSh = false;
  text.split("\n").forEach((raw, i) => {
    if (/^```/.test(raw)) {
      inSh = !inSh && /^```(sh|bash|shell)\s*$/.test(raw);
      return;
    }
    if (!inSh) return;
    const line = raw.trim();
    if (!/^(kodama|kpod|kwekash)\s/.test(line)) return;
    // the comment: a `#` after whitespace, outside quotes
    let command = line;
    let comment = "";
    let quote = "";
    for (let j = 0; j < line.length; j++) {
      const ch = line[j];
      if (quote) {
        if (ch === quote) quote = "";
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === "#" && /\s/.test(line[j - 1] ?? "")) {
        command = line.slice(0, j).trim();
        comment = line.slice(j);
        break;
      }
    }
    out.push({ line: i + 1, command, skip: SKIP.test(comment), comment });
  });
  return out;
}
