/**
 * `kodama list`'s AGENT column for runs nobody has looked at yet: the outcome is recorded on the workspace
 * volume when a run's status is read (runtruth.ts), so a session whose latest run ended unread would show
 * nothing. `list` reads those few sessions' runs itself (bounded: the newest sessions first, a short time
 * each), which also records the outcome for every later list, the web UI and MCP.
 */
import type { KubeObjects, KubeStreams } from "../../kube/seam.ts";
import type { SessionView } from "../../session/state/status.ts";
import { listRuns } from "../runs/agentrun.ts";
import { runNotes, runOutcome } from "./runtruth.ts";

/** The most sessions one `list` reads runs from. */
const MAX_SESSIONS = 8;
/** How long one session's read may take before `list` goes on without it. */
const READ_MS = 5_000;

/** Sessions whose latest run's outcome is not recorded, in a pod that can answer. */
export function unreadRuns(views: SessionView[]): SessionView[] {
  return views
    .filter((v) => v.agentRun && !v.agentOutcome && v.pod?.status?.phase === "Running")
    .sort((a, b) => (b.createdAt ?? "").localeCompare(a.createdAt ?? ""))
    .slice(0, MAX_SESSIONS);
}

/** Fill in `agentOutcome` of the sessions `unreadRuns` names (best effort: a slow pod keeps its `-`). */
export async function fillRunOutcomes(kube: KubeObjects & KubeStreams, views: SessionView[]): Promise<void> {
  await Promise.all(
    unreadRuns(views).map(async (v) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), READ_MS)));
      try {
        const runs = await Promise.race([listRuns(kube, v.pod!).catch(() => undefined), late]);
        const run = runs?.find((r) => r.id === v.agentRun);
        if (run) {
          // a running run says a wait on its model API: `running (429, retry 3/10 in 15s)`
          v.agentOutcome = run.state === "running"
            ? runOutcome(run)
            : [runOutcome(run), ...runNotes(run)].join("; ");
        }
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
