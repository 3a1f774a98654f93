/**
 * A session's settings: what `start` resolves from flags, the config files and the built-in defaults,
 * validated before any request. The resolved `SessionSpec` is recorded (as JSON) in an annotation on
 * every object of the session, so `resume`, `list` and `get` work from any machine. Pure.
 */
import type { Config } from "../../config/schema.ts";
import { usageError } from "../../base/errors.ts";
import { ANNOTATION_SPEC, objectNames, type SessionObjectNames, validateSessionName } from "./names.ts";
import type { GitSpec } from "../git/git.ts";
import type { SessionRepo } from "../git/repos.ts";
import type { Sidecar } from "./template.ts";
import { checkedCpu, checkedSize, formatCpu, formatSize } from "./quantity.ts";
import { resolveIdleStop, resolveTtl } from "../lifecycle/lifetime.ts";
import { resolveSandbox, type Sandbox } from "./sandbox.ts";
import type { SessionGateway } from "./gateway.ts";
import { quote } from "../../base/text/escape.ts";
import type { Scheduling, SchedulingInput } from "./scheduling.ts";
import { resolveScheduling, type TemplateScheduling } from "./placement.ts";

/** Where the agent-home PVC is mounted; HOME points there, so dotfiles, caches and agent config persist. */
export const AGENT_HOME = "/home/kodama";
/** Where the editor ConfigMap is mounted (read-only); the session copies its files into $HOME/.config. */
export const EDITOR_MOUNT = "/etc/kodama/editor";
/** The group that owns the volumes (fsGroup), so a non-root image user can write to them. */
export const FS_GROUP = 1000;
/** The ConfigMap's key holding a CA bundle from this machine (NODE_EXTRA_CA_CERTS), and where it is mounted. */
export const CA_CERTS_KEY = "kodama-ca.pem";
export const CA_CERTS_DIR = "/etc/kodama/ca";
export const CA_CERTS_PATH = `${CA_CERTS_DIR}/ca.pem`;
/** The container in the session pod. */
export const CONTAINER = "session";

/** The session has an editor ConfigMap (the defaults, or a repository's files from before the defaults). */
export function hasEditor(spec: { editor?: boolean; editorFiles: string[] }): boolean {
  return spec.editor === true || spec.editorFiles.length > 0;
}

/** The editor files a repo may carry in `editor.configDir`, and where each tool reads it under $HOME. */
export const EDITOR_FILES: Record<string, string> = {
  "helix-config.toml": ".config/helix/config.toml",
  "helix-languages.toml": ".config/helix/languages.toml",
  "zellij-config.kdl": ".config/zellij/config.kdl",
};

/**
 * The coding agent a session runs, recorded with it. A session stores it and never reads it: runs (above
 * the session, src/agent/) do.
 */
export interface SessionAgent {
  /** claude, codex, gemini, opencode, pi, qwen or custom */
  preset: string;
  /** the command up to the prompt (a variant's extra arguments included) */
  command: string[];
  /** added by `agent run --continue` (empty: it cannot continue): after `continueAt` words, else at the end */
  continueArgs: string[];
  continueAt?: number;
  /** a sh script that runs the command (`sh -c WRAP COMMAND…`): what needs the pod's environment */
  wrap?: string;
  /** after those: what makes it read the prompt on stdin (`-`) */
  promptArgs?: string[];
  /** set for the run (plain values, never secrets: IS_SANDBOX=1) */
  env?: Record<string, string>;
  /** models, retry and budgets chosen at start: every later run, `--continue` and `resume` keep them */
  settings?: AgentSettings;
}

/**
 * What a session's runs are allowed and asked to do (src/agent/presets/settings.ts turns it into the runner's
 * KODAMA_* variables and the CLI's own flags). Plain values, never secrets.
 */
export interface AgentSettings {
  /** the models in order: the primary first, then the fallbacks */
  models?: string[];
  /** the pod-side runner's continuations of a run that ended overloaded/rate-limited/unreachable */
  retry?: { attempts?: number; maxWaitSeconds?: number };
  maxTurns?: number;
  maxCostUsd?: number;
  maxSeconds?: number;
}

/** The settings in words (`session get`): `models a → b, retry 3, max turns 30, max cost $2`. */
export function agentSettingsWords(s: AgentSettings | undefined): string[] {
  if (!s) return [];
  return [
    ...(s.models?.length ? [`models ${s.models.join(" → ")}`] : []),
    ...(s.retry?.attempts !== undefined ? [`retry ${s.retry.attempts}`] : []),
    ...(s.retry?.maxWaitSeconds !== undefined ? [`retry wait ≤ ${s.retry.maxWaitSeconds}s`] : []),
    ...(s.maxTurns !== undefined ? [`max turns ${s.maxTurns}`] : []),
    ...(s.maxCostUsd !== undefined ? [`max cost $${Math.round(s.maxCostUsd * 10_000) / 10_000}`] : []),
    ...(s.maxSeconds !== undefined ? [`max time ${s.maxSeconds}s`] : []),
  ];
}

/**
 * A session's webhook (src/agent/notify/notifykey.ts): its generation (which its key, if it has one, is derived
 * from), who sends its events on (the namespace's gateway, or kodama on the laptop when it sees a run
 * end) and the events sent (notify.on). Plain values: the URL and every key stay off the pod.
 */
export interface SessionNotify {
  gen: string;
  relay: "gateway" | "laptop";
  on: string[];
}

export interface SessionSpec {
  /** format version of this record */
  v: 1;
  name: string;
  namespace: string;
  image: string;
  /** CPU and memory limits (canonical quantities) */
  cpu: string;
  memory: string;
  /** ephemeral-storage limit, when configured */
  ephemeralStorage?: string;
  storage: { workspace: string; home: string; storageClass?: string };
  /**
   * the names of its PVCs when they are not the derived `kodama-workspace-NAME` / `kodama-claude-home-NAME`
   * (volumes taken from the warm pool): every command finds them here (`namesOf`), never by the name
   */
  volumes?: { workspace: string; home: string };
  workdir: string;
  shell: string;
  serviceAccount?: string;
  /**
   * the pod's sandbox (sandbox.ts): token, user, egress policy. Unset (a session from before it): the
   * pods get the locked-down defaults and no egress policy
   */
  sandbox?: Sandbox;
  /**
   * the namespace's gateway this session goes through (src/session/spec/gateway.ts): its env Secret holds a
   * token instead of the real keys, and its egress policy allows only the gateway and DNS
   */
  gateway?: SessionGateway;
  /** the webhook of its runs' ends (notify.webhook at start): who relays it, never the URL or a key */
  notify?: SessionNotify;
  /** names (never values) of the variables in the env Secret */
  envVars: string[];
  /** keys of the editor ConfigMap the repository set (file names from editor.configDir) */
  editorFiles: string[];
  /** the editor ConfigMap holds the default Helix and Zellij configs too (editor.enabled) */
  editor?: boolean;
  /** the repository cloned into the workspace (`start --repo`) */
  git?: GitSpec;
  /**
   * several repositories (`start --repo A --repo B`), each cloned into `workdir/NAME` on its own branch
   * (src/session/git/repos.ts); `git` is then unset
   */
  repos?: SessionRepo[];
  /** a replica of `start --replicas`: its group's name and its number in it (1…N) */
  group?: { name: string; replica: number };
  /** idle stop: the pod ends itself after this many seconds without activity (lifetime.ts) */
  idleStop?: number;
  /** when the session expires (`--ttl`): `list` warns, `kodama gc` deletes it */
  expiresAt?: string;
  /** who started it: the user the API server reports, else the client certificate's CN */
  owner?: string;
  /** the template it was started from (`start --template`) */
  template?: string;
  /** containers beside the session container (a database, a cache); the agent and sync never use them */
  sidecars?: Sidecar[];
  /** run once in the session container, in the workspace, when `start` has it ready (a template's init) */
  init?: string | string[];
  /** the coding agent's command for this session (a template's agent.command; else agent.command) */
  agentCommand?: string[];
  /** the coding agent of this session as resolved at start (src/agent/presets/presets.ts): every run uses it */
  agent?: SessionAgent;
  /** the ConfigMap holds a CA bundle (CA_CERTS_KEY), mounted at CA_CERTS_PATH (NODE_EXTRA_CA_CERTS) */
  caCerts?: boolean;
  /**
   * the entry (a key: 32 hex digits) of the namespace's agent-CLI cache PVC (CLI_CACHE_PVC) mounted read-only
   * at CLI_CACHE_PATH; anything else (`true`: a session from before entries, whose cache was unverified) is
   * not mounted
   */
  cliCache?: string;
  /** ports the session serves: `kodama pf NAME` forwards them when no port is given */
  ports?: number[];
  /** extra labels on every object of the session (a template's labels) */
  labels?: Record<string, string>;
  /** plain variables of the session container (a template's env.vars; never secrets) */
  vars?: Record<string, string>;
  /** extra sync exclude patterns (a template's sync.exclude) */
  syncExclude?: string[];
  /** pull secrets, requests, devices, placement, annotations, priority (scheduling.ts) */
  scheduling?: Scheduling;
  createdAt: string;
}

/** What `start` takes from its flags (undefined = not given). */
export interface StartFlags {
  name: string;
  namespace: string;
  image?: string;
  cpu?: string;
  memory?: string;
  storage?: string;
  storageClass?: string;
  /** a replica of a group (`start --replicas`) */
  group?: { name: string; replica: number };
  /** `--idle-stop DURATION` (0: never) */
  idleStop?: string;
  /** `--ttl DURATION|TIME` */
  ttl?: string;
  /** the agent-home volume's size (a template's storage.claudeHome) */
  homeStorage?: string;
  /** `--service-account NAME`: run as it, with its token mounted */
  serviceAccount?: string;
  /** the session container's uid (a template's runAsUser; default session.runAsUser) */
  runAsUser?: number;
  /** `--image-pull-secret`, `--gpu`, `--resource`, `--node-selector`, `--toleration`, … (scheduling.ts) */
  scheduling?: SchedulingInput;
  /** `--mount-sa-token`: mount the ServiceAccount's token (default: session.serviceAccountToken, no token) */
  mountSaToken?: boolean;
  /** a template's scheduling and credentials (placement.ts: a repository's may not name credentials) */
  templateScheduling?: TemplateScheduling;
}

function absolute(dir: string, what: string): string {
  if (!dir.startsWith("/")) {
    throw usageError(`${what} must be an absolute path in the pod, got ${quote(dir)}`);
  }
  return dir.replace(/\/+$/, "") || "/";
}

/**
 * Resolve and validate the settings of a new session (flags > config > defaults). Throws exit 2 for
 * a bad name, a name too long for its objects, or a bad quantity — before any request is made.
 */
export function resolveSpec(
  f: StartFlags,
  cfg: Config,
  extra: { envVars: string[]; editorFiles: string[]; now?: Date },
): SessionSpec {
  const name = validateSessionName(f.name);
  const cpu = formatCpu(
    checkedCpu(f.cpu ?? cfg.defaults.resources.cpu, f.cpu ? "--cpu" : "defaults.resources.cpu"),
  );
  const memory = formatSize(
    checkedSize(
      f.memory ?? cfg.defaults.resources.memory,
      f.memory ? "--memory" : "defaults.resources.memory",
    ),
  );
  const workspace = formatSize(
    checkedSize(
      f.storage ?? cfg.defaults.storage.workspace,
      f.storage ? "--storage" : "defaults.storage.workspace",
    ),
  );
  const home = formatSize(
    checkedSize(f.homeStorage ?? cfg.defaults.storage.claudeHome, "defaults.storage.claudeHome"),
  );
  const eph = cfg.defaults.resources.storage;
  const storageClass = f.storageClass ?? cfg.defaults.storage.storageClass;
  if (storageClass !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(storageClass)) {
    throw usageError(
      `invalid --storage-class ${
        quote(storageClass)
      }: StorageClass names are lowercase letters, digits, '-' and '.'`,
    );
  }
  const now = extra.now ?? new Date();
  const idleStop = resolveIdleStop(
    f.idleStop ?? cfg.defaults.idleStop,
    f.idleStop !== undefined ? "--idle-stop" : "defaults.idleStop",
  );
  const expiresAt = resolveTtl(
    f.ttl ?? cfg.defaults.ttl,
    f.ttl !== undefined ? "--ttl" : "defaults.ttl",
    now,
  );
  const placed = resolveScheduling(f, cfg, { cpu, memory });
  const serviceAccount = f.serviceAccount ?? placed.serviceAccount ?? cfg.defaults.serviceAccount;
  if (serviceAccount !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(serviceAccount)) {
    throw usageError(
      `invalid ServiceAccount name ${quote(serviceAccount)}: lowercase letters, digits, '-' and '.'`,
    );
  }
  const sb = cfg.session;
  const sandbox = resolveSandbox({
    // a token only when asked: --mount-sa-token, or session.serviceAccountToken (never by a repository)
    serviceAccountToken: f.mountSaToken === true || sb.serviceAccountToken,
    runAsUser: f.runAsUser ?? sb.runAsUser,
    egress: sb.egress,
  });
  const image = (f.image ?? cfg.defaults.image).trim();
  if (!image || /\s/.test(image)) throw usageError(`invalid --image ${quote(f.image ?? cfg.defaults.image)}`);
  return {
    v: 1,
    name,
    namespace: f.namespace,
    image,
    cpu,
    memory,
    ...(eph ? { ephemeralStorage: formatSize(checkedSize(eph, "defaults.resources.storage")) } : {}),
    storage: { workspace, home, ...(storageClass ? { storageClass } : {}) },
    workdir: absolute(cfg.session.workdir, "session.workdir"),
    shell: cfg.session.shell,
    ...(serviceAccount ? { serviceAccount } : {}),
    sandbox,
    envVars: [...extra.envVars].sort(),
    editorFiles: [...extra.editorFiles].sort(),
    ...(f.group ? { group: f.group } : {}),
    ...(idleStop ? { idleStop } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(placed.scheduling ? { scheduling: placed.scheduling } : {}),
    createdAt: now.toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

/** The names of a session's objects: its PVCs as recorded (`volumes`), the rest derived from its name. */
export function namesOf(
  spec: { name: string; volumes?: { workspace: string; home: string } },
): SessionObjectNames {
  const n = objectNames(spec.name);
  return spec.volumes ? { ...n, workspacePVC: spec.volumes.workspace, homePVC: spec.volumes.home } : n;
}

/** The recorded spec of an object (undefined when missing or unreadable). */
export function specOf(obj: { metadata?: { annotations?: Record<string, string> } } | undefined):
  | SessionSpec
  | undefined {
  const raw = obj?.metadata?.annotations?.[ANNOTATION_SPEC];
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as SessionSpec;
    return s && s.v === 1 && typeof s.name === "string" && typeof s.image === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}
