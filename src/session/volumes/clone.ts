/**
 * `kodama clone SRC DST [--branch B]`: a new session with a copy of SRC's volumes, on its own new branch.
 *
 * Two ways to copy, the first that applies:
 *  - the storage driver: when SRC's claims are provisioned by a CSI driver (a CSIDriver object of the
 *    provisioner's name exists) and SRC is running, a random marker is written into SRC's workspace and home
 *    volumes, DST's claims are made with `dataSource: {kind: PersistentVolumeClaim}` naming SRC's, and a
 *    short-lived pod checks DST's volumes for the marker before DST's pod is created. A provisioner that
 *    ignores dataSource binds EMPTY volumes: the check catches it, DST's claims are removed and the copy goes
 *    the portable way. A user never gets an empty clone.
 *  - a snapshot of SRC (the portable path: a copy pod, so it works on any cluster) that DST starts from;
 *    the snapshot is removed afterwards (`--keep-snapshot` keeps it).
 *
 * DST runs SRC's image, resources, sizes and sidecars; its workspace is SRC's, git settings included (the
 * remote, the bookkeeping `session fetch` reads), on a new branch (`--branch`, else
 * `<defaults.branchPrefix>DST-<UTC time>`) starting at SRC's HEAD. SRC is only read (the marker is removed).
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeObjects, KubeSessions, KubeStreams } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { memorySink } from "../../base/sink.ts";
import { requireSession, requireSessionPod } from "../state/cluster.ts";
import { ANNOTATION_BRANCH, ANNOTATION_COMMIT, autoBranchName, checkBranch } from "../git/git.ts";
import { validateSessionName } from "../spec/names.ts";
import { createSnapshot, snapshotClaim } from "./snapshot.ts";
import { AGENT_HOME, namesOf, type SessionSpec } from "../spec/spec.ts";
import { CloneNotCopied, markerCommand } from "./clonemark.ts";

export { CloneNotCopied, markerCommand };
import { type CloneSource, type StartIO, type StartOptions, startSession } from "../lifecycle/start.ts";
import { loadState, updateState } from "../state/state.ts";
import type { Template } from "../spec/template.ts";
import { isCsiDriver, provisionerOf } from "./volsnap.ts";
import CLONE_BRANCH from "../pod/clonebranch.sh" with { type: "text" };
import { inRepo, keepLocalRepos, type SessionRepo, writableRepos } from "../git/repos.ts";
import { safeLine } from "../../ui/color.ts";

export interface CloneOptions {
  branch?: string;
  keepSnapshot?: boolean;
  /** always copy through a pod (never the storage driver's clone) */
  portable?: boolean;
  timeoutMs: number;
  cfg: Config;
  io: StartIO;
  /**
   * The local variables DST's agent may take (the agent floor's forwardedEnv: the preset's list, or what
   * the user's own config lists for a custom command); default: the user's own agent.authEnv alone.
   */
  forwardEnv?: (agent: NonNullable<SessionSpec["agent"]>) => string[];
}

/** SRC's claims, when the storage driver can clone them: SRC running, both claims of one CSI driver. */
async function driverClone(
  kube: KubeObjects,
  ns: string,
  pod: V1Pod | undefined,
  spec: SessionSpec,
): Promise<
  { workspace: V1PersistentVolumeClaim; home: V1PersistentVolumeClaim; driver: string } | undefined
> {
  if (!pod || pod.metadata?.deletionTimestamp || pod.status?.phase !== "Running") return undefined;
  const n = namesOf(spec);
  const [workspace, home] = await Promise.all(
    [n.workspacePVC, n.homePVC].map((c) =>
      kube.findObject<V1PersistentVolumeClaim>("persistentvolumeclaims", ns, c)
    ),
  );
  if (!workspace || !home) return undefined;
  const driver = provisionerOf(workspace);
  if (!driver || provisionerOf(home) !== driver) return undefined;
  if (workspace.spec?.storageClassName !== home.spec?.storageClassName) return undefined;
  return (await isCsiDriver(kube, driver)) ? { workspace, home, driver } : undefined;
}

async function inSource(kube: KubeObjects & KubeStreams, pod: V1Pod, command: string[]): Promise<number> {
  const { execCapture } = await import("../access/podexec.ts");
  return (await execCapture(kube, pod, command, {})).code;
}

/** Wait (a minute at most) until DST's claims are gone after a start that did not copy. */
async function claimsGone(kube: KubeObjects, ns: string, dst: string): Promise<void> {
  const n = namesOf({ name: dst });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const left = await Promise.all(
      [n.workspacePVC, n.homePVC].map((c) =>
        kube.findObject("persistentvolumeclaims", ns, c).catch(() => undefined)
      ),
    );
    if (left.every((c) => !c)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new KodamaError(
    `the volumes of ${dst} from the storage driver's clone are still there`,
    ExitCode.FAILED,
    `kubectl get pvc -n ${ns} ${n.workspacePVC} ${n.homePVC}`,
  );
}

export async function cloneSession(
  kube: Kube,
  ns: string,
  src: string,
  dst: string,
  o: CloneOptions,
): Promise<number> {
  validateSessionName(dst);
  if (o.branch !== undefined) checkBranch(o.branch, "--branch");
  const v = await requireSession(kube, ns, src);
  if (!v.spec) throw new KodamaError(`session ${src} carries no recorded settings`, ExitCode.FAILED);
  const spec = v.spec;
  // several repositories: the volume holds them all; DST records them, each written one on DST's own branch
  const branch = o.branch ?? autoBranchName(o.cfg.defaults.branchPrefix, dst, new Date());
  // each one's local path from this machine's record of SRC, never the cluster's spec (keepLocalRepos)
  const srcRecord = spec.repos?.length ? await loadState(src).catch(() => undefined) : undefined;
  const keptRepos = spec.repos?.length
    ? keepLocalRepos(
      spec.repos,
      srcRecord?.namespace === ns ? srcRecord.repos : undefined,
      "a clone of a session",
    ).map((r) => r.readOnly ? r : { ...r, git: { ...r.git, newBranch: branch } })
    : undefined;
  // SRC's settings as a template: what runs in the pod comes along, not its init (the files are there)
  const tpl: Template = {
    name: spec.template ?? `clone of ${src}`,
    source: "user",
    ...(spec.sidecars?.length ? { sidecars: spec.sidecars } : {}),
    ...(spec.agentCommand ? { agent: { command: spec.agentCommand } } : {}),
    ...(spec.labels ? { labels: spec.labels } : {}),
    ...(spec.ports ? { ports: spec.ports } : {}),
    ...(spec.vars ? { env: { vars: spec.vars } } : {}),
    ...(spec.syncExclude ? { sync: { exclude: spec.syncExclude } } : {}),
  };
  const base: StartOptions = {
    name: dst,
    namespace: ns,
    image: spec.image,
    cpu: spec.cpu,
    memory: spec.memory,
    storage: spec.storage.workspace,
    homeStorage: spec.storage.home,
    ...(spec.storage.storageClass ? { storageClass: spec.storage.storageClass } : {}),
    envFiles: [],
    envExclude: [],
    noSync: true,
    tpl,
    // SRC's coding agent (its preset or command) is DST's
    ...(spec.agent
      ? {
        agentFor: () => ({
          agent: spec.agent!,
          forwardEnv: o.forwardEnv?.(spec.agent!) ?? o.cfg.agent.authEnv,
        }),
      }
      : {}),
    timeout: `${Math.ceil(o.timeoutMs / 1000)}s`,
    ...(keptRepos ? { keptRepos, workspaceCloned: true } : {}),
  };

  const direct = o.portable ? undefined : await driverClone(kube, ns, v.pod, spec);
  if (direct && v.pod) {
    const token = crypto.randomUUID().replaceAll("-", "");
    const roots = { home: AGENT_HOME }; // the workspace: the pod's own $KODAMA_WORKSPACE
    if (await inSource(kube, v.pod, markerCommand(token, roots, "write")) === 0) {
      o.io.err.write(`cloning ${src}'s volumes with the storage driver (${direct.driver})…\n`);
      try {
        const cloneFrom: CloneSource = { workspace: direct.workspace, home: direct.home, marker: token };
        const code = await startSession(kube, { ...base, cloneFrom }, o.cfg, o.io);
        if (code !== ExitCode.OK) return code;
        await afterClone(kube, ns, src, dst, { ...o, branch });
        return ExitCode.OK;
      } catch (e) {
        if (!(e instanceof CloneNotCopied)) throw e;
        o.io.err.write(`${e.message}: copying through a pod instead\n`);
        await claimsGone(kube, ns, dst);
      } finally {
        await inSource(kube, v.pod, markerCommand(token, roots, "remove")).catch(() => {});
      }
    }
  }

  const snap = `${dst}-clone-${Date.now().toString(36)}`.slice(0, 50).replace(/-+$/, "");
  const quiet = memorySink();
  o.io.err.write(`copying ${src}'s volumes (snapshot ${snap})…\n`);
  await createSnapshot(kube, ns, src, {
    snapshot: snap,
    timeoutMs: o.timeoutMs,
    out: quiet,
    err: quiet,
    portable: true,
  });
  try {
    const code = await startSession(kube, { ...base, fromSnapshot: snap }, o.cfg, o.io);
    if (code !== ExitCode.OK) return code;
    await afterClone(kube, ns, src, dst, { ...o, branch });
    return ExitCode.OK;
  } finally {
    if (!o.keepSnapshot) {
      await kube.deleteObject("persistentvolumeclaims", ns, snapshotClaim(snap)).catch(() => {});
    } else o.io.err.write(`kept snapshot ${snap}\n`);
  }
}

/**
 * The clone's own branch, checked out in its workspace (when it is a git work tree) at SRC's HEAD, which
 * becomes its base (`session fetch --diff`, `compare`). SRC's remote and git config come with the volume;
 * the session file records SRC's repository and SRC's branch as the base branch.
 */
async function afterClone(
  kube: KubeSessions,
  ns: string,
  src: string,
  dst: string,
  o: CloneOptions,
): Promise<void> {
  const branch = o.branch ?? autoBranchName(o.cfg.defaults.branchPrefix, dst, new Date());
  const { execCapture } = await import("../access/podexec.ts");
  const pod = await requireSessionPod(kube, ns, dst);
  const srcState = await loadState(src).catch(() => undefined);
  const view = await requireSession(kube, ns, dst).catch(() => undefined);
  if (view?.spec?.repos?.length) {
    return await afterCloneRepos(kube, pod, dst, view.spec.repos, branch, o);
  }
  const r = await execCapture(kube, pod, [
    "sh",
    "-c",
    CLONE_BRANCH,
    "kodama-clone",
    branch,
  ]);
  if (r.code === 10) {
    o.io.err.write(`the workspace of ${dst} is not a git work tree: no branch made\n`);
    return;
  }
  if (r.code !== 0) {
    throw new KodamaError(
      `session ${dst} is running, but creating branch ${branch} failed: ${
        r.stderr.trim().split("\n").at(-1)
      }`,
      ExitCode.FAILED,
      `kodama attach ${dst} --command "git checkout -b ${branch}"`,
    );
  }
  const [b, commit, from] = r.stdout.trim().split("\n");
  const hex = /^[0-9a-f]{40,64}$/.test(commit ?? "") ? commit : undefined;
  // the clone's workspace by its recorded name (it may be a volume from the pool)
  await kube.patchObject("persistentvolumeclaims", ns, namesOf(view?.spec ?? { name: dst }).workspacePVC, {
    metadata: { annotations: { [ANNOTATION_BRANCH]: b, [ANNOTATION_COMMIT]: hex ?? null } },
  }).catch(() => {});
  const repo = srcState?.repo;
  await updateState(dst, {
    branch: b,
    autoBranch: o.branch === undefined,
    ...(hex ? { commitHash: hex } : {}),
    ...(repo ? { repo } : {}),
    ...(from && /^[\w./-]+$/.test(from) ? { baseBranch: from } : {}),
  }).catch(() => {});
  o.io.err.write(`clone ${dst} is on its own branch ${b}\n`);
}

/**
 * A clone of a session with several repositories: DST's own branch made in each written repository at SRC's
 * HEAD there (its base), and DST's state records each one's new branch (its local path is SRC's, as recorded
 * in the spec: SRC's repositories come home to the same places), so `session fetch/land DST` work. A repository
 * whose branch cannot be made fails the clone (exit 1), naming it.
 */
async function afterCloneRepos(
  kube: KubeSessions,
  pod: V1Pod,
  dst: string,
  repos: SessionRepo[],
  branch: string,
  o: CloneOptions,
): Promise<void> {
  const { execCapture } = await import("../access/podexec.ts");
  const made = new Map<string, { branch: string; commit?: string }>();
  for (const r of writableRepos(repos)) {
    const x = await execCapture(
      kube,
      pod,
      inRepo(r.name, ["sh", "-c", CLONE_BRANCH, "kodama-clone", branch]),
    );
    if (x.code !== 0) {
      throw new KodamaError(
        `session ${dst} is running, but creating branch ${branch} in repository ${r.name} failed: ${
          safeLine(x.stderr.trim().split("\n").at(-1) ?? "") || `exit code ${x.code}`
        }`,
        ExitCode.FAILED,
        `kodama attach ${dst} --command "cd ${r.name} && git checkout -b ${branch}"`,
      );
    }
    const [b, commit] = x.stdout.trim().split("\n");
    made.set(r.name, { branch: b, ...(/^[0-9a-f]{40,64}$/.test(commit ?? "") ? { commit } : {}) });
  }
  // DST's own record (start wrote it from the spec: the paths SRC was started with), each branch now DST's
  const st = await loadState(dst).catch(() => undefined);
  if (st?.repos?.length) {
    await updateState(dst, {
      branch,
      autoBranch: o.branch === undefined,
      repos: st.repos.map((r) => ({ ...r, ...(made.get(r.name) ?? {}) })),
    }).catch(() => {});
  }
  o.io.err.write(`clone ${dst} is on its own branch ${branch} in ${[...made.keys()].join(", ")}\n`);
}
