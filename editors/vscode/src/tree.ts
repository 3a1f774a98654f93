/**
 * The Explorer's "Kodama" view: sessions (kept current by `kodama list -o json -w`, one JSON object
 * per change) and the pods you recently worked in. The model is plain data; extension.ts renders it.
 */
import type { SessionObj } from "./handlers.ts";

export interface SessionRow {
  name: string;
  namespace: string;
  phase: string;
  branch?: string;
}

/** Sessions by namespace/name, updated from the watch's objects (phase Deleted removes one). */
export class SessionModel {
  #rows = new Map<string, SessionRow>();

  reset(items: SessionObj[]): void {
    this.#rows.clear();
    for (const s of items) this.apply(s);
  }

  /** One object from the watch; returns whether the model changed. */
  apply(s: SessionObj): boolean {
    if (!s?.metadata?.name) return false;
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    if (s.status?.phase === "Deleted") return this.#rows.delete(key);
    const row: SessionRow = {
      name: s.metadata.name,
      namespace: s.metadata.namespace,
      phase: s.status?.phase ?? "Unknown",
      ...(s.status?.branch ? { branch: s.status.branch } : {}),
    };
    const before = this.#rows.get(key);
    this.#rows.set(key, row);
    return JSON.stringify(before) !== JSON.stringify(row);
  }

  rows(): SessionRow[] {
    return [...this.#rows.values()].sort((a, b) =>
      a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace)
    );
  }
}

/** The icon of a session's phase (codicons). */
export function phaseIcon(phase: string): string {
  switch (phase) {
    case "Running":
      return "vm-running";
    case "Stopped":
      return "debug-pause";
    case "Failed":
      return "error";
    default:
      return "loading~spin";
  }
}
