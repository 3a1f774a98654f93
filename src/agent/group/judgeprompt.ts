/**
 * The judge's prompt (judge.ts): the template judge_prompt.txt filled with the task, each judged replica's diff
 * stat, check result and diff (cut to a budget), and the replicas not judged. Pure.
 *
 * What the replicas wrote is data in the prompt: each diff sits in a code fence longer than any run of
 * backticks inside it, so it cannot close its fence and pose as the prompt's own text; the template's
 * placeholders are filled in one pass, so a diff or task that says `{{task}}` stays as written.
 */
import TEMPLATE from "./judge_prompt.txt" with { type: "text" };

/** Characters of diff the whole prompt carries (split evenly between the judged replicas). */
export const DIFF_BUDGET = 120_000;
/** Characters of the task kept. */
export const TASK_BUDGET = 16_000;

export interface JudgedReplica {
  name: string;
  files?: number;
  insertions?: number;
  deletions?: number;
  paths?: string[];
  /** `passed`, `-` (no check) */
  check: string;
  /** the check's last lines */
  checkTail?: string;
  diff: string;
}

/** The diff cut at a line end to `max` characters, saying how much was left out. Pure. */
export function trimDiff(diff: string, max: number): string {
  if (diff.length <= max) return diff;
  const cut = diff.lastIndexOf("\n", max);
  const kept = diff.slice(0, cut > 0 ? cut + 1 : max);
  const all = diff.split("\n").length;
  const shown = kept.split("\n").length - 1;
  return `${kept}[… diff cut here: ${shown} of ${all} lines shown; read the branch for the rest]\n`;
}

/** A fence longer than any run of backticks in `s`. */
function fence(s: string): string {
  const longest = Math.max(2, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(longest + 1);
}

function section(r: JudgedReplica, budget: number): string {
  const stat = r.files !== undefined
    ? `${r.files} file${r.files === 1 ? "" : "s"} changed, +${r.insertions ?? 0}/-${r.deletions ?? 0}`
    : "diff stat unknown";
  const paths = r.paths?.length
    ? `\nFiles: ${r.paths.slice(0, 50).join(", ")}${r.paths.length > 50 ? ", …" : ""}`
    : "";
  const diff = trimDiff(r.diff, budget);
  const f = fence(diff + (r.checkTail ?? ""));
  const tail = r.checkTail ? `\nThe check's last lines:\n${f}text\n${r.checkTail}\n${f}` : "";
  return `### ${r.name}

Diff stat: ${stat}${paths}
Check: ${r.check}${tail}

${f}diff
${diff || "(no changes)\n"}${f}
`;
}

export interface PromptInput {
  task: string;
  judged: JudgedReplica[];
  /** replicas not judged, and why (`check failed (1)`, `agent failed`) */
  unranked: { name: string; why: string }[];
  diffBudget?: number;
}

/** The judge's prompt. Pure. */
export function judgePrompt(p: PromptInput): string {
  const each = Math.floor((p.diffBudget ?? DIFF_BUDGET) / Math.max(1, p.judged.length));
  const task = p.task.length > TASK_BUDGET ? p.task.slice(0, TASK_BUDGET) + "\n[… task cut]" : p.task;
  const tf = fence(task);
  const values: Record<string, string> = {
    task: `${tf}text\n${task.trim() || "(the task was not recorded)"}\n${tf}`,
    count: String(p.judged.length),
    names: p.judged.map((r) => r.name).join(", "),
    first: p.judged[0]?.name ?? "NAME",
    replicas: p.judged.map((r) => section(r, each)).join("\n"),
    unranked: p.unranked.length
      ? `\nNot to be ranked (they did not pass): ${
        p.unranked.map((u) => `${u.name} (${u.why})`).join(", ")
      }.\n`
      : "",
  };
  return TEMPLATE.replace(/\{\{(\w+)\}\}/g, (m: string, k: string) => values[k] ?? m);
}
