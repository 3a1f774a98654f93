/**
 * Option declarations as data, without commander: the global kubectl-style flags, pod targeting, the
 * picker flags, -o and --reconnect-timeout. src/cli/flags.ts turns a list of them into commander options
 * (help and error wording), and src/cli/fast.ts reads every plain command line against the same lists
 * without loading commander at all (~45 ms of CPU: commander is CommonJS
 * and brings Deno's Node layer). One declaration, two readers: they cannot drift apart.
 */
import { DURATION_EXAMPLES_TEXT, tryParseDuration } from "../base/duration.ts";
import { usageError } from "../base/errors.ts";
import { type Invocation, opt, type Options, opts } from "./opttypes.ts";

export type { Invocation };

/** One option, as commander's `.option(flags, description, parse, default)` takes it. */
export interface OptSpec {
  /** commander's flags string: `-c, --container <name>`, `--all`, `-T, --no-tty`, `--query <q>` */
  flags: string;
  description: string;
  default?: unknown;
  /** the allowed values (commander's `.choices()`) */
  choices?: readonly string[];
  /** turns the text into the value; `previous` is the value so far (the default first). Throws OptionValueError. */
  parse?: (value: string, previous: unknown) => unknown;
  /** left out of help and completion (internal flags) */
  hidden?: boolean;
  /**
   * Options (their attributes: `all`, `first`) this one cannot be given with: a usage error (exit 2)
   * naming both. Only those the command declares count; one side declaring it is enough.
   */
  conflicts?: readonly string[];
}

/** A value an option cannot take; commander reports it as `option '…' argument '…' is invalid. <message>`. */
export class OptionValueError extends Error {}

/** The parts of a flags string commander reads: short and long flag, a value, `--no-` negation. */
export interface FlagParts {
  short?: string;
  long?: string;
  /** takes a value (`<value>`) */
  required: boolean;
  /** may take a value (`[value]`): the next word, unless it looks like a flag */
  optional: boolean;
  negate: boolean;
  /** the key of the parsed options object: camelCase of the long flag without `--no-` */
  attribute: string;
}

export function flagParts(flags: string): FlagParts {
  const words = flags.split(/[ |,]+/).filter(Boolean);
  let short: string | undefined;
  let long: string | undefined;
  for (const w of words) {
    if (/^--[^-]/.test(w)) long = w;
    else if (/^-[^-]$/.test(w)) short = w;
  }
  const name = (long ?? short ?? "").replace(/^--?/, "");
  const negate = !!long && long.startsWith("--no-");
  const attribute = name.replace(/^no-/, "").split("-").reduce((s, w) => s + w[0].toUpperCase() + w.slice(1));
  return { short, long, required: flags.includes("<"), optional: flags.includes("["), negate, attribute };
}

/** A `<duration>` value: checked against kodama's one grammar, kept as text for the command to read. */
export function durationText(value: string, _previous?: unknown): string {
  if (tryParseDuration(value) === undefined) {
    throw new OptionValueError(
      `${
        value.trim() === "" ? "empty; " : ""
      }use a duration such as ${DURATION_EXAMPLES_TEXT} (bare number: seconds)`,
    );
  }
  return value;
}

/** A `<n>` value without a parser of its own: a whole number 0 or more, kept as text for the command to read. */
export function countText(value: string, _previous?: unknown): string {
  if (!/^\s*\d+\s*$/.test(value)) {
    throw new OptionValueError(`${value.trim() === "" ? "empty; " : ""}must be a whole number`);
  }
  return value;
}

/**
 * How an option's value is read, for both readers (src/cli/flags.ts, src/cli/fast.ts): its own `parse`,
 * else by the kind its flags name (`<duration>`, `<n>`), so every such flag checks its value whenever it is given,
 * empty included, whatever other flags say.
 */
export function valueParser(spec: OptSpec): OptSpec["parse"] {
  if (spec.parse) return spec.parse;
  if (/<duration>/.test(spec.flags)) return durationText;
  if (/<n>/.test(spec.flags)) return countText;
  return undefined;
}

/**
 * Options given together that contradict each other (`--all --first`): a usage error naming both.
 * `specs` are the command's own options.
 */
export function checkConflicts(specs: readonly OptSpec[] | undefined, inv: Pick<Invocation, "given">): void {
  if (!specs) return;
  const byKey = new Map(specs.map((s) => [flagParts(s.flags).attribute, s]));
  const name = (s: OptSpec) => {
    const p = flagParts(s.flags);
    return p.long ?? p.short ?? s.flags;
  };
  for (const s of specs) {
    const key = flagParts(s.flags).attribute;
    for (const other of s.conflicts ?? []) {
      const o = byKey.get(other);
      if (o && inv.given(key) && inv.given(other)) {
        throw usageError(`${name(s)} and ${name(o)} exclude each other`, "give one of them");
      }
    }
  }
}

/**
 * The flags that choose among matched pods, and which of them contradict each other: `--all` (every pod),
 * `--first` (the first by name), `--pick` (the picker), `--multi` (several in the picker).
 */
const CHOICE_CONFLICTS = {
  all: ["first", "pick", "multi"],
  first: ["all", "pick", "multi"],
  pick: ["all", "first"],
  multi: ["all", "first"],
} as const;

/** A pod-choice flag row (`--all`, `--first`, `--pick`, `--multi`) with its shared conflicts. */
export function choiceOption<const F extends `--${keyof typeof CHOICE_CONFLICTS}`>(
  flag: F,
  description: string,
): { flags: F; description: string; conflicts: readonly string[] } {
  return {
    flags: flag,
    description,
    conflicts: CHOICE_CONFLICTS[flag.slice(2) as keyof typeof CHOICE_CONFLICTS],
  };
}

/** Repeatable option: each use appends. */
export function collect(value: string, previous: unknown = []): string[] {
  return [...(previous as string[]), value];
}

/** An integer >= 1 (`flag` names it in the message). */
export function positiveCount(v: string, flag?: string): number {
  const n = Number(v);
  if (!/^\s*\+?\d+\s*$/.test(v) || !Number.isInteger(n) || n < 1) {
    throw new OptionValueError(`${flag ? `${flag} ` : ""}must be a positive integer`);
  }
  return n;
}

/** Global flags with kubectl's meaning; they may appear before or after the subcommand. */
export const GLOBAL_OPTIONS = opts([
  {
    flags: "--kubeconfig <path>",
    description: "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)",
  },
  { flags: "--context <name>", description: "the kubeconfig context to use (also: KODAMA_CONTEXT)" },
  {
    flags: "-n, --namespace <ns>",
    description: "namespace (default: KODAMA_NAMESPACE, then the context's namespace, else default)",
  },
  { flags: "--cluster <name>", description: "the kubeconfig cluster to use" },
  { flags: "--user <name>", description: "the kubeconfig user to use" },
  { flags: "-s, --server <url>", description: "the address and port of the Kubernetes API server" },
  { flags: "--token <token>", description: "bearer token for authentication to the API server" },
  {
    flags: "--certificate-authority <path>",
    description: "path to a cert file for the certificate authority",
  },
  {
    flags: "--insecure-skip-tls-verify",
    description: "do not check the server's certificate (makes your HTTPS connections insecure)",
  },
  {
    flags: "--as <user>",
    description: "username to impersonate for the operation (a user, or system:serviceaccount:NS:NAME)",
  },
  {
    flags: "--as-group <group>",
    description: "group to impersonate (repeatable)",
    parse: collect,
    default: [],
  },
  { flags: "--as-uid <uid>", description: "UID to impersonate" },
  {
    flags: "--request-timeout <duration>",
    description:
      "give up on a single server request after this long, e.g. 1s, 2m (streams: until connected); 0 = only the default: 30s for the server to answer",
    default: "0",
  },
  {
    flags: "--log-level <level>",
    description: "log verbosity on stderr",
    choices: ["debug", "info", "warning", "error"],
    default: "warning",
  },
  {
    flags: "--log-format <format>",
    description: "log line format",
    choices: ["text", "json"],
    default: "text",
  },
  { flags: "--no-color", description: "disable colours (also: NO_COLOR=1)" },
]);

/** The targeting flags every pod command shares. */
export const TARGETING_OPTIONS = opts([
  {
    flags: "-m, --match <substr>",
    description: "pod name contains SUBSTR (repeatable; all must match)",
    parse: collect,
    default: [],
  },
  { flags: "--regex <re>", description: "pod name matches this regular expression" },
  { flags: "-l, --selector <selector>", description: "label selector, e.g. app=api,tier!=cache" },
  {
    flags: "--field-selector <selector>",
    description: "field selector, e.g. status.phase=Running,spec.nodeName=n1",
  },
  { flags: "-A, --all-namespaces", description: "look in every namespace" },
  { flags: "--pod <name>", description: "exactly this pod name" },
]);

/** `--reconnect-timeout`, for commands that keep a watch or stream open (logs -f, pods -w, wait). */
export const RECONNECT_OPTION = opt({
  flags: "--reconnect-timeout <duration>",
  description: "while the API server cannot be reached, keep retrying this long, then exit 1 (0 = forever)",
  default: "5m",
});

/** `-o FORMAT`, the first format the default. */
export function outputSpec<const F extends readonly string[] = typeof DEFAULT_FORMATS>(
  formats: F = DEFAULT_FORMATS as unknown as F,
): { flags: "-o, --output <format>"; description: string; choices: F; default: F[number] } {
  return {
    flags: "-o, --output <format>",
    description: "output format",
    choices: formats,
    default: formats[0],
  };
}

const DEFAULT_FORMATS = ["table", "wide", "json", "yaml", "name"] as const;

/** --query, --select-1, --exit-0, --multi (every command that can open the picker; `kodama pick` too) */
export const PICK_QUERY_OPTIONS = opts([
  {
    flags: "--query <q>",
    description: "start the picker with this query (fzf syntax: 'exact ^prefix suffix$ !not a|b)",
  },
  {
    flags: "--select-1",
    description: "choose automatically when exactly one pod matches the query (no picker)",
  },
  { flags: "--exit-0", description: "exit 3 at once when nothing matches the query" },
  choiceOption("--multi", "choose several pods (Tab marks a row, Ctrl-A marks every match)"),
]);

/** --pick plus PICK_QUERY_OPTIONS */
export const PICKER_OPTIONS = opts([
  choiceOption("--pick", "choose in the interactive picker even when the match is unambiguous"),
  ...PICK_QUERY_OPTIONS,
]);

export interface PickerFlags {
  pick: boolean;
  multi: boolean;
  query?: string;
  selectOne: boolean;
  exit0: boolean;
}

/** Parsed picker options as `pickPods` takes them. */
export function pickerFlags(o: Partial<Options<typeof PICKER_OPTIONS>>): PickerFlags {
  return {
    pick: !!o.pick,
    multi: !!o.multi,
    query: o.query,
    selectOne: !!o.select1,
    exit0: !!o.exit0,
  };
}
