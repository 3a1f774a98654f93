/**
 * The marker that proves a storage driver's clone copied the volumes (clone.ts writes it into SRC, start.ts
 * checks it in DST's volumes before DST's pod): below both, so start never imports clone.
 */
import type { Kube } from "../../kube/client.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { runIn, withCopyPod } from "./snapshot.ts";
import type { SessionSpec } from "../spec/spec.ts";
import CLONEMARK from "../pod/clonemark.sh" with { type: "text" };

/** DST's volumes came up without SRC's marker: the storage driver did not copy them. */
export class CloneNotCopied extends KodamaError {
  constructor(detail: string) {
    super(`the storage driver did not copy the volumes (${detail})`, ExitCode.FAILED);
  }
}

/**
 * The marker's command (pod/clonemark.sh): written into the workspace's git dir when there is one (out of
 * `git status`), else its root, and into home; `check` wants both (exit 9) and then removes them.
 */
export function markerCommand(
  token: string,
  /** workspace undefined: the session's own (`$KODAMA_WORKSPACE`, read in the pod) */
  root: { workspace?: string; home: string },
  action: "write" | "check" | "remove",
): string[] {
  return ["sh", "-c", CLONEMARK, "kodama-clone", action, token, root.workspace ?? "", root.home];
}

/** Before DST's pod: its cloned volumes must carry SRC's marker (start.ts calls it). */
export async function verifyClone(
  kube: Kube,
  spec: SessionSpec,
  token: string,
  o: { timeoutMs: number; err: Sink },
): Promise<void> {
  o.err.write(`checking the cloned volumes…\n`);
  try {
    await withCopyPod(
      kube,
      spec,
      { name: `kodama-restore-${spec.name}`, write: true, timeoutMs: o.timeoutMs },
      (pod) =>
        runIn(
          kube,
          spec.namespace,
          pod,
          markerCommand(token, { workspace: "/kodama-src/workspace", home: "/kodama-src/home" }, "check"),
          {
            what: "checking the clone",
          },
        ),
    );
  } catch (e) {
    const m = e instanceof Error ? /kodama-clone: ([^;\n]+)/.exec(e.message) : null;
    if (m) throw new CloneNotCopied(m[1]);
    throw e;
  }
}
