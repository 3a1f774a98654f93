/**
 * `stop`, `resume`, `delete` and `session prune`.
 *
 *   stop     tells the pod it is a stop, deletes the session's Job (its pod with it); the volumes, the
 *            Secret and the ConfigMap stay
 *   resume   recreates the Job from the settings recorded on the volumes, then waits as `start` does
 *   delete   removes the Job, Secrets, ConfigMap and local state; the volumes are kept (marked as kept,
 *            so a later `start` of the same name reuses them) unless --purge
 *   prune    removes local state files whose session no longer exists
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeIdentity, KubeObjects, KubeStreams, KubeTargets } from "../../kube/seam.ts";
import { type Clock, realClock } from "../../base/clock.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { withInterrupt } from "../../base/proc/proc.ts";
import { durationValueMs, parseDuration } from "../../base/duration.ts";
import type { Sink } from "../../base/sink.ts";
import { findSession, notFoundError, requireSession } from "../state/cluster.ts";
import { buildNetworkPolicy } from "../spec/manifests.ts";
import { LABEL_SESSION, objectNames, sessionSelector } from "../spec/names.ts";
import type { SessionSpec } from "../spec/spec.ts";
import { createWorkload, markStop, podsGone, removeWorkload } from "./workload.ts";
import { isLegacyPod, isLive, legacyNote } from "../state/sessionpod.ts";
import type { StartIO } from "./startio.ts";
import { AFTER_READY, retainVolumes, waitReady } from "./ready.ts";
import { listStates, loadState, removeState, saveState, stateFromSpec, updateState } from "../state/state.ts";
import { quote } from "../../base/text/escape.ts";

/** How long stop/resume wait for a pod to go away. */
const POD_GONE_MS = 120_000;

/**
 * Wait until purged claims are gone. A claim a pod still uses stays Terminating (the
 * kubernetes.io/pvc-protection finalizer) until that pod has stopped — `delete` waits for its own pod
 * first, so this matters for claims another pod still mounts — and a `start` of the same name meanwhile
 * would meet it; `kubectl delete` waits too.
 */
export async function claimsGone(
  kube: KubeObjects,
  namespace: string,
  names: string[],
  o: { err: Sink; timeoutMs?: number; clock?: Clock },
): Promise<void> {
  const clock = o.clock ?? realClock;
  const deadline = clock.now() + (o.timeoutMs ?? POD_GONE_MS);
  const wanted = new Set(names);
  let said = false;
  for (;;) {
    // one list per look (the session's claims carry its label), not a GET per claim
    const { items } = await kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", namespace, {
      labelSelector: LABEL_SESSION,
    });
    const left = items.map((c) => c.metadata?.name ?? "").filter((n) => wanted.has(n));
    if (!left.length) return;
    if (clock.now() > deadline) {
      o.err.write(`still Terminating: ${left.join(", ")} (they go once nothing uses them)\n`);
      return;
    }
    if (!said) o.err.write(`waiting for ${left.join(", ")} to be released (the pod is stopping)…\n`);
    said = true;
    await clock.sleep(500);
  }
}

function volumeList(pvcs: V1PersistentVolumeClaim[]): string {
  return pvcs.map((c) => {
    const size = c.status?.capacity?.storage ?? c.spec?.resources?.requests?.storage;
    return `${c.metadata?.name}${size ? ` (${size})` : ""}`;
  }).join(", ");
}

export async function stopSession(
  kube: KubeTargets & KubeIdentity & KubeStreams,
  namespace: string,
  name: string,
  o: {
    wait: boolean;
    out: Sink;
    err: Sink;
    /** false: the caller resumes it itself (restore), so "resume with" would mislead */
    resumeHint?: boolean;
    /** the kodama home whose local state (state file, background sync) this machine keeps: default this process's */
    home?: string;
  },
): Promise<number> {
  const v = await requireSession(kube, namespace, name);
  if (!v.pod && !v.job) {
    o.err.write(`session ${name} is already stopped\n`);
    return ExitCode.OK;
  }
  // the daemon's own module, not the sync engine's (sync/session.ts): `stop` loads no more than it needs
  // its own, or each repository's of a session with several (sync/store.ts: `NAME@REPO`)
  for (const k of await (await import("../sync/daemon.ts")).stopSessionSyncs(name, o.home)) {
    o.err.write(`stopped the background sync of ${k}\n`);
  }
  // the pod learns it is a stop (the agent runner then resumes nothing it cut off), then the Job goes
  if (v.pod) await markStop(kube, v.pod);
  const pods = await sessionPods(kube, namespace, name, v.pod);
  await removeWorkload(kube, namespace, name, pods);
  await (await import("./protect.ts")).unprotectSession(kube, namespace, name).catch(() => {});
  if (o.wait) await podsGone(kube, namespace, name, POD_GONE_MS);
  await updateState(name, { status: "Stopped" }, o.home);
  o.out.write(`session/${name} stopped\n`);
  if (o.resumeHint !== false) {
    o.err.write(`kept: ${volumeList(v.pvcs)}; resume with: kodama resume ${name}\n`);
  }
  return ExitCode.OK;
}

export interface ResumeOptions {
  timeout?: string;
  noWait?: boolean;
}

/**
 * What `resume` finds, and what it does about it before it makes a pod: the settings recorded on the
 * session's volumes (none: exit 1), and its pod. No pod: resume. A pod that cannot run, that ended by itself
 * (an idle stop) or that is going away: deleted and waited out, then resume. A pod starting or running:
 * nothing to do (undefined, said on `err`).
 */
export async function clearForResume(
  kube: KubeTargets & KubeIdentity,
  namespace: string,
  name: string,
  err: Sink,
): Promise<SessionSpec | undefined> {
  const v = await requireSession(kube, namespace, name, { observe: false });
  const recorded = v.spec;
  if (!recorded) {
    throw new KodamaError(
      `cannot resume session ${name}: its volumes carry no recorded settings`,
      ExitCode.FAILED,
      "was it made by kodama? `kodama session get` shows its objects",
    );
  }
  if (v.restart) {
    // the cluster is bringing the pod back already (its Job is active): nothing to do
    err.write(`session ${name} is restarting (the cluster is bringing its pod back)\n`);
    return undefined;
  }
  if (v.pod || v.job) {
    if (v.pod && v.status !== "Failed" && v.status !== "Stopped" && isLive(v.pod)) {
      err.write(`session ${name} is already ${v.status.toLowerCase()}\n`);
      if (isLegacyPod(v.pod)) err.write(`note: ${legacyNote(name)}\n`);
      return undefined;
    }
    // a Job that ended (an idle stop, a failure), a pod that cannot run or that is going away, a legacy
    // session's bare pod: deleted and waited out, then the session's Job is made anew (a legacy one adopted)
    const pods = await sessionPods(kube, namespace, name, v.pod);
    await removeWorkload(kube, namespace, name, pods);
    await podsGone(kube, namespace, name, POD_GONE_MS);
  }
  return { ...recorded, namespace };
}

export async function resumeSession(
  kube: Kube,
  namespace: string,
  name: string,
  o: ResumeOptions,
  cfg: Config,
  io: StartIO,
): Promise<number> {
  const waitMs = o.timeout !== undefined
    ? parseDuration(o.timeout, "--timeout")
    : durationValueMs(cfg.session.readyTimeout, "session.readyTimeout");
  // the local state is written once the pod is made (its YAML module costs 0.1–0.5 s to load: before the
  // pod it delayed every resume by that much, which made a resume slower than a cold start)
  const cleared = await clearForResume(kube, namespace, name, io.err);
  if (!cleared) return ExitCode.OK;
  // through a gateway: a new token (a new expiry) in its env Secret before the pod reads it
  const spec = await renewToken(kube, cleared, io.err);
  // a background sync of the session still running here (paused since an idle stop) ends before the pod
  // comes back, so it does not reconcile while resume does; resume starts it again (a light check: the
  // sync engine loads only when one runs)
  // (its own, or each repository's of a session with several)
  let ran: string[] = [];
  if (cfg.sync.enabled) ran = await (await import("../sync/daemon.ts")).stopSessionSyncs(name);
  const syncRan = ran.length > 0;
  // ...and comes back however this run ends (no wait, a timeout, an error): paused until the pod runs, it
  // then wakes and reconciles by itself, as when another machine resumes the session
  const syncBack = async () => {
    for (const k of ran) {
      const pid = await (await import("../sync/daemon.ts")).spawnDaemon(kube, k, namespace).catch(() => 0);
      if (pid) {
        io.err.write(`the background sync of ${k} runs again (pid ${pid}): it wakes when the pod runs\n`);
      }
    }
  };
  return await withInterrupt(async (signal, it) => {
    const where = { context: kube.contextName, server: kube.server };
    let created = false;
    try {
      // the egress policy before the pod (a session's own survives stop; one removed meanwhile comes back)
      const np = buildNetworkPolicy(spec);
      if (np) {
        await kube.createObject("networkpolicies", namespace, np).catch((e) => {
          if (!(e instanceof KodamaError && /already exists|AlreadyExists/i.test(e.message))) throw e;
        });
      }
      await createWorkload(kube, namespace, spec);
      created = true;
      // resumed on another machine: this one now remembers the session too (written while the pod starts,
      // once its watch is open: the state's YAML module would hold the main thread before the watch went out)
      let saving: Promise<void> | undefined;
      const save = () =>
        saving ??= (async () => {
          if (await loadState(name)) await updateState(name, { status: "Starting" });
          else await saveState(stateFromSpec(spec, where, "Starting"));
        })();
      if (o.noWait) {
        await save();
        await syncBack();
        io.out.write(`session/${name} resuming\n`);
        return ExitCode.OK;
      }
      if (it.interrupted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
      try {
        await waitReady(kube, spec, { timeoutMs: waitMs, signal, io, verb: "resume", onWatching: save });
      } finally {
        await save().catch(() => {});
      }
      await save();
      for (const step of AFTER_READY) await step({ kube, spec, io, signal });
      // the sync engine is loaded only for a session this machine syncs: its modules cost a resume
      // 0.2–0.4 s of CPU (measured at load), which made a resume without sync slower than a cold start
      if (
        cfg.sync.enabled && (await import("../sync/store.ts")).unitsOf(name).length
      ) {
        await (await import("../sync/session.ts")).syncSessionResume(kube, spec, cfg, {
          ...io,
          signal,
          restart: syncRan,
        });
      }
      await updateState(name, { status: "Running" });
      io.out.write(`session/${name} ready\n`);
      return ExitCode.OK;
    } catch (e) {
      if (it.interrupted && created) {
        // back to Stopped: the Job this run made goes (its pod with it), everything else stays
        const pods = await sessionPods(kube, namespace, name).catch(() => []);
        await removeWorkload(kube, namespace, name, pods, { gracePeriodSeconds: 1 }).catch(() => {});
        await updateState(name, { status: "Stopped" });
        throw new KodamaError(
          `interrupted: removed job ${objectNames(name).workload}; session ${name} is stopped`,
          ExitCode.INTERRUPTED,
        );
      }
      await syncBack();
      throw e;
    }
  }, { signal: io.signal });
}

export interface DeleteOptions {
  force?: boolean;
  purge?: boolean;
  keepConfig?: boolean;
  /** stdin and stderr are terminals (a question can be asked) */
  interactive: boolean;
  confirm: (message: string) => Promise<boolean>;
  out: Sink;
  err: Sink;
  /** the kodama home whose local state (state file, sync) goes with the session: default this process's */
  home?: string;
}

export async function deleteSession(
  kube: Kube,
  namespace: string,
  name: string,
  o: DeleteOptions,
): Promise<number> {
  if (!o.force && !o.interactive) {
    throw usageError(
      `not deleting session ${name} without confirmation: no terminal to ask on`,
      "add --force (-f) to delete without asking",
    );
  }
  const f = await findSession(kube, namespace, name);
  const n = objectNames(name);
  if (!f.view) {
    if (!(o.purge && f.retained.length)) throw notFoundError(name, namespace, f.retained);
    // the session is gone; --purge removes the volumes it left
    if (
      !o.force &&
      !await o.confirm(
        `Delete the kept volumes ${volumeList(f.retained)} of session ${name}? Their data is lost.`,
      )
    ) {
      o.err.write("not deleted\n");
      return ExitCode.OK;
    }
    for (const c of f.retained) {
      await kube.deleteObject("persistentvolumeclaims", namespace, c.metadata!.name!);
    }
    await claimsGone(kube, namespace, f.retained.map((c) => c.metadata!.name!), o);
    if (!o.keepConfig) await removeState(name, o.home);
    o.out.write(`deleted ${f.retained.map((c) => `persistentvolumeclaim/${c.metadata?.name}`).join(", ")}\n`);
    return ExitCode.OK;
  }
  const v = f.view;
  const volumes = [...v.pvcs, ...f.retained];
  await mayDelete(
    kube,
    namespace,
    name,
    v.pod && isLegacyPod(v.pod) ? v.pod.metadata?.name : undefined,
    !!v.job || (!!v.pod && !isLegacyPod(v.pod)),
    volumes,
    !!o.purge,
    !!v.spec?.sandbox?.egress,
  );
  if (!o.force) {
    const what = o.purge
      ? `its volumes ${volumeList(volumes)} are deleted too (their data is lost)`
      : `its volumes ${volumeList(volumes)} are kept`;
    if (
      !await o.confirm(
        `Delete session ${name} in namespace ${namespace}? Its Job and pod, Secret and ConfigMap go; ${what}.`,
      )
    ) {
      o.err.write("not deleted\n");
      return ExitCode.OK;
    }
  }
  const gone: string[] = [];
  const del = async (
    resource: "pods" | "secrets" | "configmaps" | "persistentvolumeclaims" | "networkpolicies",
    obj: string,
  ) => {
    if (await kube.deleteObject(resource, namespace, obj)) gone.push(`${kind[resource]}/${obj}`);
  };
  const kind = {
    pods: "pod",
    secrets: "secret",
    configmaps: "configmap",
    persistentvolumeclaims: "persistentvolumeclaim",
    networkpolicies: "networkpolicy",
  };
  // its gateway tokens are refused from now on, before anything of it goes (a token copied out of the pod
  // would otherwise keep its budget and egress until it expired)
  if (v.spec?.gateway && await revokeTokens(kube, namespace, name, o.err)) gone.push("its gateway token");
  // the volumes first: when they cannot be kept (or purged) nothing else has been removed yet
  if (o.purge) {
    for (const c of volumes) await del("persistentvolumeclaims", c.metadata!.name!);
  } else {
    await retainVolumes(kube, namespace, v.pvcs.map((c) => c.metadata!.name!));
  }
  // the background sync ends and what it sent is forgotten (the daemon and store modules: not the engine)
  await (await import("../sync/daemon.ts")).stopSessionSyncs(name, o.home);
  await (await import("../sync/store.ts")).removeSyncState(name, o.home);
  const pods = await sessionPods(kube, namespace, name, v.pod);
  if (await removeWorkload(kube, namespace, name, pods)) {
    gone.push(v.job || pods.some((p) => !isLegacyPod(p)) ? `job/${n.workload}` : `pod/${n.workload}`);
  }
  await (await import("./protect.ts")).unprotectSession(kube, namespace, name).catch(() => {});
  await del("secrets", n.envSecret);
  await del("secrets", n.gitSecret);
  await del("configmaps", n.editorConfigMap);
  // the egress policy goes after the pod was asked to stop; a session from before it had none (and its
  // user may have no rights on NetworkPolicies): then only a policy that is there is removed
  if (v.spec?.sandbox?.egress) await del("networkpolicies", n.egressPolicy);
  else await del("networkpolicies", n.egressPolicy).catch(() => {});
  // everything is asked to go: the local state goes now, so a wait cut short (its timeout, Ctrl-C) leaves
  // no record of a session that no longer exists
  gone.push(...await sharesGone(kube, namespace, name, o.err));
  const removedState = !o.keepConfig && await removeState(name, o.home);
  // as kubectl delete (and stop) do: return once the pod is gone. On a real node it takes its grace period
  // to stop, and meanwhile `list` still shows the session and a `start` of the name would meet it.
  if (pods.length) await podsGone(kube, namespace, name, POD_GONE_MS);
  if (o.purge) await claimsGone(kube, namespace, volumes.map((c) => c.metadata!.name!), o);
  o.out.write(`session/${name} deleted\n`);
  o.err.write(`removed ${gone.join(", ")}${removedState ? " and the local state" : ""}\n`);
  if (!o.purge && volumes.length) {
    const names = volumes.map((c) => c.metadata?.name).join(" ");
    o.err.write(
      `kept PVCs ${
        volumeList(volumes)
      }: \`kodama start ${name}\` reuses them; remove them with \`kodama delete ${name} --purge\` or \`kubectl delete pvc -n ${namespace} ${names}\`\n`,
    );
  }
  return ExitCode.OK;
}

/**
 * Every pod of the session (its Job's, a legacy bare one), read again: the Job may have replaced the one a
 * view saw. `known` is used when the list is refused (a user who may not list pods).
 */
async function sessionPods(
  kube: KubeObjects,
  namespace: string,
  name: string,
  known?: V1Pod,
): Promise<V1Pod[]> {
  try {
    return (await kube.listObjects<V1Pod>("pods", namespace, { labelSelector: sessionSelector(name) })).items;
  } catch (e) {
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) return known ? [known] : [];
    throw e;
  }
}

/** Revoke the session's gateway tokens; a refusal (a user who may not update the gateway's Secret) warns. */
async function revokeTokens(kube: KubeObjects, namespace: string, name: string, err: Sink): Promise<boolean> {
  const { revokeGatewayTokens } = await import("./gatewaytokens.ts");
  try {
    return await revokeGatewayTokens(kube, namespace, name, new Date());
  } catch (e) {
    const why = e instanceof KodamaError ? e.message.split("\n")[0] : String(e);
    err.write(
      `warning: could not revoke ${name}'s gateway token (${why}): it stays valid until it expires (7 days after it was issued)\n`,
    );
    return false;
  }
}

/** A resumed session's new gateway token (a new expiry); a failure warns: the old one serves until it ends. */
async function renewToken(kube: KubeObjects, spec: SessionSpec, err: Sink): Promise<SessionSpec> {
  if (!spec.gateway) return spec;
  const { renewGatewayToken } = await import("./gatewaytokens.ts");
  try {
    const suffix = await renewGatewayToken(kube, spec, new Date());
    return suffix ? { ...spec, gateway: { ...spec.gateway, tokenSuffix: suffix } } : spec;
  } catch (e) {
    const why = e instanceof KodamaError ? e.message.split("\n")[0] : String(e);
    err.write(`warning: could not renew ${spec.name}'s gateway token (${why}): it ends at its expiry\n`);
    return spec;
  }
}

/**
 * Before anything goes: may this user delete (or keep) every object of the session? One
 * SelfSubjectAccessReview per object, all at once; the first refusal is exit 4 and nothing has changed —
 * a teammate the session was shared with cannot delete it, not even its Secret.
 */
async function mayDelete(
  kube: Pick<Kube, "accessReview">,
  namespace: string,
  name: string,
  pod: string | undefined,
  job: boolean,
  volumes: V1PersistentVolumeClaim[],
  purge: boolean,
  egress: boolean,
): Promise<void> {
  const n = objectNames(name);
  const checks: { verb: string; resource: string; group?: string; name: string }[] = [
    ...(pod ? [{ verb: "delete", resource: "pods", name: pod }] : []),
    ...(job ? [{ verb: "delete", resource: "jobs", group: "batch", name: n.workload }] : []),
    { verb: "delete", resource: "secrets", name: n.envSecret },
    { verb: "delete", resource: "secrets", name: n.gitSecret },
    { verb: "delete", resource: "configmaps", name: n.editorConfigMap },
    ...(egress
      ? [{ verb: "delete", resource: "networkpolicies", group: "networking.k8s.io", name: n.egressPolicy }]
      : []),
    ...volumes.map((c) => ({
      verb: purge ? "delete" : "patch",
      resource: "persistentvolumeclaims",
      name: c.metadata!.name!,
    })),
  ];
  let answers: boolean[];
  try {
    answers = await Promise.all(
      checks.map((c) => kube.accessReview({ ...c, namespace }).then((r) => r.allowed)),
    );
  } catch {
    return; // a server that does not answer reviews: the deletes themselves are authorized
  }
  const refused = checks.find((_, i) => !answers[i]);
  if (refused) {
    throw new KodamaError(
      `forbidden: cannot delete session ${name}: you may not ${refused.verb} ${refused.resource} ${
        quote(refused.name)
      } in namespace ${namespace} (nothing was deleted)`,
      ExitCode.FORBIDDEN,
      "a session shared with you is its owner's to delete; ask them, or for a Role allowing it",
    );
  }
}

/** The session's share Roles and RoleBindings go with it (a user who may not read them is told so). */
async function sharesGone(kube: KubeObjects, namespace: string, name: string, err: Sink): Promise<string[]> {
  try {
    return await (await import("../access/share.ts")).deleteShares(kube, namespace, name);
  } catch (e) {
    if (!(e instanceof KodamaError && e.code === ExitCode.FORBIDDEN)) throw e;
    err.write(
      `could not look for the session's shares (${e.message}); \`kodama unshare ${name} --all\` removes them\n`,
    );
    return [];
  }
}

/** Remove state files whose session no longer exists (each checked on the context it was started on). */
export async function pruneStates(
  connect: (context: string) => Promise<Kube>,
  o: { dryRun?: boolean; out: Sink; err: Sink },
): Promise<number> {
  const states = await listStates();
  let removed = 0;
  for (const s of states) {
    let kube: Kube;
    try {
      kube = await connect(s.context);
    } catch (e) {
      o.err.write(
        `kept ${s.name}: cannot use context ${s.context}: ${(e as Error).message.split("\n")[0]}\n`,
      );
      continue;
    }
    try {
      if (kube.server !== s.server) {
        o.err.write(`kept ${s.name}: context ${s.context} now points at ${kube.server}, not ${s.server}\n`);
        continue;
      }
      const f = await findSession(kube, s.namespace, s.name);
      if (f.view) continue;
      if (!o.dryRun) await removeState(s.name);
      removed++;
      o.out.write(
        `${
          o.dryRun ? "would remove" : "removed"
        } ${s.name} (namespace ${s.namespace}, context ${s.context})\n`,
      );
    } catch (e) {
      o.err.write(`kept ${s.name}: ${(e as Error).message.split("\n")[0]}\n`);
    } finally {
      kube.close();
    }
  }
  if (removed === 0) o.err.write("nothing to prune\n");
  return ExitCode.OK;
}
