/**
 * Choosing among matched pods: none -> exit 3 naming the target; one -> it; several ->
 * `--all` (every pod), `--first` (first by name), the interactive picker (`--pick`, or a TTY),
 * or — without a TTY — exit 2 listing up to 10 candidates and the flags that decide.
 * A `TYPE/NAME` target (deploy/api, svc/web) picks its pod as kubectl does: the most active one.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { nothingMatched, type TargetFlags } from "./target.ts";
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
}

const MAX_CANDIDATES = 10;

function podName(p: V1Pod, withNs: boolean): string {
  return withNs ? `${p.metadata?.namespace}/${p.metadata?.name}` : p.metadata?.name ?? "?";
}

/** The exit-2 error for an ambiguous match without a TTY (pure, unit-tested). */
export function ambiguousError(pods: V1Pod[], t: TargetFlags): KodamaError {
  const withNs = !!t.allNamespaces || new Set(pods.map((p) => p.metadata?.namespace)).size > 1;
  const names = pods.slice(0, MAX_CANDIDATES).map((p) => podName(p, withNs));
  const more = pods.length > MAX_CANDIDATES ? `, … (${pods.length - MAX_CANDIDATES} more)` : "";
  return new KodamaError(
    `${pods.length} pods match: ${names.join(", ")}${more}`,
    ExitCode.USAGE,
    "narrow it with -m/--pod/-l, or choose: --all (every pod), --first (first by name), --pick (interactive picker)",
  );
}

export async function choosePods(
  kube: Kube,
  pods: V1Pod[],
  t: TargetFlags,
  o: ChooseOptions,
): Promise<V1Pod[]> {
  if (pods.length === 0) {
    throw nothingMatched(t, kube.namespace);
  }
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
  throw ambiguousError(pods, t);
}

async function pickInteractive(pods: V1Pod[], t: TargetFlags, o: ChooseOptions): Promise<V1Pod[]> {
  const { pickPods } = await import("../picker/mod.ts");
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
