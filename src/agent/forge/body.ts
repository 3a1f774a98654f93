/**
 * What a pull request says about the session's work, from its latest agent run: pure. The prompt (its first
 * lines), the outcome, turns, tokens and cost, commits and files, the check and its result, and the agent's
 * final message. The prompt and the agent's words go inside code fences (longer than any backtick run in
 * them), so nothing in them renders as Markdown or HTML, mentions a person or closes an issue; the whole is
 * bounded (BODY_MAX), and tokens are masked: the forge's own and anything shaped like a known key.
 */

/** What the body tells of a run (pr.ts reads it from the pod: agentrun.ts listRuns, the run's files). */
export interface RunFacts {
  id: string;
  /** the outcome in words (runtruth.ts runOutcome): `succeeded`, `failed: overloaded (retryable)` */
  outcome: string;
  agent?: string;
  models?: string[];
  turns?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  commits?: number;
  filesChanged?: number;
  durationSeconds?: number;
  /** the check's state in words (agentrun.ts checkWord): `passed`, `failed (2)` */
  check?: string;
  /** the check's command */
  checkCommand?: string;
  prompt?: string;
  /** the agent's final message */
  final?: string;
}

/** One replica of a best-of-N group, as its comparison shows it (src/agent/group/compare.ts gatherGroup). */
export interface ReplicaFacts {
  name: string;
  /** its latest run's outcome in words, else its agent's or session's state */
  outcome: string;
  check?: string;
  commits?: number;
  files?: number;
  insertions?: number;
  deletions?: number;
  /** the agent's tokens in words (truth.ts formatTokens) */
  tokens?: string;
  costUsd?: number;
}

export interface BodyInput {
  session: string;
  /** the head branch */
  branch: string;
  /** the session's latest run, when it has one */
  run?: RunFacts;
  /** a replica's group: the comparison of its replicas (this one is `session`) */
  group?: { name: string; replicas: ReplicaFacts[] };
  /** values never to be shown (the forge's token) */
  secrets?: string[];
}

export const BODY_MAX = 12_000;
/** At most this many replicas are compared (start --replicas allows 16). */
const GROUP_ROWS = 16;
const PROMPT_LINES = 20;
const PROMPT_CHARS = 2_000;
const FINAL_CHARS = 4_000;
const TITLE_CHARS = 72;

/** Shapes of keys and tokens that never go into a request's body, whoever wrote them. */
const KEY_SHAPES = [
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g,
  /\bsk-ant-[A-Za-z0-9_-]{20,}/g,
  /\bsk-[A-Za-z0-9_-]{20,}/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g,
];

/** The text with the given secrets and anything shaped like a key as `***`. */
export function maskSecrets(s: string, secrets: string[] = []): string {
  let out = s;
  for (const v of secrets) if (v.length >= 4) out = out.split(v).join("***");
  for (const re of KEY_SHAPES) out = out.replace(re, "***");
  return out;
}

/** A fenced block whose fence no backtick run in the text can close. */
export function fenced(text: string, lang = "text"): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${text.replace(/\n+$/, "")}\n${fence}`;
}

/** At most `lines` lines and `chars` characters of the text, with a note of what was left out. */
export function firstLines(text: string, lines: number, chars: number): string {
  const all = text.replace(/\r\n/g, "\n").replace(/\s+$/, "").split("\n");
  let out = all.slice(0, lines).join("\n");
  let cut = all.length > lines;
  if (out.length > chars) {
    out = out.slice(0, chars);
    cut = true;
  }
  return cut ? `${out}\n… (${all.length} lines, ${text.length} characters in all)` : out;
}

/** The request's default title: the prompt's first line, else the session's name. */
export function defaultTitle(session: string, prompt?: string): string {
  // deno-lint-ignore no-control-regex
  const first = (prompt ?? "").split("\n").map((l) => l.replace(/[\x00-\x1f\x7f]/g, "").trim()).find(Boolean);
  if (!first) return `kodama session ${session}`;
  return first.length > TITLE_CHARS ? `${first.slice(0, TITLE_CHARS - 1).trimEnd()}…` : first;
}

const plain = (s: string) =>
  // deno-lint-ignore no-control-regex
  s.replace(/[\x00-\x1f\x7f]/g, " ").replace(/[\\`*_{}[\]<>()#+!|~@]/g, (c) => `\\${c}`).trim();

/** The request's body, in Markdown, at most BODY_MAX characters. */
export function prBody(b: BodyInput): string {
  const r = b.run;
  const mask = (s: string) => maskSecrets(s, b.secrets);
  const lines: string[] = [
    `Agent work from kodama session **${plain(b.session)}**, branch \`${plain(b.branch)}\`.`,
    "",
  ];
  if (!r) {
    lines.push("_The session has no agent run: its commits are the work._");
  } else {
    const facts: string[] = [`**Outcome:** ${plain(mask(r.outcome))}`];
    const by = [r.agent, ...(r.models ?? [])].filter(Boolean).map((s) => plain(s!)).join(", ");
    if (by) facts.push(`**Agent:** ${by}`);
    const usage: string[] = [];
    if (r.turns !== undefined) usage.push(`${r.turns} turn${r.turns === 1 ? "" : "s"}`);
    if (r.inputTokens !== undefined || r.outputTokens !== undefined) {
      usage.push(`${r.inputTokens ?? 0} tokens in, ${r.outputTokens ?? 0} out`);
    }
    if (r.costUsd !== undefined) usage.push(`$${r.costUsd.toFixed(r.costUsd < 1 ? 4 : 2)}`);
    if (r.durationSeconds !== undefined) usage.push(`${Math.round(r.durationSeconds)} s`);
    if (usage.length) facts.push(`**Usage:** ${usage.join(", ")}`);
    const work: string[] = [];
    if (r.commits !== undefined) work.push(`${r.commits} commit${r.commits === 1 ? "" : "s"}`);
    if (r.filesChanged !== undefined) {
      work.push(`${r.filesChanged} file${r.filesChanged === 1 ? "" : "s"} changed`);
    }
    if (work.length) facts.push(`**Changes:** ${work.join(", ")}`);
    if (r.check || r.checkCommand) {
      const cmd = r.checkCommand ? mask(r.checkCommand.replace(/\s+/g, " ").trim()).slice(0, 300) : "";
      facts.push(`**Check:** ${r.check ? plain(r.check) : "-"}${cmd ? ` — ${inlineCode(cmd)}` : ""}`);
    }
    lines.push(`### Run ${plain(r.id)}`, "", ...facts.map((f) => `- ${f}`), "");
    if (r.prompt?.trim()) {
      lines.push("### Prompt", "", fenced(mask(firstLines(r.prompt, PROMPT_LINES, PROMPT_CHARS))), "");
    }
    if (r.final?.trim()) {
      lines.push(
        "### The agent's final message",
        "",
        fenced(mask(firstLines(r.final, 200, FINAL_CHARS))),
        "",
      );
    }
  }
  if (b.group?.replicas.length) lines.push(...groupTable(b.session, b.group, mask), "");
  lines.push(
    `<sub>Opened by \`kodama session pr ${plain(b.session)}\`; a later call updates this description.</sub>`,
  );
  const body = lines.join("\n");
  // each text is bounded above, so this never cuts inside one: a guard, not a layout
  return body.length <= BODY_MAX ? body : `${body.slice(0, BODY_MAX - 30)}\n… (cut)`;
}

/** Inline code whose backticks no backtick run in the text can close. */
export function inlineCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const tick = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${tick}${pad}${text}${pad}${tick}`;
}

/** The group's replicas side by side, this one marked: what a reviewer compares this attempt with. */
function groupTable(
  self: string,
  g: { name: string; replicas: ReplicaFacts[] },
  mask: (s: string) => string,
) {
  const n = (v: number | undefined) => (v === undefined ? "-" : String(v));
  const rows = g.replicas.slice(0, GROUP_ROWS).map((r) => {
    const diff = r.insertions !== undefined || r.deletions !== undefined
      ? ` (+${r.insertions ?? 0}/-${r.deletions ?? 0})`
      : "";
    return `| ${r.name === self ? `**${plain(r.name)}** (this one)` : plain(r.name)} | ${
      plain(mask(r.outcome)).slice(0, 80)
    } | ${r.check ? plain(r.check) : "-"} | ${n(r.commits)} | ${n(r.files)}${diff} | ${
      r.tokens ? plain(r.tokens) : "-"
    } | ${r.costUsd !== undefined ? `$${r.costUsd.toFixed(r.costUsd < 1 ? 4 : 2)}` : "-"} |`;
  });
  return [
    `### Its group: best of ${g.replicas.length} (${plain(g.name)})`,
    "",
    "| replica | outcome | check | commits | files | tokens | cost |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    ...(g.replicas.length > GROUP_ROWS ? ["", `… and ${g.replicas.length - GROUP_ROWS} more`] : []),
  ];
}
