/**
 * `start NAME --replace` keeps what was recorded (issue 66.2): the session's repository and branch, its sync
 * (on or off, directory, mode), image, limits, ServiceAccount and agent come from the session
 * being replaced — its spec (the pod annotation) and this machine's state file — unless a flag of this
 * command names that one setting (flags win per setting). A session with several repositories keeps them
 * all as recorded, once this machine's state file says each was cloned (`--repo` is then refused). The rule is pure (`keepRecorded`); start.ts reads
 * the record and says in one line what it kept.
 */
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import type { StartOptions } from "./start.ts";
import type { SessionSpec } from "../spec/spec.ts";
import { keepLocalRepos, multiRepoRefusal } from "../git/repos.ts";
import type { StateRepo } from "../state/state.ts";
import { usageError } from "../../base/errors.ts";

/** What a session had: its spec, and this machine's sync of it (undefined: this machine has no record). */
export interface Recorded {
  spec: SessionSpec;
  sync?: { enabled: boolean; localPath?: string; mode?: string };
  /**
   * its workspace holds its clone (the commit recorded after it): a session whose clone never finished
   * (a Failed start, the usual reason to replace) does not keep its repository
   */
  cloned?: boolean;
  /** this machine's record of its repositories (a session with several): their local paths */
  repos?: StateRepo[];
}

/** The options with the recorded settings no flag changes, and what was kept, as flags would say it. */
export function keepRecorded(o: StartOptions, r: Recorded): { options: StartOptions; kept: string[] } {
  const out: StartOptions = { ...o };
  const kept: string[] = [];
  const s = r.spec;
  if (o.repos?.length) {
    throw multiRepoRefusal("--replace of a session", "give no --repo: the recorded ones are kept");
  }
  if (s.repos?.length) {
    // its workspace holds every repository: kept as recorded (nothing cloned or sent again)
    if (!r.cloned) {
      throw usageError(
        "--replace of a session with several repositories needs each one's clone recorded on this machine " +
          "(its start did not finish, or another machine started it)",
        "delete it (kodama delete NAME) and start it again",
      );
    }
    // each one's local path from this machine's record, never the cluster's spec
    out.keptRepos = keepLocalRepos(s.repos, r.repos, "--replace of a session");
    kept.push(...out.keptRepos.map((x) => `--repo ${x.git.repo}=${x.name}${x.readOnly ? ":ro" : ""}`));
  }
  if (s.git && o.repo === undefined && r.cloned) {
    out.repo = s.git.repo;
    if (o.branch === undefined && s.git.branch !== undefined) out.branch = s.git.branch;
    if (o.baseBranch === undefined && s.git.base !== undefined) out.baseBranch = s.git.base;
    // the branch the session made after its clone stays its branch (the pod's HEAD is on it)
    if (o.branch === undefined && s.git.newBranch !== undefined) out.keepNewBranch = s.git.newBranch;
    kept.push(`--repo ${s.git.repo}`);
    const b = s.git.newBranch ?? s.git.branch;
    if (b !== undefined && o.branch === undefined) kept.push(`branch ${b}`);
  }
  if (r.sync && o.sync === undefined && !o.noSync) {
    if (r.sync.enabled && r.sync.localPath !== undefined) {
      out.sync = r.sync.localPath;
      if (o.syncMode === undefined && r.sync.mode !== undefined) out.syncMode = r.sync.mode;
      kept.push(`--sync ${r.sync.localPath}${r.sync.mode ? ` (${r.sync.mode})` : ""}`);
    } else {
      out.noSync = true;
      kept.push("--no-sync");
    }
  }
  const one = <K extends "image" | "cpu" | "memory" | "serviceAccount">(
    k: K,
    v: string | undefined,
    say: string,
  ) => {
    if (v === undefined || o[k] !== undefined) return;
    out[k] = v;
    kept.push(`${say} ${v}`);
  };
  one("image", s.image, "image");
  one("cpu", s.cpu, "--cpu");
  one("memory", s.memory, "--memory");
  one("serviceAccount", s.serviceAccount, "--service-account");
  if (s.agent) {
    out.keptAgent = s.agent;
    kept.push(`agent ${s.agent.preset}`);
  }
  return { options: out, kept };
}

/** The one line `start --replace` writes. */
export function keptLine(name: string, kept: string[]): string {
  return kept.length
    ? `replacing session ${name}: kept ${kept.join(", ")} (give a flag to change one)`
    : `replacing session ${name}: nothing recorded to keep`;
}

/**
 * `--replace`: the session's record (its spec from the cluster, this machine's sync of it from the state
 * file) applied to the options, said in one line on stderr. No session of the name: the options as given.
 */
export async function withRecorded(
  kube: KubeObjects & KubeIdentity,
  o: StartOptions,
  err: { write(s: string): unknown },
): Promise<StartOptions> {
  const { findSession } = await import("../state/cluster.ts");
  const f = await findSession(kube, o.namespace, o.name, { observe: false });
  if (!f.view?.spec) return o;
  const { loadState } = await import("../state/state.ts");
  const st = await loadState(o.name).catch(() => undefined);
  const sync = st && st.namespace === o.namespace ? st.sync : undefined;
  // several repositories: each one's clone recorded in this machine's state file (nothing on the volume)
  const cloned = f.view.spec.repos?.length
    ? !!st?.repos?.length && st.namespace === o.namespace && st.repos.every((x) => x.commit)
    : f.view.commit !== undefined;
  const repos = st && st.namespace === o.namespace ? st.repos : undefined;
  const { options, kept } = keepRecorded(o, { spec: f.view.spec, sync, cloned, repos });
  err.write(keptLine(o.name, kept) + "\n");
  return { ...options, replacing: true, workspaceCloned: cloned };
}
