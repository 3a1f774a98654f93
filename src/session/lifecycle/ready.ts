/**
 * What `start` and `resume` share once the pod is made, in a module of its own so that `resume` does not
 * load `start`'s planning (env files, templates, git, editor configs) for it: the phase lines, the wait
 * for the pod (`waitReady`), the steps run once it is ready (`AFTER_READY`), and marking volumes as kept.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../../kube/client.ts";
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { formatDuration } from "../../base/duration.ts";
import type { Sink } from "../../base/sink.ts";
import { ProgressRenderer } from "../../ui/progress.ts";
import { LABEL_RETAINED } from "../spec/names.ts";
import { PHASE_LABELS, PHASES } from "./progress.ts";
import type { Shared } from "./shared.ts";
import type { SessionSpec } from "../spec/spec.ts";
import type { StartIO } from "./startio.ts";
import { updateState } from "../state/state.ts";
import { waitForSession } from "./wait.ts";

/** Show the phases as they are reached (animated on a terminal, one line each otherwise). */
export function phaseReporter(io: StartIO, started = Date.now()) {
  const live = new ProgressRenderer(io.err, io.tty, started);
  const lines = live.wrap(io.err);
  const shown = new Set<string>();
  return {
    report(reached: Set<string>, waiting?: string) {
      // phases in order, up to the last one reached (the test server reaches several at once)
      const last = Math.max(-1, ...PHASES.map((p, i) => (reached.has(p) ? i : -1)));
      for (let i = 0; i <= last; i++) {
        const p = PHASES[i];
        if (shown.has(p)) continue;
        shown.add(p);
        lines.write(`${io.tty ? "✓ " : ""}${PHASE_LABELS[p]} (${formatDuration(Date.now() - started)})\n`);
      }
      const next = PHASES.find((p) => !reached.has(p));
      if (!next || next === "created") return;
      const specific = waiting && waiting !== PHASE_LABELS[next];
      // on a terminal the live line always says what is next; a log gets a line only for a real reason
      if (io.tty || specific) live.update(`waiting for ${specific ? waiting : PHASE_LABELS[next]}`);
    },
    done: () => live.done(),
  };
}

/** Wait for the pod and report the outcome; throws exit 1 (failed), 5 (timeout) or 130 (interrupted). */
export async function waitReady(
  kube: Kube,
  spec: SessionSpec,
  o: {
    timeoutMs: number;
    signal: AbortSignal;
    io: StartIO;
    started?: number;
    verb: string;
    /** the reporter the steps before already wrote to (its lines are not repeated) */
    phases?: ReturnType<typeof phaseReporter>;
    /** a group's replicas: their periodic reads of the namespace's events are one */
    shared?: Shared;
    /** once the pod's watch has answered (see waitForSession) */
    onWatching?: () => void;
    /** given: the pod as the watch saw it ready goes here (the steps after need not read it again) */
    got?: { pod?: V1Pod };
  },
): Promise<void> {
  const phases = o.phases ?? phaseReporter(o.io, o.started);
  phases.report(new Set(["created"]));
  let res;
  try {
    res = await waitForSession(kube, spec.namespace, spec.name, {
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      onProgress: (reached, waiting) => phases.report(reached, waiting),
      ...(o.onWatching ? { onWatching: o.onWatching } : {}),
      ...(o.shared
        ? {
          listEvents: () =>
            o.shared!.recent(
              `events\0${spec.namespace}`,
              1500,
              async () => (await kube.listObjects<CoreV1Event>("events", spec.namespace)).items,
            ),
        }
        : {}),
    });
  } finally {
    phases.done();
  }
  if (res.outcome === "ready" || res.outcome === "interrupted") {
    if (o.got && res.pod) o.got.pod = res.pod;
    if (res.outcome === "interrupted") throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
    return;
  }
  if (res.events) o.io.err.write(`recent events:\n${res.events.replace(/^(?=.)/gm, "  ")}`);
  const left =
    `the session is left as it is: look with \`kodama session get ${spec.name}\`, remove with \`kodama delete ${spec.name}\``;
  if (res.outcome === "failed" && res.refused) {
    // the API server refused the Job's pod (a quota, Pod Security): as a create of it would have said it
    const { quotaHint } = await import("../../kube/errors.ts");
    const { podSecurityError } = await import("./podsecurity.ts");
    const msg = res.message ?? "";
    throw podSecurityError(
      new KodamaError(
        `forbidden: ${msg}`,
        ExitCode.FORBIDDEN,
        quotaHint(msg, spec.namespace) ?? `the session's Job could not create its pod; ${left}`,
      ),
      spec.namespace,
      { runAsUser: spec.sandbox?.runAsUser, sidecars: !!spec.sidecars?.length },
    );
  }
  if (res.outcome === "failed") {
    // a failed clone says why in git's own words (the init container's log)
    const clone = res.pod && spec.git
      ? await (await import("../git/gitrun.ts")).cloneFailure(kube, spec, res.pod).catch(() => undefined)
      : undefined;
    throw new KodamaError(
      `session ${spec.name} did not ${o.verb}: ${clone ?? res.message}`,
      ExitCode.FAILED,
      left,
    );
  }
  throw new KodamaError(
    `timed out after ${
      formatDuration(o.timeoutMs)
    }: session ${spec.name} is still waiting for ${res.message}`,
    ExitCode.TIMEOUT,
    `raise --timeout (default session.readyTimeout); ${left}`,
  );
}

/** Steps run once the pod is ready; later features (sync, agent runs) add theirs here. */
export const AFTER_READY:
  ((r: { kube: Kube; spec: SessionSpec; io: StartIO; signal: AbortSignal; got?: { pod?: V1Pod } }) => Promise<
    void
  >)[] = [
    // what the clone container checked out (or that it kept the workspace), onto the workspace volume
    async ({ kube, spec, io, got }) => {
      if (!spec.git && !spec.repos?.length) return;
      const { recordClone } = await import("../git/gitrun.ts");
      const rep = await recordClone(kube, spec, io, got);
      if (rep?.branch || rep?.commit) {
        await updateState(spec.name, {
          ...(rep.branch ? { branch: rep.branch } : {}),
          ...(rep.commit ? { commitHash: rep.commit } : {}),
        }).catch(() => {});
      }
    },
  ];

/**
 * Mark volumes as kept from a session that is gone: `list` ignores them, a new `start` adopts them.
 * Without `err` a failure throws (delete stops before removing anything); with it, it is a warning.
 */
export async function retainVolumes(
  kube: KubeObjects,
  ns: string,
  names: string[],
  err?: Sink,
): Promise<void> {
  for (const v of names) {
    try {
      await kube.patchObject("persistentvolumeclaims", ns, v, {
        metadata: { labels: { [LABEL_RETAINED]: "true" } },
      });
    } catch (e) {
      if (!err) throw e;
      err.write(`warning: could not mark PVC ${v} as kept: ${(e as Error).message}\n`);
    }
  }
}
