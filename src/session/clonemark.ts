/**
 * The marker that proves a storage driver's clone copied the volumes (clone.ts writes it into SRC, start.ts
 * checks it in DST's volumes before DST's pod): below both, so start never imports clone.
 */
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import type { Sink } from "../base/sink.ts";
import { runIn, withCopyPod } from "./snapshot.ts";
import type { SessionSpec } from "./spec.ts";

/** DST's volumes came up without SRC's marker: the storage driver did not copy them. */
export class CloneNotCopied extends KodamaError {
  constructor(detail: string) {
    super(`the storage driver did not copy the volumes (${detail})`, ExitCode.FAILED);
  }
}

const MARKER = ".kodama-clone-marker";

/** The marker's places: the workspace's git dir when there is one (out of `git status`), else its root; home. */
export function markerScript(
  token: string,
  root: { workspace: string; home: string },
  action: "write" | "check" | "remove",
): string {
  const ws = root.workspace, home = root.home;
  const pick =
    `if [ -d "${ws}/.git" ]; then w="${ws}/.git/kodama-clone-marker"; else w="${ws}/${MARKER}"; fi`;
  if (action === "write") {
    return [
      `set -e`,
      pick,
      `printf %s '${token}' > "$w"`,
      `printf %s '${token}' > "${home}/${MARKER}"`,
      `sync`,
    ].join("\n");
  }
  if (action === "remove") return [pick, `rm -f "$w" "${home}/${MARKER}"`].join("\n");
  return [
    pick,
    `[ "$(cat "$w" 2>/dev/null)" = '${token}' ] || { echo "kodama-clone: the workspace volume does not have the source's marker" >&2; exit 9; }`,
    `[ "$(cat "${home}/${MARKER}" 2>/dev/null)" = '${token}' ] || { echo "kodama-clone: the home volume does not have the source's marker" >&2; exit 9; }`,
    `rm -f "$w" "${home}/${MARKER}"`,
  ].join("\n");
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
          [
            "sh",
            "-c",
            markerScript(token, { workspace: "/kodama-src/workspace", home: "/kodama-src/home" }, "check"),
          ],
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
