/**
 * The judge's answer (judge.ts) read into a ranking. Pure.
 *
 * The answer is the judge agent's final message: prose, then a JSON block
 * `{"ranking":[{"replica":"g-2","reason":"…"}, …]}` (the prompt, judge_prompt.txt, asks for it last). Everything
 * in it is the agent's to choose — it read the replicas' diffs, which may ask it anything — so what is taken is
 * an allow-list: the last JSON object that has a `ranking`, whose entries name each replica that was judged
 * exactly once (no other name, no repeat, none missing), each with a reason kept to one line of printable
 * text. Anything else is a `JudgeAnswerError` naming what was wrong; nothing of a bad answer is kept.
 */

/** One ranked replica: rank 1 first. */
export interface Ranked {
  replica: string;
  reason: string;
}

/** The longest reason kept (longer ones end in "…"). */
export const MAX_REASON = 160;
/** The most of the answer that is read (its end: the block comes last). */
export const MAX_ANSWER = 64 * 1024;

export class JudgeAnswerError extends Error {}

/** A reason as one line: control and format characters (escapes, bidi overrides) gone, spaces folded, cut. */
export function cleanReason(s: unknown, max = MAX_REASON): string {
  const t = String(s ?? "")
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const chars = [...t];
  return chars.length > max ? chars.slice(0, max - 1).join("") + "…" : t;
}

/** The candidate JSON texts of an answer, last first: fenced ```json blocks, then each balanced {…}. */
function candidates(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/```(?:json)?[ \t]*\n([\s\S]*?)```/g)) out.push(m[1]);
  // every balanced object that mentions "ranking" (strings and escapes respected)
  const starts: number[] = [];
  let depth = 0;
  let inStr = false;
  let esc = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (esc) esc = false;
      else if (c === "\\") esc = true;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"' && depth > 0) inStr = true;
    else if (c === "{") {
      if (depth === 0) starts.push(i);
      depth++;
    } else if (c === "}" && depth > 0) {
      depth--;
      if (depth === 0) {
        const s = text.slice(starts.at(-1)!, i + 1);
        if (s.includes('"ranking"')) out.push(s);
      }
    }
  }
  return out.reverse();
}

/**
 * The ranking in `answer`, over exactly the replicas in `judged` (their names); throws JudgeAnswerError when
 * the answer has no such block or the block is wrong.
 */
export function parseJudgement(answer: string, judged: readonly string[]): Ranked[] {
  const text = answer.length > MAX_ANSWER ? answer.slice(-MAX_ANSWER) : answer;
  let doc: unknown;
  let parsed = false;
  for (const c of candidates(text)) {
    try {
      const v = JSON.parse(c);
      if (v && typeof v === "object" && !Array.isArray(v) && "ranking" in v) {
        doc = v;
        parsed = true;
        break;
      }
    } catch { /* the next */ }
  }
  if (!parsed) throw new JudgeAnswerError('no JSON block {"ranking": […]} in the judge\'s answer');
  const ranking = (doc as { ranking: unknown }).ranking;
  if (!Array.isArray(ranking)) throw new JudgeAnswerError('"ranking" is not a list');
  const known = new Set(judged);
  const seen = new Set<string>();
  const out: Ranked[] = [];
  for (const [i, e] of ranking.entries()) {
    if (!e || typeof e !== "object" || Array.isArray(e)) {
      throw new JudgeAnswerError(`ranking entry ${i + 1} is not an object {"replica", "reason"}`);
    }
    const r = (e as { replica?: unknown }).replica;
    if (typeof r !== "string") throw new JudgeAnswerError(`ranking entry ${i + 1} names no replica`);
    const shown = cleanReason(r, 40);
    if (!known.has(r)) {
      throw new JudgeAnswerError(
        `ranking entry ${i + 1} names ${JSON.stringify(shown)}, which was not judged (judged: ${
          judged.join(", ")
        })`,
      );
    }
    if (seen.has(r)) throw new JudgeAnswerError(`ranking names ${r} twice`);
    seen.add(r);
    out.push({ replica: r, reason: cleanReason((e as { reason?: unknown }).reason) || "-" });
  }
  const missing = judged.filter((n) => !seen.has(n));
  if (missing.length) throw new JudgeAnswerError(`ranking leaves out ${missing.join(", ")}`);
  return out;
}
