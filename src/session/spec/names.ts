/**
 * A session's name and the names of everything it owns, in one table, so every object name is derived
 * (and validated) in one place. The names follow the Kodama contract (`kodama-<name>` — since issue 80 the
 * session's Job, whose pod is `kodama-<name>-<suffix>`;
 * `kodama-workspace-<name>`, `kodama-claude-home-<name>`, `kodama-editor-config-<name>`) so its
 * troubleshooting steps (`kubectl delete pvc kodama-workspace-<name>`) work as written.
 * Pure: no I/O.
 */
import { usageError } from "../../base/errors.ts";
import { isDnsLabel } from "../../base/text/k8sname.ts";
import { quote } from "../../base/text/escape.ts";

/** Labels every object of a session carries (so `list` works from any machine). */
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "kodama";
/** The namespace's agent-CLI cache PVC (src/agent/clicache/clicache.ts fills it); no session label: never a session's. */
export const CLI_CACHE_PVC = "kodama-agent-clis";
/** Where a session pod mounts it, read-only (src/agent/pod/install.sh looks there). */
export const CLI_CACHE_PATH = "/opt/kodama-clis";
export const LABEL_SESSION = "kodama.dev/session";
/** On every object of a replica of `start --replicas` (best of N): the group's name. */
export const LABEL_GROUP = "kodama.dev/group";
/** On every object of a replica: its number in the group (1…N). */
export const LABEL_REPLICA = "kodama.dev/replica";
/** On PVCs kept after their session was deleted (or a start was interrupted): not a live session. */
export const LABEL_RETAINED = "kodama.dev/retained";

/**
 * On a session's PVCs: which of its volumes it is (`workspace` or `home`). A volume's name is recorded in
 * the session's settings (`volumes`), so every command finds it there; this label finds a kept volume.
 */
export const LABEL_VOLUME = "kodama.dev/volume";
/** On an unclaimed volume of the warm pool (`kodama pool ensure`): its pair's id. Claiming removes it. */
export const LABEL_POOL = "kodama.dev/pool";
/** On a pool volume: the StorageClass the pool asked for ("" for the cluster's default). */
export const ANNOTATION_POOL_CLASS = "kodama.dev/pool-class";
/** On a volume taken from the pool: the pair it came from (for `get` and troubleshooting). */
export const ANNOTATION_POOLED = "kodama.dev/pooled-from";

/**
 * On a shared session's Job: the pod its shares' Roles name (RBAC names pods by `resourceNames`, and a Job's
 * pod is renamed when the cluster replaces it). A teammate, who may not list pods, reads it to find the pod;
 * a command of the owner that finds another pod renews the Roles and this (access/share.ts).
 */
export const ANNOTATION_SHARED_POD = "kodama.dev/shared-pod";

/** The session's settings (JSON), on every object it owns: another machine resumes from them. */
export const ANNOTATION_SPEC = "kodama.dev/spec";

/** Selects every object kodama made for sessions; add `,kodama.dev/session=NAME` for one session. */
export const SESSIONS_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_SESSION}`;

/**
 * The label selector of one session's objects. Every lookup of a session by name (findSession, the waits,
 * start, share) builds its selector here, so the name is checked here first: a name that is not a DNS-1123
 * label is exit 2 before any request, not the API server's selector parse error.
 */
export function sessionSelector(name: string): string {
  checkSessionName(name);
  return `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_SESSION}=${name}`;
}

/** Names of a session's objects. Later features add theirs here (and they are validated with the rest). */
export interface SessionObjectNames {
  /**
   * the session's Job (batch/v1), which owns its pod; the pod's name is the Job's generated one
   * (`kodama-NAME-x7k2p`), so nothing addresses the pod by a fixed name: find it by the session's labels
   * (state/sessionpod.ts). A legacy session (an older kodama) has a bare Pod of this name instead.
   */
  workload: string;
  workspacePVC: string;
  homePVC: string;
  envSecret: string;
  editorConfigMap: string;
  /** the git credentials Secret (a token's credential-store file, a CA) */
  gitSecret: string;
  /** the egress NetworkPolicy (sandbox.ts) */
  egressPolicy: string;
}

export function objectNames(name: string): SessionObjectNames {
  return {
    workload: `kodama-${name}`,
    workspacePVC: `kodama-workspace-${name}`,
    homePVC: `kodama-claude-home-${name}`,
    envSecret: `kodama-env-${name}`,
    editorConfigMap: `kodama-editor-config-${name}`,
    gitSecret: `kodama-git-${name}`,
    egressPolicy: `kodama-egress-${name}`,
  };
}

/** Kubernetes' limit for label values, and what kodama allows for every derived object name. */
export const MAX_OBJECT_NAME = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The longest session name whose derived names all fit in 63 characters. */
export function maxSessionNameLength(): number {
  const longest = Math.max(...Object.values(objectNames("")).map((n) => n.length));
  return MAX_OBJECT_NAME - longest;
}

const NAME_RULE = "use lowercase letters, digits and '-', starting and ending with a letter or digit";
const NAME_HINT = "session names become Kubernetes object names (DNS-1123 labels), e.g. my-work";

/**
 * Check a session name a command looks up (get, attach, stop, …): a DNS-1123 label of at most 63 characters
 * (a label value), so it can be put in a selector or an object name. Exit 2 otherwise, the name escaped.
 */
export function checkSessionName(name: string): string {
  if (name === "") throw usageError("a session name is required", "list sessions with `kodama list`");
  if (!isDnsLabel(name)) throw usageError(`invalid session name ${quote(name)}: ${NAME_RULE}`, NAME_HINT);
  return name;
}

/**
 * Check a session name before anything is sent: a DNS-1123 label (lowercase letters, digits, '-'),
 * short enough that every derived object name stays within 63 characters. Exit 2 otherwise.
 */
export function validateSessionName(name: string | undefined): string {
  if (name === undefined || name === "") {
    throw usageError("a session name is required", "e.g. kodama start my-work");
  }
  if (!DNS_LABEL.test(name)) {
    throw usageError(`invalid session name ${quote(name)}: ${NAME_RULE}`, NAME_HINT);
  }
  const max = maxSessionNameLength();
  const names = objectNames(name);
  const tooLong = Object.values(names).find((n) => n.length > MAX_OBJECT_NAME);
  if (tooLong) {
    throw usageError(
      `session name ${quote(name)} is too long (${name.length} characters, at most ${max})`,
      `it names the object ${tooLong} (${tooLong.length} characters; Kubernetes allows ${MAX_OBJECT_NAME})`,
    );
  }
  return name;
}
