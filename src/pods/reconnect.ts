/**
 * What long-running pod commands (`logs -f`, `pods -w`, `wait`) share about API-server outages: the
 * `--reconnect-timeout` they give up after, and the one-line notes on stderr when the server goes away and
 * when it is back (src/kube/reach.ts decides when; every retry loop feeds it).
 */
import type { Kube } from "../kube/client.ts";
import { describeReachEvent, type ReachEvent } from "../kube/reach.ts";
import { parseDuration } from "../base/duration.ts";
import type { Sink } from "../base/sink.ts";

/**
 * Apply `--reconnect-timeout` (undefined keeps the default) and report outages: each note goes to `note`
 * (a progress line that draws it above itself), else to `err`. Returns the function that stops reporting.
 */
export function reportOutages(
  kube: Kube,
  o: { reconnectTimeout?: string; err: Sink; note?: (line: string) => void; prefix?: string },
): () => void {
  if (o.reconnectTimeout !== undefined) {
    kube.reach.giveUpMs = parseDuration(o.reconnectTimeout, "--reconnect-timeout");
  }
  return kube.reach.subscribe((e: ReachEvent) => {
    const line = (o.prefix ?? "") + describeReachEvent(e).trimEnd();
    if (o.note) o.note(line);
    else o.err.write(line + "\n");
  });
}
