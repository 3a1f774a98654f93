/**
 * Local session state: `~/.kodama/sessions/NAME.yaml` (KODAMA_HOME overrides), mode 0600, written
 * atomically under a lock. It caches what the cluster cannot hold — which context and server a session
 * lives on, and (for later features) the local sync directory — and the last status seen. The cluster
 * stays the source of truth for what exists: `list` and `attach` never need this file. It never holds
 * a secret value: only the names of the env variables.
 */
import { join } from "../../base/fs/fspath.ts";
import { acquireLock, atomicWrite } from "../../config/atomic.ts";
import { kodamaHome } from "../../config/paths.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { namesOf, type SessionSpec } from "../spec/spec.ts";
import { parseStateYaml, stateYaml } from "./statefile.ts";
import type { SessionStatus } from "./status.ts";

/** One repository of a session with several, as this machine recorded it. */
export interface StateRepo {
  name: string;
  /** the local repository given to `start` (its root; a URL for a read-only one) */
  path: string;
  readOnly?: boolean;
  branch?: string;
  baseBranch?: string;
  commit?: string;
}

export interface SessionState {
  name: string;
  namespace: string;
  /** the kubeconfig context and API server it was started on */
  context: string;
  server: string;
  image: string;
  resources: { cpu: string; memory: string };
  /** the session's Job (its pod's name is the cluster's: found by the session's labels) */
  podName: string;
  workspacePVC: string;
  claudeHomePVC: string;
  envSecret: string;
  /** names only */
  envVars: string[];
  /** the repository cloned into the workspace (`start --repo`; a local one: its path on this machine) */
  repo?: string;
  /** the session's branch (the clone's report once known, else the one asked for or made) */
  branch?: string;
  /** the branch a new branch starts from (`--base-branch`; unset: the remote's default) */
  baseBranch?: string;
  /** the session's branch is one kodama made for it (git.autoBranch, no `--branch`) */
  autoBranch: boolean;
  /** the commit the clone checked out */
  commitHash?: string;
  /**
   * several repositories (`start --repo A --repo B`): each one's directory in the workspace, where it is on
   * this machine (fetch and land bring its work there: only the paths given to `start`), its session branch
   */
  repos?: StateRepo[];
  /** this machine's file sync of the session */
  sync: { enabled: boolean; localPath?: string; mode?: string };
  /** who started it (the user the API server reports, else the client certificate's CN) */
  owner?: string;
  status: SessionStatus;
  createdAt: string;
  updatedAt: string;
}

const stamp = (d = new Date()) => d.toISOString().replace(/\.\d+Z$/, "Z");

export function sessionsDir(home = kodamaHome()): string {
  return join(home, "sessions");
}

export function statePath(name: string, home?: string): string {
  return join(sessionsDir(home), `${name}.yaml`);
}

export function stateFromSpec(
  spec: SessionSpec,
  where: { context: string; server: string },
  status: SessionStatus,
  now = new Date(),
): SessionState {
  const n = namesOf(spec);
  return {
    name: spec.name,
    namespace: spec.namespace,
    context: where.context,
    server: where.server,
    image: spec.image,
    resources: { cpu: spec.cpu, memory: spec.memory },
    podName: n.workload,
    workspacePVC: n.workspacePVC,
    claudeHomePVC: n.homePVC,
    envSecret: n.envSecret,
    envVars: spec.envVars,
    ...gitFields(spec),
    sync: { enabled: false },
    ...(spec.owner ? { owner: spec.owner } : {}),
    status,
    createdAt: spec.createdAt,
    updatedAt: stamp(now),
  };
}

/** repo, branch, baseBranch and autoBranch from the recorded git settings (the clone's report comes later). */
export function gitFields(
  spec: SessionSpec,
): Pick<SessionState, "repo" | "branch" | "baseBranch" | "autoBranch" | "repos"> {
  if (spec.repos?.length) {
    return {
      autoBranch: spec.repos.some((r) => r.git.newBranch !== undefined && r.git.branch === undefined),
      repos: spec.repos.map((r) => {
        const branch = r.git.newBranch ?? r.git.branch;
        return {
          name: r.name,
          path: r.git.repo,
          ...(r.readOnly ? { readOnly: true } : {}),
          ...(branch ? { branch } : {}),
          ...(r.git.base ? { baseBranch: r.git.base } : {}),
        };
      }),
    };
  }
  const g = spec.git;
  if (!g) return { autoBranch: false };
  const branch = g.newBranch ?? g.branch;
  return {
    repo: g.repo,
    ...(branch ? { branch } : {}),
    ...(g.base ? { baseBranch: g.base } : {}),
    autoBranch: g.newBranch !== undefined && g.branch === undefined,
  };
}

export async function saveState(s: SessionState, home?: string): Promise<void> {
  const path = statePath(s.name, home);
  await Deno.mkdir(sessionsDir(home), { recursive: true, mode: 0o700 });
  const release = await acquireLock(path);
  try {
    await atomicWrite(
      path,
      `# kodama session state (a local cache; the cluster is the source of truth)\n${
        stateYaml(s as unknown as Record<string, unknown>)
      }`,
    );
  } finally {
    await release();
  }
}

/** Update some fields of an existing state file (no-op when there is none). */
export async function updateState(name: string, patch: Partial<SessionState>, home?: string): Promise<void> {
  const cur = await loadState(name, home);
  if (!cur) return;
  await saveState({ ...cur, ...patch, updatedAt: stamp() }, home);
}

/**
 * A command saw sessions in the cluster: the state files of those that live where this machine
 * started them get the status, branch and commit seen, and a fresh `updatedAt`. Best effort: a state
 * file that cannot be written never fails the command that looked.
 */
export async function observeSessions(
  where: { context: string; server: string },
  views: { name: string; namespace: string; status: SessionStatus; branch?: string; commit?: string }[],
  home?: string,
): Promise<void> {
  if (!views.length) return;
  try {
    await Deno.stat(sessionsDir(home));
  } catch {
    return;
  }
  await Promise.all(views.map(async (v) => {
    try {
      const cur = await loadState(v.name, home);
      if (
        !cur || cur.namespace !== v.namespace || cur.context !== where.context || cur.server !== where.server
      ) {
        return;
      }
      await saveState({
        ...cur,
        status: v.status,
        ...(v.branch ? { branch: v.branch } : {}),
        ...(v.commit ? { commitHash: v.commit } : {}),
        updatedAt: stamp(),
      }, home);
    } catch {
      // a cache: the next command that looks tries again
    }
  }));
}

export async function loadState(name: string, home?: string): Promise<SessionState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(statePath(name, home));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new KodamaError(`cannot read ${statePath(name, home)}: ${(e as Error).message}`, ExitCode.FAILED);
  }
  try {
    // the layout saveState writes is read without the yaml package (./statefile.ts); any other with it
    const s = (parseStateYaml(text) ?? (await import("yaml")).parse(text)) as SessionState;
    return s && typeof s === "object" && typeof s.name === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Every state file (unreadable ones are skipped). */
export async function listStates(home?: string): Promise<SessionState[]> {
  const out: SessionState[] = [];
  try {
    for await (const e of Deno.readDir(sessionsDir(home))) {
      if (!e.isFile || !e.name.endsWith(".yaml")) continue;
      const s = await loadState(e.name.slice(0, -5), home);
      if (s) out.push(s);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * What else this machine keeps of a session beside its state file, gone with it: `NAME.forge.json`, the
 * review threads `agent run --from-pr` handed over (src/agent/forge/replies.ts).
 */
const SIDE_FILES = [".forge.json"];

/** Remove a state file (and the session's side files); false when there was none. */
export async function removeState(name: string, home?: string): Promise<boolean> {
  for (const ext of SIDE_FILES) await Deno.remove(join(sessionsDir(home), `${name}${ext}`)).catch(() => {});
  try {
    await Deno.remove(statePath(name, home));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
