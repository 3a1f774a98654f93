/**
 * Shell completion, answering Cobra's `__complete` protocol (what kubectl ≥ 1.26 speaks to plugins):
 * the words typed so far go in, the last one (maybe "") being completed; out come `value\tdescription`
 * lines and a final `:DIRECTIVE` line (a bit set: 1 error, 2 no space, 4 no file completion, 8 filter
 * file extensions, 16 directories only, 32 keep order).
 *
 * This module decides *what* to complete from the command tree (subcommands, flags, flag values, and
 * which kind of argument sits under the cursor); the values that need the cluster or the disk come from
 * `Providers` (./providers.ts), each bounded by a deadline, so a slow server yields nothing, quickly.
 */
import { findOption, type ParsedLine, parseLine } from "./argv.ts";
import type { CmdLike as AnyCommand, OptLike as Option } from "./tree.ts";
import { helpSpec } from "./help.ts";
import { within } from "../base/proc/timer.ts";
import type { ArgKind } from "./spec.ts";

export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterFileExt: 8,
  FilterDirs: 16,
  KeepOrder: 32,
} as const;

export interface Candidate {
  value: string;
  description?: string;
}

export interface Completion {
  candidates: Candidate[];
  directive: number;
}

/** What kind of value sits under the cursor: the kinds a table's argument or flag may name. */
export type ValueKind = Exclude<ArgKind, "files" | "yaml-files" | "none">;

/** Everything a provider may look at: the line read so far and the word being completed. */
export interface Request {
  kind: ValueKind;
  toComplete: string;
  line: ParsedLine;
}

export type Providers = Record<ValueKind, (r: Request) => Promise<Candidate[] | Completion>>;

/** Values of kubectl-style flags every command shares, by long flag name. */
const FLAG_KINDS: Record<string, ValueKind | "files" | "dirs" | "none" | readonly string[]> = {
  "--namespace": "namespaces",
  "--context": "contexts",
  "--cluster": "clusters",
  "--user": "users",
  "--pod": "pods",
  "--match": "pods",
  "--container": "containers",
  "--selector": "labels",
  "--param": "params",
  "--kubeconfig": "files",
  "--certificate-authority": "files",
  "--env-file": "files",
  "--template": "templates",
  "--stats-json": "files",
  "--layout": ["tiled", "even-horizontal", "even-vertical", "main-horizontal", "main-vertical"],
  "--for": [
    "ready",
    "deleted",
    "exists",
    "phase=Running",
    "phase=Succeeded",
    "phase=Failed",
    "phase=Pending",
    "condition=Ready",
    "condition=Ready=False",
    "jsonpath=",
  ],
  "--request-timeout": ["0", "5s", "30s", "1m"],
};

/** Arguments by name, where the name says what they are (`<target>`, `<key>`…). */
const ARG_KINDS: Record<string, ValueKind | "files" | "yaml-files" | readonly string[]> = {
  target: "targets",
  key: "config-keys",
  value: "config-values",
  files: "yaml-files",
  src: "cp-path",
  dst: "cp-path",
  shell: ["bash", "zsh", "fish"],
};

/** Variadic arguments whose first word is a target and the rest something else (port-forward's ports). */
const FIRST_IS_TARGET = new Set(["target-or-ports"]);

const declared = new WeakMap<object, (ValueKind | "files" | "yaml-files" | "none")[]>();

/**
 * Declare what a command's positional arguments complete to, in order (the last repeats for a variadic
 * argument). Commands whose argument names already say it (`<target>`, `<key>`) need nothing; session
 * verbs in the Sessions group complete session names by default (except `start`, which makes one).
 */
export function completeArgs<C extends AnyCommand>(
  cmd: C,
  ...kinds: (ValueKind | "files" | "yaml-files" | "none")[]
): C {
  declared.set(cmd, kinds);
  return cmd;
}

function pathNames(cmd: AnyCommand): string[] {
  const out: string[] = [];
  for (let c: AnyCommand | null = cmd; c?.parent; c = c.parent as AnyCommand | null) out.unshift(c.name());
  return out;
}

/** Is this a session verb (top level in the Sessions group, or under `kodama session`)? */
function isSessionVerb(cmd: AnyCommand): boolean {
  const path = pathNames(cmd);
  if ((path[0] === "session" || path[0] === "agent") && path.length > 1) return true;
  const top = (cmd.parent?.parent ? undefined : cmd) as AnyCommand | undefined;
  return !!top && helpSpec(top)?.group === "Sessions";
}

function argKind(
  cmd: AnyCommand,
  index: number,
): ValueKind | "files" | "yaml-files" | "none" | readonly string[] {
  const d = declared.get(cmd);
  if (d?.length) return d[Math.min(index, d.length - 1)];
  const args = cmd.registeredArguments ?? [];
  const arg = args[Math.min(index, args.length - 1)];
  if (!arg || (index >= args.length && !arg.variadic)) return "none";
  const path = pathNames(cmd).join(" ");
  if (path === "run" || path === "workflow show") return "workflows";
  if (path === "template show" || path === "templates show") return "templates";
  if (path === "template validate" || path === "templates validate") return "files";
  if (FIRST_IS_TARGET.has(arg.name())) return index === 0 ? "targets" : "none";
  const byName = ARG_KINDS[arg.name()];
  if (byName) return byName;
  if (isSessionVerb(cmd) && cmd.name() !== "start" && /^(name|names|session|sessions)$/.test(arg.name())) {
    return "sessions";
  }
  return "none";
}

function visible(cmd: AnyCommand): AnyCommand[] {
  return (cmd.commands as AnyCommand[]).filter((c) =>
    !(c as unknown as { _hidden?: boolean })._hidden && c.name() !== "help"
  );
}

function optionsInScope(cmd: AnyCommand): Option[] {
  const out: Option[] = [];
  for (let c: AnyCommand | null = cmd; c; c = c.parent as AnyCommand | null) {
    out.push(...(c.options as Option[]).filter((o) => !o.hidden));
  }
  return out;
}

const takesValue = (o: Option) => o.required || o.optional;
const repeatable = (o: Option) => Array.isArray(o.defaultValue) || o.variadic;

function flagCandidates(line: ParsedLine, toComplete: string, desc: boolean): Candidate[] {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const o of optionsInScope(line.command)) {
    const given = line.values[o.attributeName()] !== undefined;
    if (given && !repeatable(o)) continue;
    for (const f of [o.long, o.short]) {
      if (!f || seen.has(f) || !f.startsWith(toComplete)) continue;
      // "-" lists every flag; "--x" only long ones (as cobra does)
      if (toComplete.startsWith("--") && !f.startsWith("--")) continue;
      if (!toComplete && f === o.short) continue;
      seen.add(f);
      out.push({ value: f, description: desc ? o.description : undefined });
    }
  }
  return out;
}

/** Plan for the value of a flag: a static answer, or a kind to ask a provider for. */
function flagValue(
  f: { option: Option },
  toComplete: string,
  prefix = "",
): Completion | ValueKind {
  const o = f.option;
  const choices = (o as unknown as { argChoices?: string[] }).argChoices;
  const kind = FLAG_KINDS[o.long ?? ""];
  const list = choices ?? (Array.isArray(kind) ? kind : undefined);
  if (list) {
    return {
      candidates: list.filter((c) => c.startsWith(toComplete)).map((c) => ({ value: prefix + c })),
      directive: Directive.NoFileComp,
    };
  }
  if (kind === "files") return { candidates: [], directive: Directive.Default };
  if (kind === "dirs") return { candidates: [], directive: Directive.FilterDirs };
  if (kind && kind !== "none" && typeof kind === "string") return kind as ValueKind;
  return { candidates: [], directive: Directive.NoFileComp };
}

export interface Plan {
  static?: Completion;
  request?: Request;
  /** offered besides the provider's answer (a command's subcommands, next to its own arguments) */
  extra?: Candidate[];
  /** prepended to every provided value (`--namespace=` for `--namespace=pr<TAB>`) */
  prefix?: string;
}

/** Decide what to complete for `words` (the last one is being typed; "" = a new word). */
export function plan(root: AnyCommand, words: string[], desc = true): Plan {
  const toComplete = words.length ? words[words.length - 1] : "";
  const line = parseLine(root, words.slice(0, -1));
  const nothing: Plan = { static: { candidates: [], directive: Directive.NoFileComp } };

  // after `--`: the remote command's own words (nothing to offer here)
  if (line.afterDash !== undefined) return nothing;

  // the previous word is a flag that wants a value
  if (line.pending) {
    const v = flagValue(line.pending, toComplete);
    return typeof v === "string" ? { request: { kind: v, toComplete, line } } : { static: v };
  }

  if (toComplete.startsWith("-")) {
    const eq = toComplete.indexOf("=");
    if (toComplete.startsWith("--") && eq > 0) {
      const f = findOption(line.command, toComplete.slice(0, eq));
      if (!f || !takesValue(f.option)) return nothing;
      const prefix = toComplete.slice(0, eq + 1);
      const value = toComplete.slice(eq + 1);
      const v = flagValue(f, value, prefix);
      return typeof v === "string"
        ? { request: { kind: v, toComplete: value, line }, prefix }
        : { static: v };
    }
    return {
      static: { candidates: flagCandidates(line, toComplete, desc), directive: Directive.NoFileComp },
    };
  }

  // a subcommand, where the command has some and none was given yet; a command that also takes arguments
  // itself (port-forward TARGET PORTS, or its list/stop) offers both
  const subs = visible(line.command);
  const subCandidates = subs.length && line.operands.length === 0
    ? subs.filter((c) => c.name().startsWith(toComplete)).map((c) => ({
      value: c.name(),
      description: desc ? c.description() : undefined,
    }))
    : undefined;
  const ownArgs = (line.command.registeredArguments ?? []).length > 0;
  if (subCandidates && !ownArgs) {
    return { static: { candidates: subCandidates, directive: Directive.NoFileComp } };
  }

  const kind = argKind(line.command, line.operands.length);
  if (Array.isArray(kind)) {
    return {
      static: {
        candidates: kind.filter((v: string) => v.startsWith(toComplete)).map((value: string) => ({ value })),
        directive: Directive.NoFileComp,
      },
    };
  }
  if (kind === "none") {
    return subCandidates
      ? { static: { candidates: subCandidates, directive: Directive.NoFileComp } }
      : nothing;
  }
  if (kind === "files") return { static: { candidates: [], directive: Directive.Default } };
  if (kind === "yaml-files") {
    return {
      static: { candidates: [{ value: "yaml" }, { value: "yml" }], directive: Directive.FilterFileExt },
    };
  }
  return { request: { kind: kind as ValueKind, toComplete, line }, extra: subCandidates };
}

/** Keep candidates that start with what was typed, once each, with or without descriptions. */
export function finish(cands: Candidate[], toComplete: string, desc: boolean, prefix = ""): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (const c of cands) {
    if (!c.value.startsWith(toComplete) || seen.has(c.value)) continue;
    seen.add(c.value);
    out.push({ value: prefix + c.value, description: desc ? c.description : undefined });
  }
  return out;
}

/** Cobra's output: one `value\tdescription` line per candidate, then `:directive`. */
export function format(c: Completion): string {
  const lines = c.candidates.map((x) => {
    const d = x.description?.replace(/[\t\n]+/g, " ").trim();
    return d ? `${x.value}\t${d}` : x.value;
  });
  return [...lines, `:${c.directive}`].join("\n") + "\n";
}

/**
 * Complete `words`: static answers at once; a provider's answer when it comes within `deadlineMs`,
 * else nothing (and never an error: a shell must not print anything while the user types).
 */
export async function complete(
  root: AnyCommand,
  words: string[],
  providers: Providers,
  o: { desc?: boolean; deadlineMs?: number } = {},
): Promise<Completion> {
  const desc = o.desc ?? true;
  const p = plan(root, words, desc);
  if (p.static) return p.static;
  const req = p.request!;
  const got = await within(providers[req.kind](req).catch(() => undefined), o.deadlineMs ?? 1000);
  if (!got) return { candidates: p.extra ?? [], directive: Directive.NoFileComp };
  const c: Completion = Array.isArray(got) ? { candidates: got, directive: Directive.NoFileComp } : got;
  return {
    candidates: [...(p.extra ?? []), ...finish(c.candidates, req.toComplete, desc, p.prefix)],
    directive: c.directive,
  };
}
