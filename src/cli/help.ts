/**
 * Help that reads like kubectl's, for every command. A command module declares its help once:
 *
 *   help(program.command("exec"), {
 *     group: "Pods",                                    // top-level commands only: where `kodama --help` lists it
 *     summary: "Run a command in the matching pod(s)",  // one line, capitalised, no full stop
 *     usage: "(-m MATCH | -l SELECTOR | --pod POD) [-c CONTAINER] [flags] -- COMMAND [args...]",
 *     examples: [
 *       ["Run 'weka version' in the pod whose name contains drive-1",   // the # comment line
 *        "kodama exec -n weka-operator-system -m drive-1 -- weka version"], // a line that runs as pasted
 *     ],
 *     notes: "Fan-out exit codes: 0 all ok, 1 any pod failed, ...",     // optional text after Examples
 *   })
 *     .option(...)
 *
 * and `kodama exec --help` prints, in kubectl's order: the summary (and `long`), Aliases, Examples, notes,
 * Options (no `(default: [])` noise), Available Commands, Usage, and the pointer to `kodama options` for the
 * global flags. tests/unit/cli/help_test.ts walks the whole tree and fails for a command without examples,
 * and parses every example against the command's real flags.
 */
import type { Command, Help, Option } from "@commander-js/extra-typings";
import type { AnyCommand } from "./flags.ts";

/** The groups of `kodama --help`, in the order they are listed (kubectl groups its commands the same way). */
export const GROUPS = ["Sessions", "Pods", "Workflows", "Settings", "Other"] as const;
export type Group = typeof GROUPS[number];
const GROUP_TITLES: Record<Group, string> = {
  Sessions: "Session Commands:",
  Pods: "Pod Commands:",
  Workflows: "Workflow Commands:",
  Settings: "Settings Commands:",
  Other: "Other Commands:",
};

export type Example = [comment: string, command: string];

export interface HelpSpec {
  /** One line: the command's entry in its parent's list, and the first line of its own help. */
  summary: string;
  /** More paragraphs printed after the summary. */
  long?: string;
  /**
   * What follows the command path on the Usage line, kubectl-style (UPPERCASE placeholders, `[flags]`).
   * Default: the declared arguments, then `[flags]`.
   */
  usage?: string;
  /** Every command has at least one; each is a `# comment` line and a command line that runs as pasted. */
  examples: Example[];
  /** Text printed after the examples (exit codes, key tables). */
  notes?: string;
  /** For top-level commands: the group `kodama --help` lists it under (default Other). */
  group?: Group;
  /** An internal command (`__complete`): hidden from lists, exempt from the examples rule. */
  internal?: boolean;
}

const specs = new WeakMap<object, HelpSpec>();

/** Attach kubectl-style help to a command; returns the command for chaining. */
export function help<C extends AnyCommand>(cmd: C, spec: HelpSpec): C {
  specs.set(cmd, spec);
  cmd.description(spec.summary);
  if (spec.internal) (cmd as unknown as { _hidden: boolean })._hidden = true;
  return cmd;
}

export function helpSpec(cmd: object): HelpSpec | undefined {
  return specs.get(cmd);
}

/** The names a command answers to, from the root: ["kodama", "config", "set"]. */
export function commandPath(cmd: Command<unknown[], Record<string, unknown>>): string[] {
  const names: string[] = [];
  for (let c: typeof cmd | null = cmd; c; c = c.parent as typeof cmd | null) names.unshift(c.name());
  return names;
}

function defaultUsage(cmd: AnyCommand): string {
  const args = (cmd.registeredArguments ?? []).map((a) => {
    const n = a.name().toUpperCase().replace(/-/g, "_") + (a.variadic ? "..." : "");
    return a.required ? n : `[${n}]`;
  });
  return [...args, "[flags]"].join(" ");
}

function visibleCommands(cmd: AnyCommand): AnyCommand[] {
  return (cmd.commands as AnyCommand[]).filter((c) =>
    !(c as unknown as { _hidden?: boolean })._hidden && c.name() !== "help"
  );
}

/** kubectl shows a default only when it tells the reader something: not false, not [], not undefined. */
function optionDescription(o: Option): string {
  const extra: string[] = [];
  const choices = (o as unknown as { argChoices?: string[] }).argChoices;
  if (choices?.length) extra.push(`one of: ${choices.join(", ")}`);
  const d = o.defaultValue as unknown;
  const shown = o.defaultValueDescription ??
    (d === undefined || d === false || d === true || d === "" || (Array.isArray(d) && d.length === 0)
      ? undefined
      : Array.isArray(d)
      ? d.join(",")
      : String(d));
  if (shown !== undefined && !o.negate) extra.push(`default: ${shown}`);
  const desc = o.description ?? "";
  return extra.length ? `${desc}${desc ? " " : ""}(${extra.join("; ")})` : desc;
}

function optionTerm(o: Option): string {
  return o.flags;
}

function formatList(helper: Help, items: [string, string][], width?: number): string[] {
  const w = width ?? Math.max(0, ...items.map(([t]) => t.length));
  return items.map(([t, d]) => helper.formatItem(t, w, d, helper));
}

function formatExamples(examples: Example[]): string[] {
  const out: string[] = [];
  examples.forEach(([comment, command], i) => {
    if (i > 0) out.push("");
    for (const line of comment.split("\n")) out.push(`  # ${line}`);
    for (const line of command.split("\n")) out.push(`  ${line}`);
  });
  // the demo runs agents against its model-API stand-in: such examples work there, from its scratch project
  if (examples.some(([c]) => c.includes(DEMO_PROJECT))) {
    out.push("", `  ${DEMO_PROJECT}: runs in the demo (deno task demo), from the scratch project it prints`);
  }
  return out;
}

/** The mark of an example that runs in the demo from its scratch project (README: Coding agents). */
export const DEMO_PROJECT = "[demo project]";

function rootOf(cmd: AnyCommand): AnyCommand {
  let c = cmd;
  while (c.parent) c = c.parent as AnyCommand;
  return c;
}

/** Options of a command shown in its help: its own flags, without -h/--help (kubectl does not list it). */
function shownOptions(cmd: AnyCommand): Option[] {
  return (cmd.options as Option[]).filter((o) => !o.hidden);
}

/** The text of `kodama options` (kubectl options): the root's flags, which every command accepts. */
export function formatGlobalOptions(root: AnyCommand, helper: Help): string {
  const items = shownOptions(root).map((o) => [optionTerm(o), optionDescription(o)] as [string, string]);
  return [
    "The following options can be passed to any command:",
    "",
    ...formatList(helper, items),
    "",
  ].join("\n");
}

/** `--help-all`: every example, the long text and each option's description (main.ts sets it). */
let helpAll = false;
export function setHelpAll(on: boolean): void {
  helpAll = on;
}

/** The most lines `--help` prints; a longer help is cut to what a user scans, `--help-all` has the rest. */
export const HELP_BUDGET = 40;

function formatHelp(cmd: AnyCommand, helper: Help): string {
  const full = formatFullHelp(cmd, helper);
  // the root's help is the list of commands, by group: it stays whole
  if (helpAll || !cmd.parent || full.split("\n").length <= HELP_BUDGET + 1) return full;
  return formatShortHelp(cmd, helper);
}

/** The help a user scans: the summary, three examples, the flags by name, usage, and where the rest is. */
function formatShortHelp(cmd: AnyCommand, helper: Help): string {
  const spec = specs.get(cmd);
  const root = rootOf(cmd);
  const path = commandPath(cmd as Command<unknown[], Record<string, unknown>>).join(" ");
  const width = helper.helpWidth ?? 80;
  const out: string[] = [];
  const summary = spec?.summary ?? cmd.description();
  out.push(helper.boxWrap(/[.!?]$/.test(summary) ? summary : `${summary}.`, width), "");
  const aliases = cmd.aliases();
  if (aliases.length) out.push("Aliases:", `  ${[cmd.name(), ...aliases].join(", ")}`, "");
  if (spec?.examples.length) out.push("Examples:", ...formatExamples(spec.examples.slice(0, 3)), "");
  const subs = visibleCommands(cmd);
  if (subs.length) {
    const w = Math.max(0, ...subs.map((c) => c.name().length));
    out.push(
      "Available Commands:",
      ...formatList(helper, subs.map((c) => [c.name(), c.description()] as [string, string]), w),
      "",
    );
  }
  const opts = shownOptions(cmd);
  if (opts.length && cmd !== root) {
    const words = opts.map((o) => o.long ?? o.short ?? o.flags);
    const lines: string[] = [];
    let cur = " ";
    for (const w of words) {
      if (cur.length + w.length + 2 > Math.min(width, 100)) {
        lines.push(cur.replace(/,$/, ""));
        cur = " ";
      }
      cur += ` ${w},`;
    }
    lines.push(cur.replace(/,$/, ""));
    out.push("Options:", ...lines, "");
  }
  out.push("Usage:");
  const runnable = !!(cmd as unknown as { _actionHandler?: unknown })._actionHandler;
  usageLines(
    out,
    path,
    runnable || !subs.length ? spec?.usage ?? defaultUsage(cmd) : undefined,
    subs.length > 0,
  );
  out.push("");
  out.push(`Use "${path} --help-all" for every example, what each option does, and the details.`);
  out.push(
    `Use "${root.name()} options" for a list of global command-line options (applies to all commands).`,
  );
  return out.join("\n") + "\n";
}

/** The Usage lines: the command's own form, then the subcommands' (once, when they read the same). */
function usageLines(out: string[], path: string, own: string | undefined, hasSubs: boolean): void {
  const lines = [
    ...(own !== undefined ? [`  ${path} ${own}`] : []),
    ...(hasSubs ? [`  ${path} [command] [flags]`] : []),
  ];
  out.push(...new Set(lines));
}

function formatFullHelp(cmd: AnyCommand, helper: Help): string {
  const spec = specs.get(cmd);
  const root = rootOf(cmd);
  const isRoot = cmd === root;
  const path = commandPath(cmd as Command<unknown[], Record<string, unknown>>).join(" ");
  const width = helper.helpWidth ?? 80;
  const out: string[] = [];
  const summary = spec?.summary ?? cmd.description();
  out.push(helper.boxWrap(/[.!?]$/.test(summary) ? summary : `${summary}.`, width), "");
  // long text and notes are printed as written (they hold tables and aligned lines)
  if (spec?.long) out.push(spec.long.trim(), "");

  const subs = visibleCommands(cmd);
  const subItems = (list: AnyCommand[]) => list.map((c) => [c.name(), c.description()] as [string, string]);
  const subWidth = Math.max(0, ...subs.map((c) => c.name().length));
  if (isRoot) {
    for (const g of GROUPS) {
      const inGroup = subs.filter((c) => (specs.get(c)?.group ?? "Other") === g);
      if (inGroup.length) out.push(GROUP_TITLES[g], ...formatList(helper, subItems(inGroup), subWidth), "");
    }
  }

  const aliases = cmd.aliases();
  if (aliases.length) out.push("Aliases:", `  ${[cmd.name(), ...aliases].join(", ")}`, "");

  if (spec?.examples.length) out.push("Examples:", ...formatExamples(spec.examples), "");
  if (spec?.notes) out.push(spec.notes.trim(), "");

  if (!isRoot) {
    const opts = shownOptions(cmd);
    if (opts.length) {
      out.push(
        "Options:",
        ...formatList(helper, opts.map((o) => [optionTerm(o), optionDescription(o)] as [string, string])),
        "",
      );
    }
    if (subs.length) out.push("Available Commands:", ...formatList(helper, subItems(subs), subWidth), "");
  }

  out.push("Usage:");
  const runnable = !!(cmd as unknown as { _actionHandler?: unknown })._actionHandler;
  if (isRoot) out.push(`  ${path} [command] [flags]`);
  else {
    usageLines(
      out,
      path,
      runnable || !subs.length ? spec?.usage ?? defaultUsage(cmd) : undefined,
      subs.length > 0,
    );
  }
  out.push("");
  if (subs.length) out.push(`Use "${path} <command> --help" for more information about a given command.`);
  out.push(
    `Use "${root.name()} options" for a list of global command-line options (applies to all commands).`,
  );
  return out.join("\n") + "\n";
}

/** Add text to a command's notes after it was declared (e.g. a key table computed only when its help shows). */
export function addNotes(cmd: object, text: string): void {
  const spec = specs.get(cmd);
  if (spec) spec.notes = spec.notes ? `${spec.notes.trimEnd()}\n\n${text}` : text;
}

/** Configure kubectl-style help on a command and (now and later) its subcommands. */
export function useKubectlHelp(cmd: AnyCommand): void {
  cmd.configureHelp({ formatHelp: (c, h) => formatHelp(c as AnyCommand, h as Help) });
  for (const sub of cmd.commands as AnyCommand[]) useKubectlHelp(sub);
}
