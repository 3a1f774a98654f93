/** The `kodama cp` feature: one copy, or --all into every matching Running pod. */
import type { Kube } from "../kube/client.ts";
import { stderrSink } from "../base/sink.ts";
import { allDestination, copy, parseCpSpec } from "./cp.ts";
import { fanoutExitCode, tally } from "./summary.ts";
import { findPods, type TargetFlags } from "./target.ts";
import { noRunningPods } from "./notrunning.ts";
import { withInterrupt } from "../base/proc/proc.ts";

export async function cpCommand(
  kube: Kube,
  t: TargetFlags,
  src: string,
  dst: string,
  o: { container?: string; all?: boolean; progress?: boolean },
): Promise<number> {
  return await withInterrupt(async (signal) => {
    const namespace = t.namespace ?? kube.namespace;
    let pods;
    if (o.all) {
      // `cp --all ./f deploy/api:/tmp/`: every pod of it; `load:/tmp/f` is refused before any request
      allDestination(dst);
      const d = parseCpSpec(dst);
      const resource = d.kind === "pod" ? d.resource : undefined;
      const tt = { ...t, ...(resource ? { resource } : {}), includeNotReady: false };
      pods = await findPods(kube, tt);
      if (pods.length === 0) {
        throw await noRunningPods(kube, tt, { container: o.container, what: "cannot copy" });
      }
    }
    const r = await copy(kube, src, dst, {
      container: o.container,
      namespace,
      pods,
      progress: !!o.progress && Deno.stderr.isTerminal(),
      signal,
      err: stderrSink,
    });
    if (signal.aborted) return 130;
    return r ? fanoutExitCode(tally(r.results)) : 0;
  });
}
