/**
 * Helpers for the two-way sync's black-box tests: one session's pod workspace read and written through
 * `kodama attach --command`, waits that print the sync log when they time out, and the md5 listing of
 * both sides that "no version lost" is checked with.
 */
import { assertEquals } from "@kodama/test-assert";
import { waitUntil } from "../cluster/harness.ts";
import type { SessionWorld } from "./_session.ts";

export interface SyncSide {
  /** a file of the pod's workspace, or undefined when it is not there */
  podCat(rel: string): Promise<string | undefined>;
  /** a shell script run in the pod's workspace; it must succeed */
  pod(script: string): Promise<void>;
  /** waitUntil, whose time-out error ends with the end of the sync log */
  until(what: string, fn: () => Promise<boolean>, ms?: number): Promise<void>;
  /** every file of both sides (without .git, .kodama and temporary pulls) with its md5, sorted */
  sums(root: string): Promise<{ local: string; pod: string }>;
  log(): Promise<string>;
}

export const readLocal = (p: string): Promise<string | undefined> =>
  Deno.readTextFile(p).catch(() => undefined);

export function syncSide(w: SessionWorld, name: string): SyncSide {
  const log = () => Deno.readTextFile(`${w.home}/sync/${name}/sync.log`).catch(() => "(no log)");
  return {
    log,
    async podCat(rel) {
      const r = await w.sh(name, `cat /workspace/${rel} 2>/dev/null || echo @@absent`);
      return r.stdout.includes("@@absent") ? undefined : r.stdout;
    },
    async pod(script) {
      const r = await w.sh(name, `cd /workspace && ${script}`);
      assertEquals(r.code, 0, r.stderr);
    },
    async until(what, fn, ms = 30_000) {
      try {
        await waitUntil(fn, ms, what);
      } catch (e) {
        throw new Error(`${(e as Error).message}; sync.log:\n${(await log()).slice(-3000)}`);
      }
    },
    async sums(root) {
      const script =
        `cd "$1" && find . \\( -path ./.git -o -path ./.kodama \\) -prune -o -type f ! -name '.kodama-pull-*' -exec md5sum {} + | sort`;
      const l = new Deno.Command("sh", { args: ["-c", script, "sh", root], stdout: "piped" }).outputSync();
      const p = await w.sh(name, `set -- /workspace\n${script}`);
      return { local: new TextDecoder().decode(l.stdout), pod: p.stdout };
    },
  };
}
