/**
 * Local session state: `~/.kodama/sessions/NAME.yaml` (KODAMA_HOME overrides), mode 0600, written
 * atomically under a lock. It caches what the cluster cannot hold — which context and server a session
 * lives on, and (for later features) the local sync directory — and the last status seen. The cluster
 * stays the source of truth for what exists: `list` and `attach` never need this file. It never holds
 * a secret value: only the names of the env variables.
 */
import { join } from "node:path";
import { acquireLock, atomicWrite } from "../config/atomic.ts";
import { kodamaHome } from "../config/paths.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { namesOf, type SessionSpec } from "./spec.ts";
import type { SessionStatus } from "./status.ts";

export interface SessionState {
  name: string;
  namespace: string;
  /** the kubeconfig context and API server it was started on */
  context: string;
  server: string;
  image: string;
  resources: { cpu: string; memory: string };
  podName: string;
  workspacePVC: string;
  claudeHomePVC: string;
  envSecret: string;
  /** names only */
  envVars: string[];
  status: SessionStatus;
  createdAt: string;
  updatedAt: string;
}

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
    podName: n.pod,
    workspacePVC: n.workspacePVC,
    claudeHomePVC: n.homePVC,
    envSecret: n.envSecret,
    envVars: spec.envVars,
    status,
    createdAt: spec.createdAt,
    updatedAt: now.toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

export async function saveState(s: SessionState, home?: string): Promise<void> {
  const path = statePath(s.name, home);
  await Deno.mkdir(sessionsDir(home), { recursive: true, mode: 0o700 });
  const { stringify } = await import("yaml");
  const release = await acquireLock(path);
  try {
    await atomicWrite(
      path,
      `# kodama session state (a local cache; the cluster is the source of truth)\n${stringify(s)}`,
    );
  } finally {
    await release();
  }
}

/** Update some fields of an existing state file (no-op when there is none). */
export async function updateState(name: string, patch: Partial<SessionState>, home?: string): Promise<void> {
  const cur = await loadState(name, home);
  if (!cur) return;
  await saveState({ ...cur, ...patch, updatedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z") }, home);
}

export async function loadState(name: string, home?: string): Promise<SessionState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(statePath(name, home));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new KodamaError(`cannot read ${statePath(name, home)}: ${(e as Error).message}`, ExitCode.FAILED);
  }
  const { parse } = await import("yaml");
  try {
    const s = parse(text) as SessionState;
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

/** Remove a state file; false when there was none. */
export async function removeState(name: string, home?: string): Promise<boolean> {
  try {
    await Deno.remove(statePath(name, home));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
