/**
 * Choosing among matched pods: none -> exit 3 naming the target; one -> it; several ->
 * `--all` (every pod), `--first` (first by name), the interactive picker (`--pick`, or a TTY),
 * or — without a TTY — exit 2 listing up to 10 candidates and the flags that decide.
 * A `TYPE/NAME` target (deploy/api, svc/web) picks its pod as kubectl does: the most active one.
 * `pickPods` is the generic picker (src/picker) over pods: their rows, preview and live list.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeObjects, KubePods } from "../kube/seam.ts";
import type { PickerItem, PickItemsOptions } from "../picker/mod.ts";
import { choiceNeeded } from "../picker/choice.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { nothingMatchedIn, type TargetFlags } from "./target.ts";
import { attachablePod } from "./resource.ts";

/** The choice flags as commands take them (`--all`, `--first`, `--pick`, `--multi`, `-q`, `-1`, `-0`). */
export interface ChoiceFlags {
  all?: boolean;
  first?: boolean;
  pick?: boolean;
  multi?: boolean;
  query?: string;
  selectOne?: boolean;
  exit0?: boolean;
}

export interface ChooseOptions extends ChoiceFlags {
  /** is there a terminal to draw the picker on (default: stdin and stderr are TTYs) */
  interactive?: boolean;
  /** what decides without a terminal (default: narrow it, or --all / --first / --pick) */
  flagHint?: string;
}

const AMBIGUOUS_HINT =
  "narrow it with -m/--pod/-l, or choose: --all (every pod), --first (first by name), --pick (interactive picker)";

export function podId(p: V1Pod): string {
  return `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
}

export function podItem(p: V1Pod): PickerItem<V1Pod> {
  return { id: podId(p), label: p.metadata?.name ?? "?", namespace: p.metadata?.namespace, payload: p };
}

/** Namespaces are shown (and matched, as `namespace/name`) with -A or when the pods span namespaces. */
export function showsNamespace(pods: V1Pod[], allNamespaces?: boolean): boolean {
  return !!allNamespaces || new Set(pods.map((p) => p.metadata?.namespace)).size > 1;
}

/** The exit-2 error for an ambiguous match without a TTY (pure, unit-tested). */
export function ambiguousError(pods: V1Pod[], t: TargetFlags, hint = AMBIGUOUS_HINT): KodamaError {
  const withNs = showsNamespace(pods, t.allNamespaces);
  return choiceNeeded(pods.map((p) => withNs ? podId(p) : p.metadata?.name ?? "?"), { noun: "pod", hint });
}

export type WatchEvent = "ADDED" | "MODIFIED" | "DELETED";

export interface PickPodsOptions extends Omit<PickItemsOptions<V1Pod>, "preview" | "previewShown" | "live"> {
  /** keep the list live while the picker is open (e.g. `(on, signal) => kube.watchPods(ns, q, on, signal)`) */
  watch?: (onEvent: (type: WatchEvent, pod: V1Pod) => void, signal: AbortSignal) => Promise<void>;
  /** show the preview panel (default: config `picker.preview`, true) */
  preview?: boolean;
}

/** The picker over pods: NAME (and NAMESPACE) rows, the pod preview, a live list with `watch`. */
export async function pickPods(pods: V1Pod[], opts: PickPodsOptions = {}): Promise<V1Pod[]> {
  const showNamespace = showsNamespace(pods, opts.allNamespaces || opts.showNamespace);
  const watch = opts.watch;
  const { pickItems } = await import("../picker/mod.ts");
  return await pickItems(pods.map(podItem), {
    ...opts,
    noun: opts.noun ?? "pod",
    showNamespace,
    previewShown: opts.preview,
    preview: async () => {
      const { podPreview } = await import("./preview.ts");
      return (it) => podPreview(it.payload);
    },
    live: watch
      ? (push, signal) => {
        watch((type, pod) => {
          if (type === "DELETED") push({ type: "remove", ids: [podId(pod)] });
          else push({ type: "upsert", items: [podItem(pod)] });
        }, signal).catch(() => {/* the list just stops being live */});
      }
      : undefined,
  });
}

export async function choosePods(
  kube: KubeObjects & KubePods,
  pods: V1Pod[],
  t: TargetFlags,
  o: ChooseOptions,
): Promise<V1Pod[]> {
  if (pods.length === 0) throw await nothingMatchedIn(kube, t);
  if (o.all) return pods;
  if (pods.length === 1 && !o.pick) return pods;
  // `exec deploy/api`: one pod, chosen like kubectl's attachablePodForObject (no picker, no ambiguity)
  if (t.resource && !o.pick && !o.multi) return [attachablePod(pods)!];
  if (o.first) {
    const sorted = [...pods].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
    return [sorted[0]];
  }
  // the picker's own test (stdin and stderr are terminals, KODAMA_NO_PICKER unset); loaded only here
  const interactive = o.interactive ?? (await import("../picker/mod.ts")).isInteractive();
  if (o.pick || interactive) {
    if (!interactive) {
      throw new KodamaError(
        "--pick needs a terminal (stdin and stderr must be TTYs)",
        ExitCode.USAGE,
        "use --all or --first, or narrow the match with -m/--pod",
      );
    }
    return await pickInteractive(pods, t, o);
  }
  throw ambiguousError(pods, t, o.flagHint);
}

async function pickInteractive(pods: V1Pod[], t: TargetFlags, o: ChooseOptions): Promise<V1Pod[]> {
  const chosen = await pickPods(pods, {
    multi: o.multi,
    query: o.query,
    selectOne: o.selectOne,
    exit0: o.exit0,
    allNamespaces: !!t.allNamespaces,
    interactive: true,
    flagHint: "use --all, --first, or narrow the match with -m/--pod",
  });
  if (!chosen || chosen.length === 0) {
    throw new KodamaError("no pod chosen", ExitCode.INTERRUPTED);
  }
  return chosen;
}
