/** The copies a one-way mode keeps of the versions it replaces (sync status points at them). */
import { dirname, join } from "node:path";
import { symlinkUnder } from "../../base/fs/safewrite.ts";
import type { KeepCopy } from "./endpoint.ts";
import { paths, type SyncConfig } from "./store.ts";

/** Keep a copy of a version a one-way mode replaces: `$KODAMA_HOME/sync/NAME/kept/STAMP/PATH`. */
export async function keepCopy(
  c: SyncConfig,
  home: string | undefined,
  stamp: string,
  rel: string,
  data: Uint8Array | string,
): Promise<string> {
  const top = join(paths(c.name, home).dir, "kept", stamp);
  const to = join(top, rel);
  await Deno.mkdir(dirname(to), { recursive: true, mode: 0o700 });
  // a kept link that would lead out of its copy (or into .git) is kept as a file holding its target
  const link = typeof data === "string"
    ? await symlinkUnder(top, to, data).then(() => true, () => false)
    : false;
  if (!link) {
    await Deno.writeFile(to, typeof data === "string" ? new TextEncoder().encode(data) : data, {
      mode: 0o600,
    });
  }
  return to;
}

/** keepCopy for one cycle: every copy it keeps goes under one stamp. */
export function keeper(c: SyncConfig, home: string | undefined): KeepCopy {
  const stamp = new Date().toISOString().replaceAll(":", "-");
  return (rel, data) => keepCopy(c, home, stamp, rel, data);
}
