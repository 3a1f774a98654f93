/**
 * Sync per repository (issue 81.2): a session with several repositories syncs each one it writes on its
 * own, from the directory the person gave `start --repo` (this machine's state file) to the repository's
 * directory in the pod (`/workspace/NAME`). Each is a sync of its own, keyed `SESSION@REPO` (store.ts), so
 * every rule of one sync holds per directory: its manifest and ancestor, its conflicts, its overlap check,
 * its background process. A read-only (`:ro`) repository is never synced.
 *
 * `keysFor` turns what a command was given (a session, or one repository of it: `--repo`) into the syncs it
 * acts on; `unitConfig` is a repository's settings, made from the session's the first time.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import { ExitCode, KodamaError, notFound, usageError } from "../../base/errors.ts";
import type { SessionView } from "../state/status.ts";
import type { StateRepo } from "../state/state.ts";
import { checkRepoName, reposOf } from "../git/repos.ts";
import { repoConfig } from "./session.ts";
import {
  loadConfig,
  paths,
  repoOf,
  saveConfig,
  sessionOf,
  type SyncConfig,
  unitKey,
  unitsOf,
} from "./store.ts";

/** What a sync command acts on: the session, or one repository of it (`--repo REPO`: `SESSION@REPO`). */
export function syncTarget(session: string, repo?: string): string {
  return repo === undefined ? session : unitKey(session, checkRepoName(repo, "--repo"));
}

/** The repositories a session with several has, as recorded in its spec (undefined: one or none). */
export function specRepos(v: Pick<SessionView, "spec">): { name: string; readOnly?: boolean }[] | undefined {
  return v.spec?.repos?.length ? v.spec.repos : undefined;
}

/**
 * The syncs a command acts on: the session's own (one repository, or none), each repository it writes
 * (several), or the one `key` names (`SESSION@REPO`: `--repo`). A repository it does not have, or one
 * cloned read-only, is exit 2.
 */
export function keysFor(v: Pick<SessionView, "name" | "spec">, key: string): string[] {
  const repos = specRepos(v);
  const repo = repoOf(key);
  if (!repos) {
    if (repo) throw usageError(`session ${v.name} has one repository: give no --repo`);
    return [key];
  }
  const writable = repos.filter((r) => !r.readOnly);
  if (repo === undefined) return writable.map((r) => unitKey(v.name, r.name));
  const r = repos.find((r) => r.name === repo);
  if (!r) {
    throw usageError(
      `session ${v.name} has no repository ${JSON.stringify(repo)}`,
      `its repositories: ${repos.map((r) => r.name).join(", ")}`,
    );
  }
  if (r.readOnly) {
    throw usageError(`repository ${repo} of session ${v.name} is read-only (:ro): it is never synced`);
  }
  return [key];
}

/** Where a repository of the session is on this machine (its state file), or exit 3 saying so. */
async function localRepo(kube: Pick<Kube, "namespace">, session: string, repo: string): Promise<StateRepo> {
  const repos = await reposOf(session, kube.namespace);
  const r = repos?.find((r) => r.name === repo);
  if (!r) {
    throw notFound(
      `this machine has no record of where repository ${repo} of session ${session} is`,
      "sync its repositories from the machine that started the session",
    );
  }
  return r;
}

/**
 * A repository's sync settings: the recorded ones, else made from the session's (its local directory from
 * the state file, its pod directory `WORKDIR/REPO`). `path` is refused: a repository syncs from where it is.
 */
export async function unitConfig(
  kube: KubeSessions & Pick<Kube, "childFlags" | "namespace">,
  v: SessionView,
  key: string,
  path: string | undefined,
  cfg: Config,
): Promise<SyncConfig> {
  const repo = repoOf(key)!;
  if (path !== undefined) {
    throw usageError(
      `session ${v.name} has several repositories: each syncs from the directory given to start (give no PATH)`,
    );
  }
  const cur = await loadConfig(key);
  if (cur && cur.namespace === kube.namespace) return cur;
  if (!v.spec) throw new KodamaError(`session ${v.name} carries no recorded settings`, ExitCode.FAILED);
  const local = await localRepo(kube, sessionOf(key), repo);
  const st = await Deno.stat(local.path).catch(() => undefined);
  if (!st?.isDirectory) throw notFound(`${local.path} (repository ${repo}): no such directory`);
  const c = repoConfig(
    kube,
    { ...v.spec, namespace: kube.namespace },
    repo,
    local.path,
    cfg,
    [],
    v.pod?.metadata?.name,
  );
  await saveConfig(c);
  return c;
}

/**
 * The syncs this machine has settings for: the one `name` names (a session, or `SESSION@REPO`), else each
 * repository's of a session with several.
 */
export function syncedKeys(name: string, home?: string): string[] {
  const has = (k: string) => {
    try {
      return Deno.statSync(paths(k, home).config).isFile;
    } catch {
      return false;
    }
  };
  if (has(name) || repoOf(name)) return has(name) ? [name] : [];
  return unitsOf(name, home).filter((k) => repoOf(k) !== undefined && has(k));
}

/** A session that syncs each repository on its own, named without `--repo` where one path is meant: exit 2. */
export function needsRepo(name: string, verb: string): void {
  const units = repoOf(name) ? [] : syncedKeys(name).filter((k) => repoOf(k));
  if (!units.length) return;
  throw usageError(
    `session ${name} syncs each repository on its own: name the one for ${verb} with --repo`,
    `synced here: ${units.map((k) => repoOf(k)).join(", ")}`,
  );
}
