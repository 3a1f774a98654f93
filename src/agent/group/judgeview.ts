/**
 * A judgement (judgestore.ts) where `compare` shows it: each replica's RANK and REASON (a replica not ranked:
 * `-` and why), and a footer line with the judge and its cost. Pure.
 */
import type { Judgement } from "./judgestore.ts";
import { safeLine } from "../../ui/color.ts";

export interface Ranks {
  /** rank 1 first; undefined: not ranked */
  rank?: number;
  /** the judge's one-line reason, or why the replica was not ranked */
  reason?: string;
  /** the replica has commits the judge did not see */
  movedSinceJudged?: boolean;
}

/** Each row with its rank and reason from the judgement. */
export function rankRows<R extends { name: string; head?: string }>(rows: R[], j: Judgement): (R & Ranks)[] {
  return rows.map((r) => {
    const i = j.ranking.findIndex((x) => x.replica === r.name);
    if (i < 0) {
      const u = j.unranked.find((x) => x.replica === r.name);
      return { ...r, reason: u ? `not ranked: ${u.why}` : "not judged" };
    }
    const e = j.ranking[i];
    const moved = !!(e.head && r.head && e.head !== r.head);
    return { ...r, rank: i + 1, reason: e.reason, ...(moved ? { movedSinceJudged: true } : {}) };
  });
}

const usd = (c: number) => (c > 0 && c < 0.005 ? "<$0.01" : `$${c.toFixed(2)}`);

/** The footer line under compare's table. */
export function judgeFooter(j: Judgement, rows: Ranks[] = []): string {
  const who = j.judge.session
    ? `${j.judge.session} (${j.judge.preset ?? "?"}${j.judge.model ? `:${j.judge.model}` : ""}), run ${
      j.judge.run ?? "?"
    }`
    : "no judge (one replica passed)";
  const tokens = j.judge.inputTokens !== undefined || j.judge.outputTokens !== undefined
    ? `, ${(j.judge.inputTokens ?? 0) + (j.judge.outputTokens ?? 0)} tokens`
    : "";
  const cost = j.judge.session
    ? `: cost ${j.judge.costUsd !== undefined ? usd(j.judge.costUsd) : "not reported"}${tokens}`
    : "";
  const moved = rows.some((r) => r.movedSinceJudged)
    ? `\nnote: a ranked replica has moved since it was judged (*): judge again with compare ${j.group} --judge PRESET`
    : "";
  return safeLine(`judged ${j.at} by ${who}${cost}`) + moved + "\n";
}
