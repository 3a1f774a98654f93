/**
 * `kodama gc`: delete the sessions whose `--ttl` has passed (lifetime.ts records it in the settings).
 * `--dry-run` lists them and changes nothing; on a terminal it asks, without one it needs `--force`.
 * Volumes are kept (marked, as `delete` keeps them) unless `--purge`.
 */
import type { Kube } from "../../kube/client.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { renderTable } from "../../ui/table.ts";
import { listSessions } from "../state/cluster.ts";
import { deleteSession } from "./lifecycle.ts";
import { gcBudgets } from "./protect.ts";
import { expiredSessions, expiresText, statusText } from "../state/list.ts";

export interface GcOptions {
  dryRun?: boolean;
  force?: boolean;
  purge?: boolean;
  /** stdin and stderr are terminals (a question can be asked) */
  interactive: boolean;
  confirm: (message: string) => Promise<boolean>;
  out: Sink;
  err: Sink;
  now?: number;
}

export async function gcSessions(kube: Kube, namespace: string | undefined, o: GcOptions): Promise<number> {
  const where = namespace === undefined ? "any namespace" : `namespace ${namespace}`;
  let listed;
  try {
    listed = await listSessions(kube, namespace);
  } catch (e) {
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) {
      throw new KodamaError(
        `gc: cannot list sessions in ${where}: ${e.message}`,
        ExitCode.FORBIDDEN,
        "gc needs list on pods and persistentvolumeclaims there (and delete to remove them); ask for a Role, or use -n",
      );
    }
    throw e;
  }
  const now = o.now ?? Date.now();
  // PodDisruptionBudgets (session.protectRunning) whose session.protectFor has passed: a drain may proceed
  if (!o.dryRun) {
    for (const b of await gcBudgets(kube, namespace, now).catch(() => [])) {
      o.err.write(`removed poddisruptionbudget ${b} (its protect-until has passed)\n`);
    }
  }
  const expired = expiredSessions(listed.sessions, now);
  if (!expired.length) {
    o.err.write(`no expired sessions in ${where}\n`);
    return ExitCode.OK;
  }
  const table = renderTable(
    ["NAME", "NAMESPACE", "STATUS", "EXPIRES"],
    expired.map((v) => [v.name, v.namespace, statusText(v, now), expiresText(v, now)]),
  );
  const volumes = o.purge ? "their volumes too (--purge: the data is lost)" : "their volumes are kept";
  if (o.dryRun) {
    o.out.write(table);
    o.err.write(
      `would delete ${expired.length} expired session${expired.length === 1 ? "" : "s"}; ${volumes}\n`,
    );
    return ExitCode.OK;
  }
  if (!o.force) {
    if (!o.interactive) {
      throw usageError(
        `not deleting ${expired.length} expired session${
          expired.length === 1 ? "" : "s"
        } without confirmation: no terminal to ask on`,
        "add --force (-f), or look first with --dry-run",
      );
    }
    o.err.write(table);
    if (!await o.confirm(`delete these ${expired.length} sessions? ${volumes}`)) {
      o.err.write("nothing deleted\n");
      return ExitCode.OK;
    }
  }
  let failed = 0;
  for (const v of expired) {
    try {
      await deleteSession(kube, v.namespace, v.name, {
        force: true,
        purge: o.purge,
        interactive: false,
        confirm: () => Promise.resolve(true),
        out: o.out,
        err: o.err,
      });
    } catch (e) {
      failed++;
      o.err.write(`error: session ${v.name}: ${(e as Error).message}\n`);
    }
  }
  return failed ? ExitCode.FAILED : ExitCode.OK;
}
