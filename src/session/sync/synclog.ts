/**
 * The background sync's log file (`$KODAMA_HOME/sync/NAME/sync.log`, mode 0600): one line per event,
 * timestamped, and bounded — past `max` bytes (1 MiB; KODAMA_SYNC_LOG_MAX) the file is renamed to
 * `sync.log.1` (the one before is dropped) and a new one started, so a sync that runs for weeks keeps at
 * most twice that on disk. Repeats are kept out where they arise: a refusal is logged once per version of
 * the refused thing (local.ts, `LocalEndpoint.#say`).
 */
export const LOG_MAX = 1 << 20;

function logMax(): number {
  const v = Number(Deno.env.get("KODAMA_SYNC_LOG_MAX"));
  return Number.isInteger(v) && v > 0 ? v : LOG_MAX;
}

export interface SyncLog {
  write(line: string): void;
  close(): void;
}

/** Open `path` for appending; each `write` adds one timestamped line and rotates past `max` bytes. */
export function openSyncLog(path: string, max = logMax()): SyncLog {
  const enc = new TextEncoder();
  const open = () => Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  let file = open();
  let size = file.statSync().size;
  return {
    write(line: string) {
      try {
        const bytes = enc.encode(`${new Date().toISOString()} ${line.replaceAll("\n", "\\n")}\n`);
        if (size > 0 && size + bytes.length > max) {
          file.close();
          Deno.renameSync(path, `${path}.1`);
          file = open();
          size = 0;
        }
        file.writeSync(bytes);
        size += bytes.length;
      } catch { /* disk full, or the directory removed: keep syncing */ }
    },
    close() {
      try {
        file.close();
      } catch { /* closed already */ }
    },
  };
}
