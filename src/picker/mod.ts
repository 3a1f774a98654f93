/**
 * The picker as a widget over any items (pods, sessions, …), for commands and workflow steps:
 *
 * ```ts
 * import { pickItems } from "./mod.ts";
 * const [chosen] = await pickItems(items, { noun: "session", flagHint: "name the session: kodama attach NAME" });
 * ```
 *
 * - `selectOne` (--select-1): exactly one item matches the initial query -> it is returned without opening.
 * - `exit0` (--exit-0): nothing matches the initial query -> exit 3 at once.
 * - `KODAMA_PICKER=fzf`: an installed `fzf` is used instead, fed the items' ids.
 * - `KODAMA_NO_PICKER=1`, or stdin/stderr not a terminal: a single candidate is returned; several are
 *   exit 2 naming the flags that decide (`flagHint`) and listing up to 10 candidates (src/picker/choice.ts).
 * - Esc / Ctrl-C: KodamaError("picker aborted", 130).
 *
 * Pods are picked with `pickPods` (src/pods/choose.ts), which builds pod rows and a pod preview on this.
 * Nothing here knows what a pod is.
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { choiceNeeded } from "./choice.ts";
import { createState, matchEntry, type PickerItem } from "./state.ts";
import { Matcher } from "./match.ts";
import type { LiveEvent } from "./driver.ts";

export type { LiveEvent, PickerItem };

/** Can a picker be shown: stdin and stderr are terminals and KODAMA_NO_PICKER is not set. */
export function isInteractive(): boolean {
  if (env("KODAMA_NO_PICKER")) return false;
  try {
    return Deno.stdin.isTerminal() && Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

function env(name: string): string | undefined {
  try {
    const v = Deno.env.get(name);
    return v && v !== "0" && v !== "false" ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The items matching `query`, best first, exactly as the picker ranks them (fzf's order; with
 * `showNamespace` the matched text is `namespace/label`, anchored terms on the label). No terminal involved:
 * `kodama pick --filter QUERY`.
 */
export function rankItems<T>(items: PickerItem<T>[], query: string, showNamespace: boolean): T[] {
  const m = new Matcher(items.map((it) => matchEntry(it, showNamespace)), { cacheSize: 1 });
  return Array.from(m.match(query).indices, (i) => items[i].payload);
}

export interface PickItemsOptions<T> {
  multi?: boolean;
  /** initial query (fzf syntax) */
  query?: string;
  /** --select-1: auto-accept a single match of the initial query without opening */
  selectOne?: boolean;
  /** --exit-0: exit 3 when nothing matches the initial query */
  exit0?: boolean;
  /** -A: show (and match) the namespace column; also on when the items span namespaces */
  allNamespaces?: boolean;
  /** alias of allNamespaces */
  showNamespace?: boolean;
  /** what is being picked, for messages and the prompt (default "item") */
  noun?: string;
  /** the flags that make the choice without a terminal, e.g. "use --all, --first, --pick or a narrower -m" */
  flagHint?: string;
  /** prompt text (default "<noun>> ") */
  prompt?: string;
  /** override terminal detection (default: `isInteractive()`) */
  interactive?: boolean;
  /** loads the preview renderer (only when the picker opens) */
  preview?: () => Promise<(item: PickerItem<T>) => string[]>;
  /** show the preview panel (default: config `picker.preview`, true) */
  previewShown?: boolean;
  /** keep the list live: push updates until `signal` aborts */
  live?: (push: (e: LiveEvent<T>) => void, signal: AbortSignal) => void;
}

/**
 * The picker over any items (pods, sessions, …): --select-1, --exit-0, the no-terminal error naming
 * `flagHint`, KODAMA_PICKER=fzf, with the caller's rows and preview.
 */
export async function pickItems<T>(items0: PickerItem<T>[], opts: PickItemsOptions<T> = {}): Promise<T[]> {
  const noun = opts.noun ?? "item";
  const showNamespace = !!(opts.allNamespaces || opts.showNamespace) ||
    new Set(items0.map((p) => p.namespace)).size > 1;
  const query = opts.query ?? "";

  // The picker's state is built once, up front: its matcher answers what the initial query matches
  // (--select-1, --exit-0, the no-terminal error) and then serves the picker, one pass over the items.
  const state = createState(items0, {
    multi: opts.multi,
    query,
    showNamespace,
    prompt: opts.prompt ?? `${noun}> `,
  });
  const items = state.items;
  const initial = Array.from(state.result.indices, (i) => items[i]);

  const interactive = opts.interactive ?? isInteractive();
  // nothing matches: --exit-0 says so at once, and so does a run without a terminal (no picker to type in)
  if (initial.length === 0 && (opts.exit0 || !interactive || (items.length === 0 && !opts.live))) {
    throw new KodamaError(
      items.length === 0 ? `no ${noun}s to pick from` : `no ${noun} matches ${JSON.stringify(query)}`,
      ExitCode.NOT_FOUND,
      items.length === 0 ? "check the namespace (-n, -A) and filters (-m, -l)" : "try a shorter --query",
    );
  }
  // one candidate: --select-1 takes it; without a terminal there is no choice to make either
  if (initial.length === 1 && (opts.selectOne || !interactive)) return [initial[0].payload];

  const picker = env("KODAMA_PICKER");
  if (!interactive) {
    const why = env("KODAMA_NO_PICKER")
      ? "the picker is disabled (KODAMA_NO_PICKER)"
      : "no terminal to pick on";
    throw choiceNeeded(initial.map((it) => showNamespace ? it.id : it.label), {
      noun,
      query,
      hint: `${why}; ${opts.flagHint ?? `narrow the match so that one ${noun} is left`}`,
    });
  }
  if (picker === "fzf") {
    const { fzfPick, nsNameQuery } = await import("./fzf.ts");
    // namespace/name lines: anchored terms as kodama matches them (on the name)
    const nsName = showNamespace && items.every((it) => it.id === `${it.namespace}/${it.label}`);
    const ids = await fzfPick(items.map((it) => it.id), {
      multi: opts.multi,
      query: nsName ? nsNameQuery(query) : query,
      prompt: opts.prompt ?? `${noun}> `,
    });
    const byId = new Map(items.map((it) => [it.id, it.payload]));
    return ids.map((id) => byId.get(id)).filter((p): p is T => p !== undefined);
  }

  const { drive } = await import("./driver.ts");
  const previewFn = opts.preview ? await opts.preview() : undefined;
  const preview = previewFn !== undefined && (opts.previewShown ?? await previewDefault());

  const abort = new AbortController();
  const live = opts.live
    ? (push: (e: LiveEvent<T>) => void) => {
      opts.live!(push, abort.signal);
      return () => abort.abort();
    }
    : undefined;
  const { colorEnabled } = await import("../ui/color.ts");
  try {
    const chosen = await drive(preview ? state : { ...state, previewPref: false }, {
      color: colorEnabled("stderr"),
      preview: previewFn,
      live,
      // compile the matching hot paths while the user reads the first screen, a step per timer tick
      onIdle: items.length > 5000 ? () => warmUp(state.matcher) : undefined,
    });
    return chosen.map((it) => it.payload);
  } finally {
    abort.abort();
  }
}

function warmUp(m: { warmStep(i: number): boolean }, i = 0): void {
  if (m.warmStep(i)) setTimeout(() => warmUp(m, i + 1), 0);
}

async function previewDefault(): Promise<boolean> {
  try {
    // through the configuration's cache: the YAML parser and zod load only when a file changed
    const { loadConfigCached } = await import("../config/cache.ts");
    return (await loadConfigCached()).values.picker.preview;
  } catch {
    return true;
  }
}
