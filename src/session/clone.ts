/**
 * `kodama clone SRC DST [--branch B]`: a new session with a copy of SRC's volumes, on its own new branch.
 * The copy goes through a snapshot of SRC (the portable path: a short-lived copy pod, so it works on any
 * cluster), DST starts from it with SRC's image, resources, sizes and sidecars, then its workspace checks out
 * a new branch (`--branch`, else `<defaults.branchPrefix>DST-<UTC time>`). The snapshot made for the clone is
 * removed afterwards (`--keep-snapshot` keeps it). SRC is only read.
 */
import type { Config } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import { ExitCode, KodamaError } from "../errors.ts";
import { memorySink } from "../base/sink.ts";
import { requireSession } from "./cluster.ts";
import { ANNOTATION_BRANCH, ANNOTATION_COMMIT, autoBranchName, checkBranch } from "./git.ts";
import { validateSessionName } from "./names.ts";
import { createSnapshot, snapshotClaim } from "./snapshot.ts";
import { namesOf } from "./spec.ts";
import { type StartIO, startSession } from "./start.ts";
import { updateState } from "./state.ts";
import type { Template } from "./template.ts";

export interface CloneOptions {
  branch?: string;
  keepSnapshot?: boolean;
  timeoutMs: number;
  cfg: Config;
  io: StartIO;
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
  const snap = `${dst}-clone-${Date.now().toString(36)}`.slice(0, 50).replace(/-+$/, "");
  const quiet = memorySink();
  o.io.err.write(`copying ${src}'s volumes (snapshot ${snap})…\n`);
  await createSnapshot(kube, ns, src, { snapshot: snap, timeoutMs: o.timeoutMs, out: quiet, err: quiet });
  try {
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
    const code = await startSession(
      kube,
      {
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
        fromSnapshot: snap,
        tpl,
        timeout: `${Math.ceil(o.timeoutMs / 1000)}s`,
      },
      o.cfg,
      o.io,
    );
    if (code !== ExitCode.OK) return code;
    await newBranch(kube, ns, dst, o);
    return ExitCode.OK;
  } finally {
    if (!o.keepSnapshot) {
      await kube.deleteObject("persistentvolumeclaims", ns, snapshotClaim(snap)).catch(() => {});
    } else o.io.err.write(`kept snapshot ${snap}\n`);
  }
}

/** The clone's own branch, checked out in its workspace (when it is a git work tree). */
async function newBranch(kube: Kube, ns: string, dst: string, o: CloneOptions): Promise<void> {
  const branch = o.branch ?? autoBranchName(o.cfg.defaults.branchPrefix, dst, new Date());
  const { execCapture } = await import("./agentrun.ts");
  const pod = await kube.getObject<import("@kubernetes/client-node").V1Pod>(
    "pods",
    ns,
    namesOf({ name: dst }).pod,
  );
  const r = await execCapture(kube, pod, [
    "sh",
    "-c",
    `cd "$KODAMA_WORKSPACE" || exit 3
git rev-parse --git-dir >/dev/null 2>&1 || exit 10
git checkout -q -b "$1" && git symbolic-ref --short HEAD && git rev-parse HEAD`,
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
  const [b, commit] = r.stdout.trim().split("\n");
  await kube.patchObject("persistentvolumeclaims", ns, namesOf({ name: dst }).workspacePVC, {
    metadata: { annotations: { [ANNOTATION_BRANCH]: b, [ANNOTATION_COMMIT]: commit ?? null } },
  }).catch(() => {});
  await updateState(dst, { branch: b, ...(commit ? { commitHash: commit } : {}) }).catch(() => {});
  o.io.err.write(`clone ${dst} is on its own branch ${b}\n`);
}
