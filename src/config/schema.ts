/**
 * The kodama configuration schema (zod v4): the single source of truth for every config key,
 * its type, default and description. `~/.kodama/config.yaml` and a repo's `.kodama.yaml` both
 * follow it; `configJsonSchema()` emits the JSON Schema published in `schemas/config.schema.json`.
 *
 * Leaves built with the helpers below (`cpuQuantity`, `sizeQuantity`, `duration`, ...) carry a
 * human-readable format hint used by `kodama config set` to coerce and explain values.
 */
import { MODEL_RE } from "./modelname.ts";
import { AGENT_CHOICES, PRESET_NAMES } from "./agentnames.ts";
import { z } from "zod";
import { DURATION_EXAMPLES, DURATION_RE } from "../base/duration.ts";
import { parseCidr } from "../base/cidr.ts";
import { isHostPattern } from "../base/hostpattern.ts";

/** What `config set` needs to know about a leaf beyond its zod type. */
export interface FormatHint {
  /** short name of the format, e.g. "CPU quantity" */
  name: string;
  /** examples, e.g. "2, 500m, 1.5" */
  example: string;
}

const hints = new WeakMap<z.ZodType, FormatHint>();

/** Look up the format hint of a leaf schema (unwrapping optional/default). */
export function formatHintOf(schema: z.ZodType): FormatHint | undefined {
  return hints.get(schema);
}

/**
 * What a repo's `.kodama.yaml` may do with a key (docs/security.md). A repo is untrusted input:
 * - `repoPath`: a local path (or list of them) read and sent to the cluster: from a repo it must lead
 *   inside the repository after resolving symlinks, else the repo's value is ignored with a warning;
 * - `userOnly`: a choice only the user makes (which local environment variables leave the machine,
 *   which of the kubeconfig's clusters and credentials kodama uses): a repo's value is ignored with a
 *   warning; set it in ~/.kodama/config.yaml or by a flag;
 * - `loopback`: a listen address: from a repo only a loopback address;
 * - `keepsLocal`: from a repo only the values that never make kodama overwrite or delete local files,
 *   or send more of them than the user's settings do (`sync.mode: one-way-pod` is refused).
 * Keys without a rule may come from a repo (tests/unit/config/repo_rules_test.ts holds the decision for
 * every key); `start` shows every value a repo set.
 */
export type RepoRule = "repoPath" | "userOnly" | "loopback" | "keepsLocal" | "placement";

export interface RepoRuleInfo {
  rule: RepoRule;
  /** `keepsLocal`: the values a repo may set */
  allowed?: readonly unknown[];
  /** `userOnly`: why only the user chooses it (one clause, shown in the warning) */
  why?: string;
}

const repoRules = new WeakMap<z.ZodType, RepoRuleInfo>();

/** The rule a repo's config is held to for this leaf (unwrapping nothing: pass the inner schema). */
export function repoRuleOf(schema: z.ZodType): RepoRuleInfo | undefined {
  return repoRules.get(schema);
}

function fromRepo<T extends z.ZodType>(rule: RepoRule, schema: T, more: Omit<RepoRuleInfo, "rule"> = {}): T {
  repoRules.set(schema, { rule, ...more });
  return schema;
}

const LOCAL_ENV = "a repository cannot choose which local environment variables leave this machine";

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

const commandArgs = new WeakSet<z.ZodType>();

/**
 * Whether a list leaf holds a command's words (`agent.command`, `agent.continueArgs`): `config set`
 * splits a string given for it as a POSIX shell does, quotes honoured. Mark new keys with `argvList()`.
 */
export function isCommandArgs(schema: z.ZodType): boolean {
  return commandArgs.has(schema);
}

function withHint<T extends z.ZodType>(schema: T, hint: FormatHint): T {
  hints.set(schema, hint);
  return schema;
}

/**
 * A string that must match `re` and describe an amount (greater than 0 unless `zero` is allowed);
 * YAML numbers (`cpu: 2`, `readyTimeout: 90`) are accepted too and stored as strings.
 */
function quantity(hint: FormatHint, re: RegExp, { zero = false } = {}) {
  const msg = (iss: { input?: unknown }) =>
    `${show(iss.input)} is not a ${hint.name} (expected e.g. ${hint.example})`;
  const matching = z.string().regex(re, { error: msg, abort: true });
  const asString = zero ? matching : matching.refine((s) => parseFloat(s) > 0, {
    error: (iss) => `${show(iss.input)} is not a ${hint.name}: it must be greater than 0`,
  });
  const num = zero ? z.number().nonnegative({ error: msg }) : z.number().positive({ error: msg });
  return withHint(z.union([asString, num], { error: msg }).transform((v) => String(v)), hint);
}

const CPU_HINT: FormatHint = { name: "CPU quantity", example: "2, 500m, 1.5" };
const SIZE_HINT: FormatHint = { name: "size quantity", example: "512Mi, 4Gi, 10Gi" };
const DURATION_HINT: FormatHint = { name: "duration", example: DURATION_EXAMPLES.join(", ") };
const NAMESPACE_HINT: FormatHint = { name: "namespace name", example: "default, dev-sessions" };

export const CPU_RE = /^(\d+m|\d+(\.\d+)?|\.\d+)$/;
export const SIZE_RE = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
export const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const cpuQuantity = () => quantity(CPU_HINT, CPU_RE);
const sizeQuantity = () => quantity(SIZE_HINT, SIZE_RE);
/** The shared duration grammar of src/base/duration.ts; a YAML number is seconds. */
const duration = () => quantity(DURATION_HINT, DURATION_RE, { zero: true });
const namespaceName = () => {
  const msg = (iss: { input?: unknown }) =>
    `${
      show(iss.input)
    } is not a valid ${NAMESPACE_HINT.name} (lowercase letters, digits and '-', at most 63 characters, e.g. ${NAMESPACE_HINT.example})`;
  return withHint(
    z.string({ error: msg }).max(63, { error: msg }).regex(DNS_LABEL_RE, { error: msg }),
    NAMESPACE_HINT,
  );
};
const typeMsg = (expected: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `expected ${expected}` : `${show(iss.input)} is not ${expected}`;
const str = () => z.string({ error: typeMsg("a string") });
const nonEmpty = (what: string) =>
  z.string({ error: typeMsg("a string") }).min(1, { error: `${what} must not be empty` });
const bool = () => z.boolean({ error: typeMsg("a boolean (expected true or false)") });
const int = (min: number, max: number) => {
  const msg = typeMsg(`an integer from ${min} to ${max}`);
  return z.number({ error: msg }).int({ error: msg }).min(min, { error: msg }).max(max, { error: msg });
};
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: typeMsg(`one of ${values.join(", ")}`) });
const stringList = () =>
  z.array(str().min(1, { error: "list entries must not be empty" }), {
    error: typeMsg("a list of strings (expected e.g. [a, b])"),
  });
/** A list of a command's words (see isCommandArgs); `needs` = the error when it is empty. */
const argvList = (needs?: string) => {
  const s = needs ? stringList().min(1, { error: needs }) : stringList();
  commandArgs.add(s);
  return s;
};
const envVarName = () =>
  str().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    error: (iss) => `${show(iss.input)} is not an environment variable name (expected e.g. GITHUB_TOKEN)`,
  });

const resources = z.object({
  cpu: cpuQuantity().default("1").describe(
    'CPU limit of a session pod, as a Kubernetes quantity ("2", "500m", "1.5"); the request is a quarter of it. Overridden by `start --cpu`.',
  ),
  memory: sizeQuantity().default("2Gi").describe(
    'Memory limit of a session pod ("512Mi", "4Gi"); the request is a quarter of it. Overridden by `start --memory`.',
  ),
  storage: sizeQuantity().optional().describe(
    'Ephemeral-storage limit of a session pod ("10Gi"); unset means no limit.',
  ),
  cpuRequest: cpuQuantity().optional().describe(
    'CPU request of a session pod ("500m"), at most the limit; unset: a quarter of the limit. Overridden by `start --cpu-request`.',
  ),
  memoryRequest: sizeQuantity().optional().describe(
    'Memory request of a session pod ("1Gi"), at most the limit; unset: a quarter of the limit. Overridden by `start --memory-request`.',
  ),
}).strict().describe("Resource limits (and requests) for session pods.");

const stringMap = (what: string) =>
  z.record(str(), z.union([str(), z.number()]).transform(String), {
    error: typeMsg(`a map of ${what} (expected e.g. {key: value})`),
  });

const scheduling = z.object({
  imagePullSecrets: fromRepo("userOnly", stringList(), {
    why: "a repository cannot choose which registry credentials of the namespace its pods use",
  }).default([]).describe(
    "Secrets (kubernetes.io/dockerconfigjson) the session pods and their helper pods pull images with: a session image from a private registry. `start --image-pull-secret` adds one. Only ~/.kodama/config.yaml sets it.",
  ),
  gpu: int(1, 1024).optional().describe(
    "nvidia.com/gpu devices for every session pod (requested and limited). Overridden by `start --gpu`.",
  ),
  resources: stringMap("extended resources").default({}).describe(
    "Extended resources for every session pod, NAME: whole number (e.g. {amd.com/gpu: 1}). `start --resource NAME=QTY` adds or overrides one.",
  ),
  nodeSelector: fromRepo("placement", stringMap("node labels")).default({}).describe(
    "Node labels the session pods (and their helper pods) must match, e.g. {cloud.google.com/gke-nodepool: dev}. `start --node-selector K=V` adds or overrides one. A repository may not select on a Kubernetes label other than arch, os, zone, region and instance type (a control-plane node).",
  ),
  tolerations: fromRepo("placement", stringList()).default([]).describe(
    "Taints the session pods (and their helper pods) tolerate, as `KEY[=VALUE]:EFFECT` (Equal) or `KEY:EFFECT` (Exists); EFFECT is NoSchedule, PreferNoSchedule or NoExecute. `start --toleration` adds one. A repository may not tolerate a taint of Kubernetes' own (a control-plane node, `*.kubernetes.io/*`).",
  ),
  annotations: fromRepo("userOnly", stringMap("annotations"), {
    why: "annotations steer admission and the runtime (an AppArmor profile, a sidecar injector)",
  }).default({}).describe(
    'Annotations on the session pod (not kodama.dev/*), e.g. {cluster-autoscaler.kubernetes.io/safe-to-evict: "false"}. `start --annotation K=V` adds or overrides one. Only ~/.kodama/config.yaml sets it.',
  ),
  priorityClass: fromRepo("userOnly", str(), {
    why: "a priority class decides which pods are evicted for a session's (system-node-critical)",
  }).optional().describe(
    "PriorityClass of the session pods. Overridden by `start --priority-class`. Only ~/.kodama/config.yaml sets it.",
  ),
}).strict().describe(
  "Scheduling of session pods on a real cluster: registries, devices, placement (docs/sessions.md).",
);

const storage = z.object({
  workspace: sizeQuantity().default("10Gi").describe(
    "Size of the workspace PVC kodama-workspace-NAME (mounted at session.workdir, where your code lives). Overridden by `start --storage`.",
  ),
  claudeHome: sizeQuantity().default("1Gi").describe(
    "Size of the home PVC kodama-claude-home-NAME, mounted as HOME (/home/kodama): dotfiles, caches, the coding agent's config.",
  ),
  storageClass: str().optional().describe(
    "StorageClass for session PVCs; unset uses the cluster's default StorageClass. Overridden by `start --storage-class`.",
  ),
  pool: bool().default(true).describe(
    "`start` takes a matching Bound volume pair from the namespace's warm pool (`kodama pool ensure`) when there is one. `start --no-pool` turns it off for one start.",
  ),
  poolRefill: bool().default(true).describe(
    "After `start` took a pair from the warm pool, it runs `kodama pool ensure` in the background to bring the pool back to its size; false: it prints that command instead (a pool you size yourself, e.g. from a cron job).",
  ),
}).strict().describe("Persistent volume sizes for sessions.");

/** The public Node LTS image kodama names for its own pods (the gateway's, the CLI cache's install pod). */
export const NODE_IMAGE = "node:22-bookworm";

const SANDBOX = "a repository cannot loosen the pod's sandbox (the agent in it runs without prompts)";
const DRAINS = "a budget that holds back the cluster's drains is for the user to ask for";

const defaults = z.object({
  namespace: namespaceName().optional().describe(
    "Namespace used when -n/--namespace is not given; unset falls back to the kubeconfig context's namespace, then `default`.",
  ),
  context: fromRepo("userOnly", nonEmpty("a context name"), {
    why: "a repository cannot choose which of your kubeconfig's clusters and credentials kodama uses",
  }).optional().describe(
    "Kubeconfig context used when --context is not given; unset uses the kubeconfig's current-context. Only ~/.kodama/config.yaml sets it: a repo's value is ignored.",
  ),
  image: nonEmpty("an image reference").default("ghcr.io/illumination-k/kodama-claude:latest").describe(
    "Container image for session pods; it should contain git, a shell and the coding agent CLI.",
  ),
  resources: resources.prefault({}),
  scheduling: scheduling.prefault({}),
  storage: storage.prefault({}),
  branchPrefix: str().default("kodama/").describe(
    "Prefix of the branch a session creates automatically (e.g. kodama/my-work-20250115143000).",
  ),
  serviceAccount: fromRepo("userOnly", str(), { why: SANDBOX }).optional().describe(
    "ServiceAccount for session pods; unset uses the namespace's default ServiceAccount. Its token is mounted only with session.serviceAccountToken. Only ~/.kodama/config.yaml sets it.",
  ),
  idleStop: duration().optional().describe(
    "Stop a session by itself after this long without activity (a process started through exec, a write under the workspace); a connected background sync flushes both ways first; its volumes and settings stay and `resume`/`attach` bring it back. At least 10s; 0 or unset: never. Overridden by `start --idle-stop`.",
  ),
  ttl: fromRepo("userOnly", duration()).optional().describe(
    "Record an expiry this long after a session starts: `list` shows it (EXPIRES, -o wide) and warns once it has passed, `kodama gc` deletes expired sessions. Unset: none. Overridden by `start --ttl`. Only ~/.kodama/config.yaml sets it: a repo's value is ignored (an expiry is the user's call).",
  ),
}).strict().describe("Defaults for sessions and pod commands.");

const cidrList = () =>
  z.array(
    str().refine((s) => parseCidr(s) !== undefined, {
      error: (iss) => `${show(iss.input)} is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/8)`,
    }),
    { error: typeMsg("a list of CIDRs (expected e.g. [10.0.0.0/8, 192.168.0.0/16])") },
  );

const egress = z.object({
  enabled: fromRepo("userOnly", bool(), { why: SANDBOX }).default(true).describe(
    "Give every session an egress NetworkPolicy (kodama-egress-NAME): DNS, and every address except the cloud metadata endpoints (link-local, Alibaba's, Azure's; kodama doctor lists them) and egress.deny, or only egress.allow. false: none (for a user who may not create NetworkPolicies). Only as good as the cluster's network plugin (kodama doctor). Only ~/.kodama/config.yaml sets it.",
  ),
  deny: fromRepo("userOnly", cidrList(), { why: SANDBOX }).default([]).describe(
    "CIDRs the session pods may not reach, besides the cloud metadata endpoints (169.254.0.0/16, fe80::/10, fd00:ec2::254/128, 100.100.100.200/32, 168.63.129.16/32, …: docs/security.md): set it to the cluster's pod and service ranges to keep the agent off other pods and the API server. Only ~/.kodama/config.yaml sets it.",
  ),
  allow: fromRepo("userOnly", cidrList(), { why: SANDBOX }).optional().describe(
    "Only these CIDRs (and DNS) are reachable; unset: everywhere but the denied ranges; []: DNS only. A NetworkPolicy cannot name hosts: a host allow-list needs a proxy or the CNI's own policy type. Only ~/.kodama/config.yaml sets it.",
  ),
  hosts: fromRepo(
    "userOnly",
    z.array(
      str().refine((s) => isHostPattern(s.toLowerCase()), {
        error: (iss) =>
          `${show(iss.input)} is not a host name (expected e.g. registry.npmjs.org or "*.pypi.org")`,
      }),
      { error: typeMsg('a list of host names (expected e.g. [registry.npmjs.org, "*.pypi.org"])') },
    ),
    { why: SANDBOX },
  ).optional().describe(
    "Host names a session that goes through the namespace's gateway (kodama gateway) may reach besides its agent's API and git host, by HTTPS through the gateway's proxy: `*.x.org` is every subdomain of x.org (not x.org). Without a gateway it has no effect (a NetworkPolicy names no hosts). Only ~/.kodama/config.yaml sets it.",
  ),
}).strict().describe("The session pods' egress NetworkPolicy (docs/security.md).");

const session = z.object({
  readyTimeout: duration().default("5m").describe(
    "How long `start`/`resume` wait for the session pod to become ready.",
  ),
  workdir: nonEmpty("a directory").default("/workspace").describe(
    "Working directory inside the session pod (where the repo is cloned and files are synced).",
  ),
  shell: nonEmpty("a shell").default("/bin/bash").describe(
    "Shell started by `attach` when no --command is given, if the image has it (else bash, else sh); `zellij` joins the session's zellij session.",
  ),
  serviceAccountToken: fromRepo("userOnly", bool(), { why: SANDBOX }).default(false).describe(
    "Mount the ServiceAccount token in session pods (automountServiceAccountToken); off by default: nothing in the pod needs the API server. `start --mount-sa-token` turns it on for one session. Only ~/.kodama/config.yaml sets it.",
  ),
  runAsUser: fromRepo("userOnly", int(0, 2147483647), { why: SANDBOX }).optional().describe(
    "uid of the session and clone containers (e.g. 1000); unset: the image's user. Non-root gets no capabilities and runAsNonRoot (apt, sudo and ports below 1024 then fail). A template's runAsUser overrides it. Only ~/.kodama/config.yaml sets it.",
  ),
  egress: egress.prefault({}),
  protectRunning: fromRepo("userOnly", bool(), { why: DRAINS }).default(false).describe(
    "While an agent runs in a session, a PodDisruptionBudget (kodama-protect-NAME, minAvailable 1) makes a voluntary eviction (`kubectl drain`, a node upgrade) wait instead of moving the pod; kodama removes it when it sees the run end, at `stop`/`delete`, and `kodama gc` once session.protectFor has passed. It cannot stop a lost node, a preemption or the kubelet's pressure eviction (docs/sessions.md). Only ~/.kodama/config.yaml sets it.",
  ),
  protectFor: fromRepo("userOnly", duration(), { why: DRAINS }).default("6h").describe(
    "The longest a session.protectRunning budget holds a drain back, from the run's start: after it `kodama gc` removes it (a drain then proceeds). Only ~/.kodama/config.yaml sets it.",
  ),
  gateway: fromRepo("userOnly", bool(), { why: SANDBOX }).optional().describe(
    "New sessions go through the namespace's gateway when it has one (kodama gateway ensure; unset: true): their env Secret holds a token instead of the agent's keys, and their egress is the gateway only. false: never (the keys go into the session as without a gateway). `start --no-gateway` opts out for one session. Only ~/.kodama/config.yaml sets it.",
  ),
}).strict().describe("Session lifecycle settings.");

const git = z.object({
  authMethod: oneOf(["auto", "token", "ssh", "none"]).default("auto").describe(
    "How sessions authenticate git: `token` (a token from the env or dotenv files), `ssh` (the key in git.secretName), `none`, or `auto` (token for https URLs when one is available, ssh for ssh URLs).",
  ),
  tokenEnv: fromRepo("userOnly", envVarName(), { why: LOCAL_ENV }).default("GITHUB_TOKEN").describe(
    "Environment variable (local env or dotenv files) holding the git token for HTTPS clones. Only ~/.kodama/config.yaml sets it: a repo's value is ignored.",
  ),
  secretName: str().optional().describe(
    "Kubernetes Secret with an `ssh-privatekey` key used for SSH git URLs.",
  ),
  autoBranch: bool().default(true).describe(
    "Create a new branch named `<defaults.branchPrefix><session>-<timestamp>` after cloning.",
  ),
  userName: str().optional().describe("git user.name configured inside session pods."),
  userEmail: str().optional().describe("git user.email configured inside session pods."),
  image: str().optional().describe(
    "Image of the init container that clones the repo; unset uses the session image (defaults.image or --image).",
  ),
  caFile: fromRepo("repoPath", str()).optional().describe(
    "PEM file (relative to the git root) with the CA that signs an HTTPS git server's certificate; mounted in the pod and set as http.sslCAInfo. In a repo's .kodama.yaml it must lead inside the repository.",
  ),
}).strict().describe("Git clone and authentication for sessions.");

const env = z.object({
  dotenvFiles: fromRepo("repoPath", stringList()).default([]).describe(
    "Dotenv files (relative to the git root) whose variables `start` injects as a Secret, before `--env-file` files; missing ones are skipped. Files a repo names (and relative paths) must lead inside the repository, after symlinks.",
  ),
  excludeVars: z.array(envVarName(), {
    error: typeMsg("a list of variable names (expected e.g. [FOO, BAR])"),
  }).default([]).describe(
    "Variable names never injected from dotenv files (system variables like PATH and HOME are always excluded). Also spelled defaults.env.excludeVars; the global list and a repo's are merged (both apply).",
  ),
}).strict().describe("Environment variables injected into sessions.");

const sync = z.object({
  enabled: bool().default(true).describe(
    "Sync the local directory into new sessions (`start --no-sync` turns it off).",
  ),
  useGitignore: fromRepo("keepsLocal", bool(), { allowed: [true] }).default(true).describe(
    "Skip what .gitignore files (at every level) and .git/info/exclude ignore, as git does. A repo's .kodama.yaml cannot turn it off (that would send ignored files such as .env to the pod).",
  ),
  excludePatterns: stringList().default([]).describe(
    "Extra gitignore-style patterns never synced (in addition to .kodamaignore).",
  ),
  git: oneOf(["auto", "always", "never"]).default("auto").describe(
    "Sync the .git directory: auto = not when the session has a --repo (the pod has its own clone), else yes (the agent needs the history to commit).",
  ),
  watch: bool().default(true).describe(
    "Keep syncing in the background after `start --sync` and `resume` (`kodama sync stop` ends it).",
  ),
  mode: fromRepo("keepsLocal", oneOf(["two-way", "one-way-local", "one-way-pod"]), {
    allowed: ["two-way", "one-way-local"],
  }).default("two-way").describe(
    "two-way: changes go both ways, a path changed on both sides is a conflict (both kept); one-way-local: the pod follows the local tree; one-way-pod: the local tree follows the pod (the one-way modes keep a copy of what they replace). `--sync-mode` overrides it. A repo's .kodama.yaml cannot choose one-way-pod (the pod would overwrite local files).",
  ),
  maxFiles: int(1, 10_000_000).default(50_000).describe(
    "`start` without --sync syncs the current directory only when it is a project with at most this many files.",
  ),
}).strict().describe("File synchronisation into sessions.");

const editor = z.object({
  enabled: bool().default(true).describe(
    "Give sessions the editor ConfigMap: default Helix and Zellij configs (a repo file in configDir replaces one), in ~/.config/helix and ~/.config/zellij.",
  ),
  configDir: fromRepo("repoPath", nonEmpty("a directory")).default(".kodama/configs").describe(
    "Repo directory with editor overrides (helix-config.toml, helix-languages.toml, zellij-config.kdl); it and the files in it must lead inside the repository, after symlinks.",
  ),
}).strict().describe("Editor configuration for sessions.");

export { MODEL_RE };
const modelName = () =>
  str().regex(MODEL_RE, {
    error: (iss: { input?: unknown }) =>
      `${show(iss.input)} is not a model name (letters, digits and . _ : / @ + -, e.g. claude-sonnet-4-5)`,
  });

const envNames = () =>
  fromRepo(
    "userOnly",
    z.array(envVarName(), { error: typeMsg("a list of variable names (expected e.g. [FOO, BAR])") }),
    { why: LOCAL_ENV },
  );

const CLI_CACHE_WHY = "the CLI cache is a volume of the namespace, shared by every session in it";
/** An npm registry: http(s), no user or password in it (the install pod's spec is readable in the namespace). */
const registryUrl = () =>
  nonEmpty("a registry URL").regex(/^https?:\/\/[^\s/@]+(\/[^\s@]*)?$/, {
    error: "expected an http(s) URL without credentials (e.g. https://registry.npmjs.org/)",
  });

const agent = z.object({
  preset: oneOf(AGENT_CHOICES).optional().describe(
    `The coding agent sessions run: claude (the default), ${
      PRESET_NAMES.filter((n) => n !== "claude").join(", ")
    }, or custom (agent.command). \`--agent\` and a template's agent.preset choose another; \`kodama agent presets\` shows what each runs. A repository may set it.`,
  ),
  command: argvList("agent.command needs at least the program name").optional()
    .describe(
      "A custom coding-agent command (agent.preset custom; set alone it means custom): run in the session's workspace for `--prompt` and `agent run`, it reads the prompt on stdin (its file is in KODAMA_PROMPT_FILE).",
    ),
  args: stringList().default([]).describe(
    "Extra arguments after the preset's command (e.g. [--model, opus]); they run in the pod only.",
  ),
  forwardEnv: z.object({
    claude: envNames().optional().describe(
      "Variables forwarded to claude sessions (replaces the preset's list: ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL and the proxy/CA variables). Only ~/.kodama/config.yaml sets it.",
    ),
    codex: envNames().optional().describe(
      "Variables forwarded to codex sessions (replaces the preset's list: OPENAI_API_KEY, CODEX_API_KEY, OPENAI_BASE_URL and the proxy/CA variables). Only ~/.kodama/config.yaml sets it.",
    ),
    gemini: envNames().optional().describe(
      "Variables forwarded to gemini sessions (replaces the preset's list: GEMINI_API_KEY, GOOGLE_API_KEY, GOOGLE_GEMINI_BASE_URL and the proxy/CA variables). Only ~/.kodama/config.yaml sets it.",
    ),
    opencode: envNames().optional().describe(
      "Variables forwarded to opencode sessions (replaces the preset's list: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and the proxy/CA variables). Only ~/.kodama/config.yaml sets it.",
    ),
    pi: envNames().optional().describe(
      "Variables forwarded to pi sessions (replaces the preset's list: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and the proxy/CA variables). Only ~/.kodama/config.yaml sets it.",
    ),
    qwen: envNames().optional().describe(
      "Variables forwarded to qwen sessions (replaces the preset's list: OPENAI_API_KEY, OPENAI_BASE_URL and the proxy/CA variables). Only ~/.kodama/config.yaml sets it.",
    ),
    custom: envNames().optional().describe(
      "Variables forwarded to sessions of a custom agent.command (replaces agent.authEnv and the proxy/CA variables). Only ~/.kodama/config.yaml sets it.",
    ),
  }).strict().prefault({}).describe(
    "Which local variables (from env files, else this environment) go into a session's env Secret for its agent, per preset; a repository cannot widen them.",
  ),
  authEnv: fromRepo(
    "userOnly",
    z.array(envVarName(), { error: typeMsg("a list of variable names (expected e.g. [FOO, BAR])") }),
    { why: LOCAL_ENV },
  )
    .default([]).describe(
      "Environment variables that carry a custom agent's credentials (and are added to every preset's); taken from dotenv files or the local env, and given to the agent through the env Secret only. A custom agent gets no credential unless listed here (or in agent.forwardEnv.custom). Only ~/.kodama/config.yaml sets it: a repo's value is ignored.",
    ),
  // a repo may set it: it runs in the session's pod only (like agent.command), never on this machine
  check: nonEmpty("a shell command").optional().describe(
    "Shell command run in the session's workspace, in the pod, when an agent run has ended (e.g. npm test); its exit code and output are recorded with the run and shown by `kodama compare`. A repository's .kodama.yaml may set it: it only ever runs in the pod, never on this machine.",
  ),
  continueArgs: argvList().default(["--continue"]).describe(
    "Arguments added to a custom agent.command by `agent run --continue`, so the agent continues its last conversation from the home volume (a preset knows its own).",
  ),
  cliCache: fromRepo("userOnly", oneOf(["auto", "off"]), { why: CLI_CACHE_WHY }).default("auto").describe(
    "auto: for `start --prompt` (and its --replicas), a preset's CLI the session image lacks is installed once per namespace and install source, by an install pod of kodama's (agent.cliCacheImage, agent.cliCacheRegistry; never the session's image or env), checked against the registry's stated integrity, into the ReadWriteMany PVC kodama-agent-clis that session pods mount read-only (replicas and later sessions reuse it; without ReadWriteMany storage each session installs its own, as with off). off: each session installs it into its home volume. Only ~/.kodama/config.yaml sets it.",
  ),
  cliCacheImage: fromRepo("userOnly", nonEmpty("an image"), { why: CLI_CACHE_WHY }).optional().describe(
    "Image of the CLI cache's install pod (any image with Node and npm); unset: gateway.image (default node:22-bookworm). Never the session's image. Only ~/.kodama/config.yaml sets it.",
  ),
  cliCacheRegistry: fromRepo("userOnly", registryUrl(), { why: CLI_CACHE_WHY }).optional().describe(
    "The npm registry the CLI cache installs from (an http(s) URL without credentials); unset: NPM_CONFIG_REGISTRY (or npm_config_registry) of this machine's environment, else https://registry.npmjs.org/. Never a session's env or a repository's. Only ~/.kodama/config.yaml sets it.",
  ),
  resumeLimit: int(0, 100).default(3).describe(
    "How many times an agent run cut off by its pod's end (an eviction, a preemption, a lost node, a deleted pod) resumes by itself on the session's next pod, continuing the same conversation within the run's budgets; then it ends interrupted. 0: never. A run ended by `kodama stop` or `agent interrupt` is never resumed (docs/agents.md).",
  ),
  stallTimeout: duration().default("10m").describe(
    "An agent run that prints nothing for this long is ended and reported failed (stalled); one whose output only grows by the agent's own retries of its model API for a minute is ended as unreachable. 0 turns both off.",
  ),
  models: z.array(modelName(), { error: typeMsg("a list of model names (expected e.g. [a, b])") }).optional()
    .describe(
      "The models of a session's agent runs, primary first, then fallbacks (e.g. [claude-sonnet-4-5, claude-haiku-4-5]): Claude Code gets --model and --fallback-model, codex and gemini -m with the pod's runner switching model on overload. `--model` and `--fallback-model` override it. A repository's .kodama.yaml may choose models (never credentials).",
    ),
  retry: z.object({
    attempts: int(0, 100).optional().describe(
      "How many times the pod-side runner continues a run that ended overloaded, rate-limited or unreachable (0: never; unset: the runner's default, 6). `--retry N` and `--no-retry` override it.",
    ),
    maxWait: duration().optional().describe(
      "The longest the runner waits before one continuation (unset: the runner's default, 30m).",
    ),
  }).strict().optional().describe(
    "Continuing a run that ended on transient API trouble, in the pod (docs/agents.md).",
  ),
}).strict().describe("Coding agent runs.");

const NOTIFY_WHY = "a repository cannot choose how kodama reaches you";

/** Keys whose value is a secret: `config view`, `config get` and `config set` show them masked (maskSecret). */
export const SECRET_KEYS: readonly string[] = ["notify.webhook"];

/** A secret URL as it may be shown: its scheme and host, the rest (credentials, path, query) hidden. */
export function maskSecret(v: unknown): string {
  if (typeof v !== "string" || !v) return String(v);
  try {
    const u = new URL(v);
    return `${u.protocol}//${u.host}/***`;
  } catch {
    return "***";
  }
}

const webhookUrl = () =>
  str().refine((v) => {
    try {
      return ["http:", "https:"].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, { error: "notify.webhook must be an http:// or https:// URL" });

const notify = z.object({
  webhook: fromRepo("userOnly", webhookUrl(), { why: NOTIFY_WHY }).optional().describe(
    "A URL that gets a signed JSON event when an agent run ends or waits on you (docs/agents.md): relayed by the namespace's gateway (after `gateway ensure`), else sent by kodama on your machine when it sees the end. Never in a pod; shown masked. Only ~/.kodama/config.yaml sets it.",
  ),
  on: fromRepo(
    "userOnly",
    z.array(oneOf(["done", "failed", "needs-input"]), {
      error: typeMsg("a list of events (expected e.g. [done, failed, needs-input])"),
    }),
    { why: NOTIFY_WHY },
  ).default(["done", "failed", "needs-input"]).describe(
    "Which ends of an agent run are announced: done (it succeeded), failed (with its outcome class, stalled included), needs-input (its tool uses were denied, a budget stopped it, or its last words ask a question). Only ~/.kodama/config.yaml sets it.",
  ),
  desktop: fromRepo("userOnly", bool(), { why: NOTIFY_WHY }).default(true).describe(
    "Show a desktop notification (macOS Notification Center, notify-send on Linux, a balloon on Windows) when `agent logs -f`, `compare --wait` or `compare -w` on a terminal sees a run end. Only ~/.kodama/config.yaml sets it.",
  ),
}).strict().describe("Being told when an agent run ends or waits on you (docs/agents.md).");

const exec = z.object({
  maxParallel: int(1, 1000).default(32).describe(
    "How many pods `exec` runs a command in at the same time (1..1000).",
  ),
  shell: nonEmpty("a shell").default("sh").describe(
    "Shell used to run a command given as one string (`sh -c '...'`).",
  ),
  container: str().optional().describe(
    "Container used when -c/--container is not given and a pod has several; unset uses the default container annotation or the first container.",
  ),
}).strict().describe("Fan-out exec across pods.");

const picker = z.object({
  preview: bool().default(true).describe("Show a preview pane (pod details) in the interactive picker."),
}).strict().describe("The interactive pod picker.");

const output = z.object({
  color: oneOf(["auto", "always", "never"]).default("auto").describe(
    "Colour output: `auto` colours only on a TTY without NO_COLOR; `always`; `never` (same as --no-color).",
  ),
}).strict().describe("Output formatting.");

const logs = z.object({
  maxStreams: int(1, 1000).default(50).describe(
    "Maximum number of log streams `logs` follows at once across matched pods.",
  ),
  timestamps: bool().default(false).describe("Prefix log lines with their timestamps."),
}).strict().describe("Multi-pod logs.");

const portForward = z.object({
  address: fromRepo("loopback", nonEmpty("an address")).default("127.0.0.1").describe(
    "Local address port-forwards listen on; a repo's .kodama.yaml may only name a loopback address.",
  ),
}).strict().describe("Port forwarding.");

const workflows = z.object({
  paths: fromRepo("repoPath", stringList()).default([]).describe(
    "Extra directories searched for workflow files, before ~/.kodama/workflows and the built-in workflows; from a repo's .kodama.yaml only directories inside the repository.",
  ),
}).strict().describe("Workflow discovery.");

const mcp = z.object({
  contexts: fromRepo("userOnly", stringList(), {
    why: "a repository cannot choose which clusters kodama mcp lets an agent reach with your credentials",
  }).default([]).describe(
    "Kubeconfig contexts `kodama mcp` may use (names or globs; the first is its default); empty: any context, unless --context pins them. Only ~/.kodama/config.yaml may set it.",
  ),
}).strict().describe("The MCP server (`kodama mcp`).");

const log = z.object({
  level: oneOf(["debug", "info", "warning", "error"]).default("warning").describe(
    "Log level used when --log-level is not given.",
  ),
  format: oneOf(["text", "json"]).default("text").describe("Log format used when --log-format is not given."),
}).strict().describe("Logging to stderr.");

const gateway = z.object({
  image: fromRepo("userOnly", nonEmpty("an image"), { why: SANDBOX }).default(NODE_IMAGE).describe(
    "Image of the gateway pod (kodama gateway ensure): any image with Node 18 or later on PATH as `node`, run as uid 1000; nothing is installed in it. Only ~/.kodama/config.yaml sets it: the gateway holds the keys.",
  ),
  prices: fromRepo(
    "userOnly",
    z.record(
      str(),
      z.object({
        input: z.number().nonnegative(),
        output: z.number().nonnegative(),
        cacheRead: z.number().nonnegative().optional(),
        cacheWrite: z.number().nonnegative().optional(),
      }).strict(),
      { error: typeMsg("a map of model globs to prices (expected e.g. {gpt-6*: {input: 2, output: 12}})") },
    ),
    { why: "a repository cannot price what a budget spends" },
  ).optional().describe(
    "USD per million tokens by model glob (`gpt-6*`; `*` any other), before the gateway's own prices; a session with a budget uses priced models only. kodama gateway ensure writes them. Only ~/.kodama/config.yaml sets it.",
  ),
}).strict().describe("The namespace's gateway (kodama gateway; docs/security.md).");

const FORGE_WHY = "a repository cannot choose where kodama sends your forge token";

const forgeHost = z.object({
  type: oneOf(["github", "gitlab", "gitea"]).optional().describe(
    "Which forge the host runs: github (github.com, Enterprise Server), gitlab, or gitea (Gitea and Forgejo).",
  ),
  apiUrl: str().refine((v) => {
    try {
      return ["http:", "https:"].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, { error: "forge.hosts.<host>.apiUrl must be an http:// or https:// URL" }).optional().describe(
    "The forge's REST API base (default: https://api.github.com for github.com, https://HOST/api/v3 for GitHub Enterprise Server, https://HOST/api/v4 for GitLab, https://HOST/api/v1 for Gitea).",
  ),
}).strict();

const forge = z.object({
  hosts: fromRepo(
    "userOnly",
    z.record(str(), forgeHost, {
      error: typeMsg('a map of hosts to forges (expected e.g. {"git.example.com": {type: gitlab}})'),
    }),
    { why: FORGE_WHY },
  ).default({}).describe(
    "`session pr`: the forge of a remote's host (`host` or `host:port`) when its name does not say it, and its API's base. Only ~/.kodama/config.yaml sets it: the forge gets your token.",
  ),
}).strict().describe("Forges: where `session pr` opens pull and merge requests (docs/sessions.md).");

/** The whole config file. Every section is optional in a file; defaults are applied on load. */
export const configSchema = z.object({
  defaults: defaults.prefault({}),
  session: session.prefault({}),
  git: git.prefault({}),
  env: env.prefault({}),
  sync: sync.prefault({}),
  editor: editor.prefault({}),
  agent: agent.prefault({}),
  notify: notify.prefault({}),
  gateway: gateway.prefault({}),
  exec: exec.prefault({}),
  picker: picker.prefault({}),
  output: output.prefault({}),
  logs: logs.prefault({}),
  portForward: portForward.prefault({}),
  workflows: workflows.prefault({}),
  mcp: mcp.prefault({}),
  forge: forge.prefault({}),
  log: log.prefault({}),
}).strict().describe("kodama configuration (~/.kodama/config.yaml and a repo's .kodama.yaml)");

/** Config values with every default applied. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain. */
export type ConfigInput = z.input<typeof configSchema>;

/** JSON Schema (draft 2020-12) of a config file, for editors and `schemas/config.schema.json`. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12" }) as Record<
    string,
    unknown
  >;
  addMissingDefaults(configSchema, schema);
  return {
    $schema: schema.$schema,
    $id: "https://kodama.dev/schemas/config.schema.json",
    title: "kodama config",
    ...schema,
  };
}

type JsonObj = Record<string, unknown>;

/** A schema with its optional/default/prefault wrappers peeled off. */
export interface Unwrapped {
  /** the innermost schema (an object for sections, the leaf type otherwise) */
  inner: z.ZodType;
  /** the value of the `.default(...)` layer, if any */
  defaultValue?: unknown;
  /** every layer, outermost first, ending with `inner` */
  layers: z.ZodType[];
}

/** Peel optional/default/prefault wrappers off a config schema node. */
export function unwrapSchema(schema: z.ZodType): Unwrapped {
  const layers: z.ZodType[] = [schema];
  let inner: z.ZodType = schema;
  let defaultValue: unknown = undefined;
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      defaultValue = (inner.def as { defaultValue: unknown }).defaultValue;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional) {
      inner = inner.unwrap() as z.ZodType;
    } else break;
    layers.push(inner);
  }
  return { inner, defaultValue, layers };
}

/** zod leaves out `default` for keys whose input and output differ (quantities); put it back for editors. */
function addMissingDefaults(schema: z.ZodType, json: JsonObj): void {
  const { inner, defaultValue: def } = unwrapSchema(schema);
  if (def !== undefined && !("default" in json)) json.default = def;
  if (inner instanceof z.ZodObject) {
    const props = (json.properties ?? {}) as Record<string, JsonObj>;
    for (const [name, child] of Object.entries(inner.shape)) {
      if (props[name]) addMissingDefaults(child as z.ZodType, props[name]);
    }
  }
}
