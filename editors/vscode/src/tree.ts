/**
 * The Explorer's "Kodama" view: sessions (kept current by `kodama list -o json -w`, one JSON object
 * per change) and the pods you recently worked in. The model is plain data; extension.ts renders it.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { type Conn, sessionListArgs } from "./argv.ts";
import { type CliConfig, errorText } from "./cli.ts";
import type { SessionObj } from "./handlers.ts";
import { JsonStream } from "./jsonstream.ts";

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

/** A running `kodama list -o json --watch` feeding a SessionModel. */
export interface SessionWatch {
  /** the watch ended: its exit code and kodama's error line (undefined when it was stopped) */
  readonly ended: Promise<{ code: number; error?: string } | undefined>;
  stop(): void;
}

/**
 * Start `kodama list -o json --watch` (one JSON object per change, no polling) and apply each object to
 * `model`; `changed` runs after each change to the model.
 */
export function watchSessions(
  cli: CliConfig,
  conn: Conn,
  model: SessionModel,
  changed: () => void,
): SessionWatch {
  const child = spawn(cli.command, [...(cli.prefix ?? []), ...sessionListArgs(conn, true)], {
    cwd: cli.cwd,
    env: cli.env ? { ...process.env, ...cli.env } : undefined,
    shell: false,
    windowsHide: true,
  });
  let stopped = false;
  const js = new JsonStream();
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    let any = false;
    for (const o of js.push(d)) any = model.apply(o as SessionObj) || any;
    if (any) changed();
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-65536);
  });
  const ended = new Promise<{ code: number; error?: string } | undefined>((resolve) => {
    child.on("error", (e) => resolve(stopped ? undefined : { code: 127, error: e.message }));
    child.on("exit", (code) => {
      if (stopped) return resolve(undefined);
      resolve({
        code: code ?? 1,
        error: code ? errorText(stderr, `kodama list --watch ended (exit ${code})`) : undefined,
      });
    });
  });
  return {
    ended,
    stop() {
      stopped = true;
      child.kill();
    },
  };
}
