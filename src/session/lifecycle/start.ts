/**
 * `kodama start NAME`: a short list of named steps.
 *
 *   plan            settings, env files and editor configs -> objects (no request; every check first)
 *   claimName       create the env Secret: the first object, so of two concurrent starts exactly one wins
 *   createGitSecret the git credentials Secret (a token, a CA), when `--repo` needs one
 *   createVolumes   the workspace and agent-home PVCs: the ones a deleted session of the name kept, else a
 *                   matching Bound pair from the warm pool (pool.ts), else new ones
 *                   (and, in the same round trip, createEditor: the editor ConfigMap, default Helix +
 *                   Zellij configs, the repo's override them)
 *   createPod       the pod
 *   waitReady       watch until Running and Ready (phases shown), or fail with the reason and events
 *   afterReady      record the cloned branch and commit; what later features add (sync, agent runs)
 *
 * Ctrl-C at any step removes what this run created except the volumes, and says which volumes remain.
 */
import { createWorkload, removeWorkload } from "./workload.ts";
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Config } from "../../config/schema.ts";
import { originOf } from "../../config/origin.ts";
import { readRepoFile } from "../../config/confine.ts";
import { readTextBounded } from "../../base/fs/boundedread.ts";
import { caBundle } from "../spec/cabundle.ts";
import { isAbsolute, join, resolve } from "../../base/fs/fspath.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { withInterrupt } from "../../base/proc/proc.ts";
import { durationValueMs, formatDuration, parseDuration } from "../../base/duration.ts";
import { renderList } from "../../ui/output.ts";
import { jobForServer } from "../spec/oneshot.ts";
import type { Sink } from "../../base/sink.ts";
import { checkEnvSize, dropWarning, filterEnv, markTracked, readEnvFiles } from "../spec/envfile.ts";
import { resolveVars } from "../spec/varsource.ts";
import { dotenvFilesAreYours, holdSteering } from "../../config/steering.ts";
import { editorData } from "../spec/editor.ts";
import {
  buildSession,
  redactedList,
  type SessionData,
  type SessionObjects,
  withCliCache,
} from "../spec/manifests.ts";
import {
  ANNOTATION_SPEC,
  LABEL_RETAINED,
  LABEL_SESSION,
  LABEL_VOLUME,
  objectNames,
  sessionSelector,
} from "../spec/names.ts";
import { checkBranch, gitSecretData, parseRepoUrl, resolveGit } from "../git/git.ts";
import { multiRepoRefusal, parseRepoFlags, type SessionRepo } from "../git/repos.ts";
import {
  hasLocalBranch,
  localSource,
  resolvesLocally,
  sendLocalRepos,
  trackingBranch,
} from "../git/gitrun.ts";
import type { Template, TemplateAgent } from "../spec/template.ts";
import {
  EDITOR_FILES,
  namesOf,
  resolveSpec,
  type SessionAgent,
  type SessionNotify,
  type SessionSpec,
  type StartFlags,
} from "../spec/spec.ts";
import { removeState, saveState, stateFromSpec, updateState } from "../state/state.ts";
import { sessionView } from "../state/status.ts";
import { waitForClaimsBound } from "./wait.ts";
import { AFTER_READY, phaseReporter, retainVolumes, waitReady } from "./ready.ts";
import { once, type Shared } from "./shared.ts";
import type { PathDoor, StartIO } from "./startio.ts";
import { SYNC_MODES, type SyncMode } from "../sync/plan.ts";
import { quote, shellJoin, shellQuote } from "../../base/text/escape.ts";

export interface StartOptions extends StartFlags {
  envFiles: string[];
  envExclude: string[];
  /** --sync [PATH]: the local directory synced into the workspace once the pod is ready */
  sync?: string;
  noSync?: boolean;
  /** --sync-mode: two-way, one-way-local, one-way-pod (default sync.mode) */
  syncMode?: string;
  /** a repository to clone into the workspace (`.`: the local repository's origin) */
  repo?: string;
  /**
   * several repositories (`--repo` given more than once: `PATH[=NAME][:ro]`), each cloned into the workspace's
   * directory NAME (src/session/git/repos.ts); `repo` is then unset
   */
  repos?: string[];
  branch?: string;
  baseBranch?: string;
  /**
   * run once the session is ready (its pod as read then, unless an init command ran since): what is
   * composed above a session, like `start --prompt`'s agent run (src/agent/), which a session never imports
   */
  afterReady?: (ready: { spec: SessionSpec; pod?: V1Pod; signal: AbortSignal }) => Promise<void>;
  /**
   * the session's coding agent, from a template's `agent:` (src/agent/presets/presets.ts resolves it above the
   * session): recorded with the session, and the local variables its env Secret may take (names only;
   * the user's config decides them). Without it: agent.authEnv.
   */
  agentFor?: (template?: TemplateAgent, kept?: SessionAgent) => { agent: SessionAgent; forwardEnv: string[] };
  /** the session's webhook (agent/notify/notifykey.ts): recorded in its spec; no URL or key goes into the pod */
  notifyOf?: () => Promise<SessionNotify | undefined>;
  /**
   * a forwarded variable this environment does not set, from a store of the user's own (the agent's
   * `agent keys`): read after the env files and the environment
   */
  storedEnv?: (name: string) => Promise<string | undefined>;
  /**
   * which entry of the namespace's agent-CLI cache the session pod mounts, if any (src/agent/clicache/clicachestart.ts,
   * above the session): begun once the name is claimed, alongside the volumes, and awaited before the pod
   */
  cliCache?: (
    spec: SessionSpec,
    /** caPem: the session's CA bundle (NODE_EXTRA_CA_CERTS's certificates), which the install needs too */
    c: { signal: AbortSignal; shared?: Shared; timeoutMs: number; caPem?: string },
  ) => Promise<string | undefined>;
  /** checked once the plan is made, before any object is created (`start --prompt`'s credential check) */
  preflight?: (plan: SessionPlan) => Promise<void>;
  /**
   * once the plan is made, before the preflight and any object: the plan taken through the namespace's
   * gateway when it has one (src/agent/gateway/session.ts; a session never imports an agent)
   */
  viaGateway?: (plan: SessionPlan, tpl?: Template) => Promise<void>;
  /** `--no-gateway`: the session never goes through the namespace's gateway (viaGateway is not set) */
  noGateway?: boolean;
  timeout?: string;
  noWait?: boolean;
  /** a failed start keeps the volumes it created (else they are deleted with the rest) */
  keepOnFailure?: boolean;
  /** delete a session of the name first (its volumes kept and taken over), keeping its settings (replace.ts) */
  replace?: boolean;
  /** set by `--replace` when a session of the name was there: its workspace (and its .git) is kept */
  replacing?: boolean;
  /** `--replace`: the replaced session's workspace holds its clone (nothing is cloned or sent again) */
  workspaceCloned?: boolean;
  /** `--replace`: the branch the replaced session made after its clone (its pod's HEAD stays on it) */
  keepNewBranch?: string;
  /**
   * `--replace` and `clone` of a session with several repositories: its recorded repositories, kept as they
   * are (the workspace already holds them: nothing is cloned or sent)
   */
  keptRepos?: SessionRepo[];
  /** `--replace`: the replaced session's agent, unless a flag chooses another (agentFor) */
  keptAgent?: SessionAgent;
  dryRun?: boolean;
  output?: string;
  /** `--template T`: a named start recipe (src/session/spec/template.ts); flags win over it */
  template?: string;
  /** `--sidecar NAME=IMAGE[,port=N]` (repeatable): a container beside the session's */
  sidecars?: string[];
  /** who starts it (kube.whoAmI), recorded with the settings: `list` shows it as OWNER */
  owner?: string;
  /** `--from-snapshot SNAP`: the new volumes start with the snapshot's contents */
  fromSnapshot?: string;
  /**
   * `kodama clone` on a CSI driver: the new claims are clones of these (dataSource), and must show the
   * marker written into the source just before, or the start fails with CloneNotCopied (no empty clone)
   */
  cloneFrom?: CloneSource;
  /** the template, once found (startSession sets it) */
  tpl?: Template;
  /** the agent-home volume's size (a template's storage.claudeHome) */
  homeStorage?: string;
  /** a group's replicas: what they have in common, done once (./shared.ts) */
  shared?: Shared;
  /** `--no-pool`: never take volumes from the warm pool (default: defaults.storage.pool) */
  noPool?: boolean;
  /** `--allow-overlap`: sync two-way a directory another live session syncs two-way too */
  allowOverlap?: boolean;
  /** local files never synced into this session (`--prompt-file`: the agent's task, not its work) */
  neverSync?: string[];
  /** the env Secret holds the agent's forwarded variables only, nothing else of the env files (a judge) */
  agentEnvOnly?: boolean;
}

export interface CloneSource {
  workspace: V1PersistentVolumeClaim;
  home: V1PersistentVolumeClaim;
  /** the token written into the source volumes (clone.ts) */
  marker: string;
}

export { AFTER_READY, phaseReporter, retainVolumes, SYNC_MODES, waitReady };

export type { PathDoor, StartIO };

export interface SessionPlan {
  spec: SessionSpec;
  objects: SessionObjects;
  /** absolute paths of the env files read (their values went into the env Secret): never synced */
  envFiles: string[];
  /** `--from-snapshot` (a portable snapshot): unpacked into the new volumes before the pod is created */
  fromSnapshot?: string;
  /** the variables of this machine the plan put into the env Secret, for the coding agent (names only) */
  forwarded?: { name: string; from: string }[];
  /** the new claims are PVC clones: checked for this marker before the pod is created */
  cloneMarker?: string;
  /** what the Secret and ConfigMap hold: the objects are built again when the volumes' names change */
  data: SessionData;
  /** take a matching pair from the warm pool when there is one */
  pool: boolean;
}

// ------------------------------------------------------------------------------------------ plan

async function readEditorFiles(root: string, dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of Object.keys(EDITOR_FILES)) {
    try {
      // repo content: a committed symlink out of the repository is refused (exit 4), not shipped
      out[f] = await readRepoFile(root, join(dir, f), { what: "editor config", kind: "repoFile" });
    } catch (e) {
      if (e instanceof KodamaError) throw e;
      if (!(e instanceof Deno.errors.NotFound)) {
        throw usageError(`cannot read editor config ${join(dir, f)}: ${(e as Error).message}`);
      }
    }
  }
  return out;
}

/**
 * A local path a setting names, read for the cluster. A repo's own values and every relative path
 * (it resolves inside the repository, whoever wrote it) must lead inside the repository after symlinks
 * (config/confine.ts); an absolute path from the user's own config or flags is the user's choice.
 */
function localFile(root: string, p: string, fromRepo: boolean): { path: string; root?: string } {
  return { path: isAbsolute(p) ? p : resolve(root, p), ...(fromRepo || !isAbsolute(p) ? { root } : {}) };
}

/** What the repository's config set (as `start` shows it): `  key = value`, control characters escaped. */
export function repoSettingsLines(fromRepo: Record<string, unknown>): string[] {
  return Object.entries(fromRepo).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}`);
}

/**
 * A sync mode chosen through a door (an MCP client, a web page) is held to the rule a repository's
 * `.kodama.yaml` is (config/load.ts repoProblem: no `one-way-pod`, which overwrites local files): exit 4.
 */
async function doorSyncMode(
  mode: string,
  root: string,
  who = "a client of kodama mcp or kodama ui",
): Promise<void> {
  const [{ keyInfo }, { repoProblem }] = await Promise.all([
    import("../../config/keys.ts"),
    import("../../config/load.ts"),
  ]);
  const why = await repoProblem(keyInfo("sync.mode")!, mode, root, who);
  if (why) {
    throw new KodamaError(
      `sync mode ${JSON.stringify(mode)}: ${why}`,
      ExitCode.FORBIDDEN,
      "only the person at the keyboard chooses a mode that overwrites local files: kodama start --sync-mode one-way-pod",
    );
  }
}

/** Everything `start` will create, checked before any request (exit 2 on bad input). */
export async function planSession(o: StartOptions, cfg: Config, io: StartIO): Promise<SessionPlan> {
  // name and quantities first: they need nothing from the disk
  let spec = resolveSpec(o, cfg, { envVars: [], editorFiles: [] });
  if (o.timeout !== undefined) parseDuration(o.timeout, "--timeout"); // a bad value says so before any note
  if (o.syncMode !== undefined && !(SYNC_MODES as string[]).includes(o.syncMode)) {
    throw usageError(`invalid --sync-mode ${quote(o.syncMode)}`, `the modes are ${SYNC_MODES.join(", ")}`);
  }
  const cwd = io.cwd ?? Deno.cwd();
  const root = io.repoRoot ?? cwd;
  // a door may ask for what your config already says, never for more
  if (o.syncMode !== undefined && io.door && o.syncMode !== cfg.sync.mode) {
    await doorSyncMode(o.syncMode, root, io.door.who);
  }
  const origin = originOf(cfg);
  // template.ts holds zod schemas: loaded only for a template or a --sidecar flag
  const tmod = o.tpl || o.sidecars?.length ? await import("../spec/template.ts") : undefined;
  const fromRepo = (key: string) => origin?.sources[key] === "repo";
  const abs = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const files = [
    // yours unless a repository's .kodama.yaml named them, or git tracks the file (the repository's own .env)
    ...await markTracked(
      cfg.env.dotenvFiles.map((p) => ({
        ...localFile(root, p, fromRepo("env.dotenvFiles")),
        display: p,
        required: false,
        from: dotenvFilesAreYours(origin?.sources["env.dotenvFiles"])
          ? undefined
          : `the repository's env file ${JSON.stringify(p)}`,
      })),
      root,
    ),
    // a template's env files: optional, and a repository's must lead inside the repository
    ...await markTracked(
      (o.tpl?.env?.files ?? []).map((p) => ({
        ...tmod!.templateEnvFile(o.tpl!, p),
        display: p,
        required: false,
        from: o.tpl!.source === "repo"
          ? `the repository's env file ${JSON.stringify(p)} (template ${o.tpl!.name})`
          : undefined,
      })),
      o.tpl?.base ?? cwd,
    ),
    ...(await Promise.all(o.envFiles.map(async (p) => ({
      path: io.door ? await io.door.path(p, "env file", cwd) : abs(cwd, p),
      display: p,
      required: true,
      from: io.door ? `${io.door.who ?? "a client of kodama"}'s env file ${JSON.stringify(p)}` : undefined,
    })))),
  ];
  // what only you choose (config/steering.ts) never comes from a file you did not name yourself
  const said = new Set<string>();
  const held = holdSteering(await readEnvFiles(files), (s) => s.from, said);
  const sources = held.sources;
  for (const n of held.notes) io.err.write(`${n}\n`);
  for (const s of sources) for (const p of s.problems ?? []) io.err.write(`warning: ${p}\n`);
  // the global defaults.env.excludeVars and the repo's env.excludeVars both apply (the contract's merge)
  const excluded = [...cfg.env.excludeVars, ...(o.tpl?.env?.exclude ?? []), ...o.envExclude];
  const env = filterEnv(sources, excluded);
  // the agent's credentials reach it through the env Secret, by the one rule `agent check` uses too
  // (varsource.ts): --env-file over this environment over the config's and template's files, then agent keys.
  // Which names: the user's config or the defaults only (a repo's agent.* lists are ignored on load).
  const chosen = o.agentFor?.(o.tpl?.agent, o.keptAgent);
  const fromHere: string[] = [];
  // said once the gateway step has decided what the env Secret holds (forwardedNotes)
  const forwarded: { name: string; from: string }[] = [];
  const forward = chosen?.forwardEnv ?? (fromRepo("agent.authEnv") ? [] : cfg.agent.authEnv);
  // an allow-list: the agent's own variables, whatever else the env files hold
  if (o.agentEnvOnly) { for (const k of Object.keys(env.vars)) if (!forward.includes(k)) delete env.vars[k]; }
  const resolved = await resolveVars(forward, {
    sources,
    forward,
    here: (n) => Deno.env.get(n),
    ...(o.storedEnv ? { stored: o.storedEnv } : {}),
    excluded,
  });
  for (const [k, v] of Object.entries(resolved)) {
    const file = v.from.startsWith("env file ");
    // (a file's variable filterEnv dropped stays dropped, said by its warning)
    if (file && !(k in env.vars)) continue;
    env.vars[k] = v.value;
    if (file) continue;
    if (v.from === "this environment") fromHere.push(k);
    // (a CA bundle's own note says where it goes)
    if (k !== "NODE_EXTRA_CA_CERTS" || v.from !== "this environment") {
      forwarded.push({ name: k, from: v.from });
    }
  }
  const notify = await o.notifyOf?.();
  // a bundle named in an env file a door let through must pass the door too; one from this environment is the
  // person's own
  const viaDoor = io.door && !fromHere.includes("NODE_EXTRA_CA_CERTS") ? { door: io.door, cwd } : undefined;
  const caCerts = await caBundle(env.vars, io.err, viaDoor);
  checkEnvSize(env, files.map((f) => f.display));
  for (const d of env.dropped) io.err.write(`warning: ${dropWarning(d)}\n`);
  const repoEditor = cfg.editor.enabled ? await readEditorFiles(root, abs(root, cfg.editor.configDir)) : {};
  showRepoSettings(io.err, origin, sources, Object.keys(repoEditor), cfg.editor.configDir);
  // the default Helix and Zellij configs, each replaced by the repository's file of the name
  const editor = cfg.editor.enabled ? editorData(repoEditor) : {};
  const gx = { cwd, root, env: env.vars, spec, err: io.err, fromRepo, door: io.door };
  const multi = o.keptRepos?.length
    ? keptRepos(o.keptRepos)
    : o.repos?.length
    ? await planRepos(o, cfg, gx)
    : undefined;
  const git = multi ? undefined : await planGit(o, cfg, gx);
  const settings: Partial<SessionSpec> = o.tpl
    ? templateVars(tmod!.templateSettings(o.tpl), o.tpl, io.err, said)
    : {};
  // --sidecar flags add containers, or replace the template's of the same name
  const flagged = (o.sidecars ?? []).map((v) => tmod!.parseSidecarFlag(v));
  const sidecars = [
    ...(settings.sidecars ?? []).filter((s) => !flagged.some((f) => f.name === s.name)),
    ...flagged,
  ];
  checkSidecarNames(sidecars);
  spec = {
    ...spec,
    ...settings,
    ...(o.owner ? { owner: o.owner } : {}),
    ...(sidecars.length ? { sidecars } : {}),
    envVars: Object.keys(env.vars).sort(),
    editorFiles: Object.keys(repoEditor).sort(),
    ...(cfg.editor.enabled ? { editor: true } : {}),
    ...(git ? { git: git.spec } : {}),
    ...(multi ? { repos: multi.repos } : {}),
    ...(chosen ? { agent: chosen.agent } : {}),
    ...(caCerts !== undefined ? { caCerts: true } : {}),
    ...(notify ? { notify } : {}),
  };
  const data = {
    env: env.vars,
    editor,
    ...(git?.data ? { git: git.data } : {}),
    ...(multi?.data ? { git: multi.data } : {}),
    ...(caCerts !== undefined ? { ca: caCerts } : {}),
  };
  return {
    spec,
    objects: buildSession(spec, data),
    ...(o.fromSnapshot ? { fromSnapshot: o.fromSnapshot } : {}),
    envFiles: files.map((f) => f.path),
    forwarded,
    data,
    pool: !o.noPool && cfg.defaults.storage.pool,
  };
}

/** A repository's template's `env.vars`, without what only you choose (config/steering.ts), said once each. */
function templateVars<S extends Partial<SessionSpec>>(
  settings: S,
  t: Template,
  err: Sink,
  said: Set<string>,
): S {
  if (t.source !== "repo" || !settings.vars) return settings;
  const from = `the repository's template ${JSON.stringify(t.name)} (env.vars)`;
  const held = holdSteering([{ vars: settings.vars }], () => from, said);
  for (const n of held.notes) err.write(`${n}\n`);
  const { vars: _all, ...rest } = settings;
  const vars = held.sources[0].vars;
  return (Object.keys(vars).length ? { ...rest, vars } : rest) as S;
}

function checkSidecarNames(sidecars: { name: string }[]): void {
  const seen = new Set<string>();
  for (const s of sidecars) {
    if (seen.has(s.name)) throw usageError(`two sidecars are named ${s.name}`);
    seen.add(s.name);
  }
}

/**
 * `--template T`: find it, put its values under the flags, and say where it came from. A repository's
 * template is shown in full (what it runs in the pod), as the repository's other settings are.
 */
export async function applyTemplate(o: StartOptions, io: StartIO): Promise<StartOptions> {
  if (o.template === undefined) return o;
  const { findTemplate, withTemplate, describeTemplate } = await import("../spec/template.ts");
  const t = await findTemplate(o.template, { cwd: io.cwd ?? Deno.cwd() });
  io.err.write(`template ${t.name} (${t.source}${t.file ? `, ${t.file}` : ""})\n`);
  if (t.source === "repo") io.err.write((await describeTemplate(t)).replace(/^/gm, "  ") + "\n");
  for (const i of t.ignored ?? []) io.err.write(`warning: template ${t.name}: not used: ${i}\n`);
  return { ...withTemplate(o, t), tpl: t };
}

/**
 * The confirmation `start` prints of what the repository adds: every setting its .kodama.yaml made (and
 * the ones kodama ignored are warnings already), which variables each env file puts in the env Secret,
 * and the editor configs from the repository that go into the ConfigMap. On stderr; values escaped.
 */
function showRepoSettings(
  err: Sink,
  origin: ReturnType<typeof originOf>,
  envSources: { file: string; vars: Record<string, string> }[],
  editorFiles: string[],
  editorDir: string,
): void {
  const lines: string[] = [];
  if (origin && Object.keys(origin.fromRepo).length) {
    lines.push(`settings from the repository's ${origin.files.repo ?? ".kodama.yaml"}:`);
    lines.push(...repoSettingsLines(origin.fromRepo));
  }
  for (const s of envSources) {
    const names = Object.keys(s.vars);
    if (names.length) {
      lines.push(`env file ${JSON.stringify(s.file)}: ${names.sort().join(", ")} (names only)`);
    }
  }
  if (editorFiles.length) {
    lines.push(
      `editor configs from ${JSON.stringify(editorDir)}: ${
        editorFiles.sort().join(", ")
      } (into the ConfigMap)`,
    );
  }
  if (lines.length) err.write(lines.join("\n") + "\n");
}

/**
 * `--repo`: the repository and branch (`.` is the local repository's origin and current branch), the
 * token (env files, else the local environment) and the CA. A token used for git is taken out of the
 * env Secret: it lives in the credentials Secret only.
 */
async function planGit(
  o: StartOptions,
  cfg: Config,
  x: {
    cwd: string;
    root: string;
    env: Record<string, string>;
    spec: SessionSpec;
    err: Sink;
    fromRepo: (key: string) => boolean;
    door?: PathDoor;
  },
) {
  let { repo, branch, baseBranch } = o;
  if (branch !== undefined) checkBranch(branch, "--branch");
  if (baseBranch !== undefined) checkBranch(baseBranch, "--base-branch");
  let local: Awaited<ReturnType<typeof localSource>> | undefined;
  let create: string | undefined;
  const kind = repo === undefined ? undefined : parseRepoUrl(repo, cfg.git.tokenEnv).kind;
  if (repo !== undefined && (kind === "path" || kind === "file")) {
    // a repository on this machine: sent to the pod as a bundle, so its branches are known here
    // a group's replicas read it once
    // through a door: the repository found (its work tree, git directory, objects, every branch of it)
    // must be one it lets through
    local = await once(o.shared, `local\0${repo}\0${x.cwd}`, () => localSource(repo!, x.cwd, x.door));
    repo = local.root;
    if (branch !== undefined && !(await hasLocalBranch(local.root, branch))) {
      create = branch;
      // only `origin/BRANCH` here: the session's BRANCH starts from it, as `git checkout BRANCH` would
      if (baseBranch === undefined) baseBranch = await trackingBranch(local.root, branch);
      if (baseBranch === undefined) {
        throw usageError(
          `--repo ${o.repo}: the repository ${local.root} has no branch ${branch}`,
          `create it (git branch ${branch}), or start it from another: --branch ${branch} --base-branch BASE`,
        );
      }
    }
    const base = baseBranch;
    if (
      base !== undefined &&
      !(await once(o.shared, `base\0${local.root}\0${base}`, () => resolvesLocally(local!.root, base)))
    ) {
      throw usageError(`--repo ${o.repo}: the repository ${local.root} has no branch ${baseBranch}`);
    }
    // the session's branch starts from the branch checked out here (autoBranch), or is that branch
    if (branch === undefined) {
      if (cfg.git.autoBranch) baseBranch ??= local.head;
      else branch = local.head;
    }
  }
  // which local variable holds the token: the user's config or the default, never the repo's
  const tokenEnv = x.fromRepo("git.tokenEnv") ? "GITHUB_TOKEN" : cfg.git.tokenEnv;
  const token = x.env[tokenEnv] ?? Deno.env.get(tokenEnv) ?? undefined;
  let ca: string | undefined;
  if (repo !== undefined && cfg.git.caFile) {
    const f = localFile(x.root, cfg.git.caFile, x.fromRepo("git.caFile"));
    const o = { what: "git.caFile", kind: "repoFile" as const, display: cfg.git.caFile };
    try {
      ca = f.root !== undefined ? await readRepoFile(f.root, f.path, o) : await readTextBounded(f.path, o);
    } catch (e) {
      if (e instanceof KodamaError) throw e;
      throw usageError(`cannot read git.caFile ${f.path}: ${(e as Error).message}`);
    }
  }
  const spec = resolveGit({ repo, branch, baseBranch }, cfg, {
    ...(local?.upstream ? { upstream: local.upstream } : {}),
    session: x.spec.name,
    sessionImage: x.spec.image,
    token: token || undefined,
    ca,
    now: new Date(x.spec.createdAt),
  });
  if (!spec) return undefined;
  if (create !== undefined) {
    // --branch missing here, with a base: the clone creates it from the base
    delete spec.branch;
    spec.newBranch = create;
  }
  // --replace: the session's own branch is recorded again (the kept workspace is not cloned anew)
  if (o.keepNewBranch !== undefined && create === undefined) spec.newBranch = o.keepNewBranch;
  if (spec.auth === "token" && tokenEnv in x.env) {
    delete x.env[tokenEnv];
    x.err.write(
      `note: ${tokenEnv} goes into the git credentials Secret only, not the session's environment\n`,
    );
  }
  return { spec, data: gitSecretData(spec, { token, ca }) };
}

/**
 * `--repo` given more than once: each repository planned as one `--repo` is (planGit), into its own directory;
 * a read-only one stays on the branch it is on (no session branch). A repository that is written (fetched and
 * landed) must be one on this machine: where its work comes home. Exit 2 for `--branch`/`--base-branch`
 * (one branch for several repositories is not supported yet), a URL not marked `:ro`, a bad or repeated name.
 */
async function planRepos(o: StartOptions, cfg: Config, x: Parameters<typeof planGit>[2]) {
  if (o.fromSnapshot !== undefined) throw multiRepoRefusal("a start from a snapshot of a session");
  if (o.branch !== undefined || o.baseBranch !== undefined) {
    throw usageError(
      "--branch and --base-branch take one --repo: with several, each gets its own session branch",
      "start without them, or give one --repo",
    );
  }
  const flags = parseRepoFlags(o.repos!, resolve(x.cwd));
  const repos: SessionRepo[] = [];
  const lines = new Set<string>();
  let ca: string | undefined;
  const said = new Set<string>();
  const err: Sink = {
    write: (t) => {
      const k = typeof t === "string" ? t : new TextDecoder().decode(t);
      if (!said.has(k)) said.add(k), x.err.write(t);
    },
  };
  for (const f of flags) {
    const kind = parseRepoUrl(f.source, cfg.git.tokenEnv).kind;
    if (!f.readOnly && kind !== "path" && kind !== "file") {
      throw usageError(
        `--repo ${f.source}: with several repositories, each one the agent writes is a repository on this machine`,
        "session fetch and land bring its work there: clone it here first, or add :ro to only read it",
      );
    }
    const c = f.readOnly ? { ...cfg, git: { ...cfg.git, autoBranch: false } } : cfg;
    // each repository reads the token from all the env files; it leaves the session's environment once used
    const env = { ...x.env };
    const g = await planGit({ ...o, repo: f.source, keepNewBranch: undefined }, c, { ...x, env, err });
    for (const k of Object.keys(x.env)) if (!(k in env)) delete x.env[k];
    if (!g) continue;
    repos.push({ name: f.name, ...(f.readOnly ? { readOnly: true } : {}), git: g.spec });
    for (const l of (g.data?.credentials ?? "").split("\n")) if (l) lines.add(l);
    ca ??= g.data?.["ca.crt"];
  }
  const data = repos.some((r) => r.git.credentialsFor)
    ? { credentials: [...lines].map((l) => `${l}\n`).join(""), ...(ca ? { "ca.crt": ca } : {}) }
    : undefined;
  return { repos, data };
}

/**
 * The repositories of a session with several, kept from its record (`--replace`, `clone`): the workspace holds
 * them already. One that needs credentials is not kept yet (its Secret is made from the token at a start).
 */
function keptRepos(repos: SessionRepo[]) {
  if (repos.some((r) => r.git.credentialsFor || r.git.auth === "ssh")) {
    throw multiRepoRefusal(
      "keeping the repositories of a session that needs git credentials",
      "start a new session",
    );
  }
  return { repos, data: undefined };
}

/** A plan's objects as `--dry-run` shows them: Secret values redacted, fit to the server's version. */
export function dryRunItems(plan: SessionPlan, server?: string): Record<string, unknown>[] {
  return redactedList({ ...plan.objects, job: jobForServer(plan.objects.job, server) });
}

/**
 * `--dry-run`: the objects, Secret values redacted, creating nothing — YAML as one document per object
 * (what `kubectl apply -f -` reads best), JSON as a v1 List.
 */
export async function printDryRun(
  plan: SessionPlan,
  format: string,
  out: Sink,
  /** the API server's version: fields it does not keep are left out (oneshot.ts's jobForServer) */
  server?: string,
): Promise<void> {
  const items = dryRunItems(plan, server);
  if (format === "json") {
    out.write(renderList(items, "json"));
    return;
  }
  const { stringify } = await import("yaml");
  out.write(items.map((o) => stringify(o)).join("---\n"));
}

// ------------------------------------------------------------------------------------------ run

/** What this run created (or took over), so an interrupt removes exactly that. */
class Created {
  secret?: string;
  networkPolicy?: string;
  gitSecret?: string;
  configMap?: string;
  /** the session's Job (its pod goes with it) */
  pod?: string;
  /** volumes created or adopted by this run: kept on an interrupt, marked as left over */
  volumes: string[] = [];
  /** of those, the ones kept from an earlier session: never deleted (their data is the point) */
  adopted: string[] = [];
  /** the claims as the API server returned them (their class, whether already Bound) */
  claims: V1PersistentVolumeClaim[] = [];
  /** the pair taken from the warm pool, and how many matching pairs the pool had (a refill's size) */
  pooled?: { id: string; had: number };
}

interface Run {
  kube: Kube;
  plan: SessionPlan;
  created: Created;
  io: StartIO;
  signal: AbortSignal;
  /** the phase lines, shared by the volume wait and the pod wait */
  phases: ReturnType<typeof phaseReporter>;
  /** the start's time limit (ms) */
  waitMs: number;
  /** `--no-wait`: nothing is waited for, the pod goes with its claims */
  noWait?: boolean;
  /** a group's replicas: what they have in common, done once */
  shared?: Shared;
  /** volumes an earlier session of the name kept (checkFree finds them by label) */
  retained?: V1PersistentVolumeClaim[];
  /** the agent-CLI cache step (StartOptions.cliCache), and its answer once begun */
  cliCacheHook?: StartOptions["cliCache"];
  cliCache?: Promise<string | undefined>;
}

function alreadyExists(spec: SessionSpec, status?: string): KodamaError {
  const hint = status === "Stopped"
    ? `resume it with: kodama resume ${spec.name}   (or remove it first: kodama delete ${spec.name})`
    : status === "Failed"
    ? `it cannot run: \`kodama start ${spec.name} --replace\` makes it anew on its volumes, or remove it with \`kodama delete ${spec.name}\``
    : `attach with: kodama attach ${spec.name}   (or remove it first: kodama delete ${spec.name})`;
  return new KodamaError(
    `session ${quote(spec.name)} already exists in namespace ${spec.namespace}${
      status ? ` (${status})` : ""
    }`,
    ExitCode.USAGE,
    hint,
  );
}

function isConflict(e: unknown): boolean {
  return e instanceof KodamaError && /already exists|AlreadyExists/i.test(e.message);
}

/** Refuse a name in use (a clear message for the common case; claimName settles races). */
async function checkFree(r: Run): Promise<void> {
  // a group looked up every replica's name with one list before starting them
  if (r.shared?.namesFree) return;
  const { spec } = r.plan;
  const sel = { labelSelector: sessionSelector(spec.name) };
  const [pods, pvcs] = await Promise.all([
    r.kube.listObjects<import("@kubernetes/client-node").V1Pod>("pods", spec.namespace, sel),
    r.kube.listObjects<V1PersistentVolumeClaim>("persistentvolumeclaims", spec.namespace, sel),
  ]);
  const live = pvcs.items.filter((c) => c.metadata?.labels?.[LABEL_RETAINED] === undefined);
  r.retained = pvcs.items.filter((c) =>
    c.metadata?.labels?.[LABEL_RETAINED] !== undefined && !c.metadata?.deletionTimestamp
  );
  const going = pvcs.items.filter((c) => c.metadata?.deletionTimestamp).map((c) => c.metadata?.name);
  // the pod may still be stopping too (on a real node that takes seconds): being deleted, not in use
  const stopping = pods.items.every((p) => p.metadata?.deletionTimestamp);
  if (stopping && going.length && going.length === pvcs.items.length) {
    // `delete --purge` a moment ago: the claims wait for the pod that used them to stop
    throw new KodamaError(
      `session ${quote(spec.name)} is being deleted: ${
        going.length > 1
          ? `PersistentVolumeClaims ${going.join(", ")} are`
          : `PersistentVolumeClaim ${going[0]} is`
      } being deleted (Terminating until the pod that used ${going.length > 1 ? "them" : "it"} has stopped)`,
      ExitCode.FAILED,
      `try again in a moment; \`kubectl get pvc -n ${spec.namespace}\` shows when they are gone`,
    );
  }
  if (pods.items.length || live.length) {
    throw alreadyExists(spec, sessionView(spec.name, spec.namespace, pods.items, live).status);
  }
}

async function claimName(r: Run): Promise<void> {
  const s = r.plan.objects.secret;
  try {
    await r.kube.createObject("secrets", r.plan.spec.namespace, s);
  } catch (e) {
    if (isConflict(e)) throw alreadyExists(r.plan.spec);
    throw e;
  }
  r.created.secret = s.metadata!.name!;
}

/**
 * The egress NetworkPolicy, before the pod: the agent never runs without it. One left by an earlier session
 * of the name is taken over; a user who may not create NetworkPolicies is told how to get on.
 */
async function createEgress(r: Run): Promise<void> {
  const np = r.plan.objects.networkPolicy;
  if (!np) return;
  const ns = r.plan.spec.namespace;
  const name = np.metadata!.name!;
  try {
    await r.kube.createObject("networkpolicies", ns, np);
  } catch (e) {
    if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) {
      throw new KodamaError(
        `forbidden: cannot create NetworkPolicy ${name} in namespace ${ns} (the session's egress limit)`,
        ExitCode.FORBIDDEN,
        "ask for a Role allowing create, get and delete on networkpolicies.networking.k8s.io (examples/rbac.yaml), or set session.egress.enabled: false in ~/.kodama/config.yaml (the pod's egress is then not limited)",
      );
    }
    if (!isConflict(e)) throw e;
    const old = await r.kube.getObject<
      { metadata?: { labels?: Record<string, string>; resourceVersion?: string } }
    >(
      "networkpolicies",
      ns,
      name,
    );
    if (old.metadata?.labels?.[LABEL_SESSION] !== r.plan.spec.name) {
      throw new KodamaError(
        `NetworkPolicy ${name} already exists in namespace ${ns} and is not kodama's`,
        ExitCode.USAGE,
        "pick another session name, or remove that NetworkPolicy",
      );
    }
    // left by an earlier session of the name: it becomes this one's
    await r.kube.patchObject("networkpolicies", ns, name, {
      metadata: {
        resourceVersion: old.metadata.resourceVersion,
        labels: np.metadata!.labels,
        annotations: np.metadata!.annotations,
      },
      spec: np.spec,
    });
  }
  r.created.networkPolicy = name;
}

async function createGitSecret(r: Run): Promise<void> {
  const s = r.plan.objects.gitSecret;
  if (!s) return;
  await r.kube.createObject("secrets", r.plan.spec.namespace, s);
  r.created.gitSecret = s.metadata!.name!;
}

/**
 * The session's volumes are named in its settings (`volumes`) when they are not the derived names: the
 * objects are built again, so the pod (and every later command) mounts them by their real names.
 */
function setVolumes(r: Run, v: { workspace: string; home: string }): void {
  const d = objectNames(r.plan.spec.name);
  if (v.workspace === d.workspacePVC && v.home === d.homePVC) return;
  r.plan.spec = { ...r.plan.spec, volumes: v };
  r.plan.objects = buildSession(r.plan.spec, r.plan.data);
}

/**
 * Which volumes: the ones an earlier session of the name kept (by their labels, whatever their names; they
 * are taken over below), else a matching Bound pair from the warm pool, else new ones.
 */
async function chooseVolumes(r: Run): Promise<void> {
  const { spec } = r.plan;
  // claims made from a snapshot or another claim (dataSource) must be new: neither kept nor pooled
  if (r.plan.objects.pvcs.some((p) => p.spec?.dataSource)) return;
  const d = objectNames(spec.name);
  const kept = (which: string) =>
    r.retained?.find((c) => c.metadata?.labels?.[LABEL_VOLUME] === which)?.metadata?.name;
  const ws = kept("workspace");
  const home = kept("home");
  if (ws || home) return setVolumes(r, { workspace: ws ?? d.workspacePVC, home: home ?? d.homePVC });
  if (!r.plan.pool || r.signal.aborted) return;
  const { claimPoolPair } = await import("../volumes/pool.ts");
  const labels = { ...r.plan.objects.pvcs[0].metadata!.labels! };
  delete labels[LABEL_VOLUME];
  const got = await claimPoolPair(r.kube, spec, labels, (volumes) => ({ ...spec, volumes }));
  if (!got) return;
  const w = got.workspace.metadata!.name!;
  setVolumes(r, { workspace: w, home: got.home?.metadata?.name ?? d.homePVC });
  r.created.volumes.push(w);
  r.created.claims.push(got.workspace);
  r.created.pooled = { id: got.id, had: got.had };
  if (got.home) {
    r.created.volumes.push(got.home.metadata!.name!);
    r.created.claims.push(got.home);
  } else {
    // the pair's home volume was drained meanwhile: a new one, and the workspace's record says so
    await r.kube.patchObject("persistentvolumeclaims", spec.namespace, w, {
      metadata: { annotations: { [ANNOTATION_SPEC]: JSON.stringify(r.plan.spec) } },
    });
  }
  r.io.err.write(
    `took volumes ${
      [w, got.home?.metadata?.name].filter(Boolean).join(", ")
    } from the warm pool (pair ${got.id})\n`,
  );
}

async function createVolumes(r: Run): Promise<void> {
  await chooseVolumes(r);
  if (r.signal.aborted) return;
  const { spec } = r.plan;
  // the claims and the editor ConfigMap go out together: one round trip, not one each
  const todo = r.plan.objects.pvcs.filter((p) => !r.created.volumes.includes(p.metadata!.name!));
  const [editor, ...made] = await Promise.allSettled([
    createEditor(r),
    ...todo.map((pvc) => r.kube.createObject("persistentvolumeclaims", spec.namespace, pvc)),
  ]);
  // every object made is recorded (a rollback removes or keeps it) before any failure is thrown
  const failed = [editor, ...made].find((m) => m.status === "rejected" && !isConflict(m.reason));
  for (const [i, m] of made.entries()) {
    if (m.status === "fulfilled") {
      r.created.claims.push(m.value);
      r.created.volumes.push(todo[i].metadata!.name!);
    } else if (!failed) await adoptKept(r, todo[i]);
  }
  if (failed) throw (failed as PromiseRejectedResult).reason;
  if (editor.status === "rejected") throw editor.reason;
}

/** A claim of the name exists: a volume kept from an earlier session of the same name is taken over. */
async function adoptKept(r: Run, pvc: V1PersistentVolumeClaim): Promise<void> {
  const { spec } = r.plan;
  const name = pvc.metadata!.name!;
  if (pvc.spec?.dataSource) {
    // a kept volume would not get the snapshot's or the source's content
    throw new KodamaError(
      `PersistentVolumeClaim ${name} already exists: the new session's volumes must be new to start from a snapshot or a clone`,
      ExitCode.USAGE,
      `remove the kept volumes first: kodama delete ${spec.name} --purge`,
    );
  }
  // a volume kept from an earlier session of the same name: take it over (its data is the point)
  const old = await r.kube.getObject<V1PersistentVolumeClaim>(
    "persistentvolumeclaims",
    spec.namespace,
    name,
  );
  if (old.metadata?.deletionTimestamp) {
    // purged a moment ago and still held by a stopping pod: once it is gone, a new one can be made
    throw new KodamaError(
      `PersistentVolumeClaim ${name} is being deleted (Terminating until the pod that used it has stopped)`,
      ExitCode.FAILED,
      `try again in a moment; \`kubectl get pvc -n ${spec.namespace} ${name}\` shows when it is gone`,
    );
  }
  const labels = old.metadata?.labels ?? {};
  if (labels[LABEL_SESSION] !== spec.name || labels[LABEL_RETAINED] === undefined) {
    throw new KodamaError(
      `PersistentVolumeClaim ${name} already exists in namespace ${spec.namespace} and is not a volume kodama kept`,
      ExitCode.USAGE,
      "pick another session name, or remove that claim",
    );
  }
  await r.kube.patchObject("persistentvolumeclaims", spec.namespace, name, {
    metadata: {
      resourceVersion: old.metadata?.resourceVersion,
      labels: { [LABEL_RETAINED]: null },
      annotations: { [ANNOTATION_SPEC]: JSON.stringify(spec) },
    },
  });
  r.created.volumes.push(name);
  r.created.adopted.push(name);
  r.created.claims.push(old);
  const size = old.spec?.resources?.requests?.storage;
  r.io.err.write(
    `reusing volume ${name}${size ? ` (${size})` : ""}, kept from an earlier session ${spec.name}\n`,
  );
}

/**
 * How the claims bind, from their StorageClasses when this user may read them: `immediate` (the
 * default mode: they bind on their own, so the pod waits for them), `consumer` (`WaitForFirstConsumer`:
 * they bind only for a pod, so they go together), or `unknown` (a class not readable or missing: the
 * claims' own events tell, see waitForClaimsBound). Pure.
 */
export function bindingMode(
  claims: V1PersistentVolumeClaim[],
  classes: Map<string, { volumeBindingMode?: string } | undefined>,
): "immediate" | "consumer" | "unknown" {
  let mode: "immediate" | "consumer" | "unknown" = "immediate";
  for (const c of claims) {
    if (c.status?.phase === "Bound") continue;
    const name = c.spec?.storageClassName;
    const cls = name ? classes.get(name) : undefined;
    if (cls?.volumeBindingMode === "WaitForFirstConsumer") return "consumer";
    if (!cls) mode = "unknown";
  }
  return mode;
}

/**
 * A StorageClass: null when the API server says it does not exist, undefined when it cannot be read (most
 * users may not read StorageClasses, cluster-scoped: then the claims' events tell).
 */
function storageClass(r: Run, n: string): Promise<{ volumeBindingMode?: string } | null | undefined> {
  return once(
    r.shared,
    `storageclass\0${n}`,
    () =>
      r.kube.getObject<{ volumeBindingMode?: string }>("storageclasses", "", n).catch((e) =>
        e instanceof KodamaError && e.code === ExitCode.NOT_FOUND ? null : undefined
      ),
  );
}

/** The claims this run made that can never bind (their StorageClass does not exist): kept, they are litter. */
async function neverBinding(r: Run): Promise<string[]> {
  const mine = r.created.claims.filter((c) =>
    c.status?.phase !== "Bound" && !r.created.adopted.includes(c.metadata?.name ?? "")
  );
  if (!mine.length) return [];
  const out: string[] = [];
  const unknown: V1PersistentVolumeClaim[] = [];
  for (const c of mine) {
    const n = c.spec?.storageClassName;
    const cls = n ? await storageClass(r, n).catch(() => undefined) : undefined;
    if (cls === null) out.push(c.metadata!.name!);
    else if (cls === undefined) unknown.push(c);
  }
  if (unknown.length) {
    // the class is not readable here: the provisioner's events say whether it exists
    const { claimsNeverBind } = await import("./progress.ts");
    const events = await r.kube.listObjects<import("@kubernetes/client-node").CoreV1Event>(
      "events",
      r.plan.spec.namespace,
      { fieldSelector: "involvedObject.kind=PersistentVolumeClaim" },
    ).then((l) => l.items).catch(() => []);
    for (const c of unknown) if (claimsNeverBind([c], events)) out.push(c.metadata!.name!);
  }
  return out;
}

/**
 * Start at the floor: claims that bind on their own are watched until Bound and only then is the pod
 * created, so the scheduler places it on its first try instead of parking it behind its back-off.
 */
async function volumesBound(r: Run): Promise<void> {
  const { spec } = r.plan;
  const claims = r.created.claims;
  if (r.noWait || !claims.length || claims.every((c) => c.status?.phase === "Bound")) return;
  const names = [...new Set(claims.map((c) => c.spec?.storageClassName).filter((n): n is string => !!n))];
  const classes = new Map<string, { volumeBindingMode?: string } | undefined>();
  await Promise.all(names.map(async (n) => {
    const cls = await storageClass(r, n);
    classes.set(n, cls ?? undefined);
    // a class that does not exist: the claims can never bind, no wait helps
    if (cls === null) {
      throw new KodamaError(
        `session ${spec.name} cannot start: StorageClass ${
          quote(n)
        } does not exist, its volumes can never bind`,
        ExitCode.FAILED,
        "choose another --storage-class (kubectl get storageclass lists them), or none for the cluster's default",
      );
    }
  }));
  const mode = bindingMode(claims, classes);
  if (mode === "consumer") return;
  const res = await waitForClaimsBound(
    r.kube,
    spec.namespace,
    sessionSelector(spec.name),
    r.created.volumes,
    {
      timeoutMs: r.waitMs,
      signal: r.signal,
      immediate: mode === "immediate",
      onWaiting: (w) => r.phases.report(new Set(["created"]), w),
    },
  );
  if (res.outcome === "timeout") {
    if (res.events) r.io.err.write(`recent events:\n${res.events.replace(/^(?=.)/gm, "  ")}`);
    throw new KodamaError(
      `timed out after ${formatDuration(r.waitMs)}: session ${spec.name} is still waiting for ${res.waiting}`,
      ExitCode.TIMEOUT,
      `raise --timeout (default session.readyTimeout); \`kubectl describe pvc -n ${spec.namespace}\` shows the provisioner's events`,
    );
  }
  if (res.outcome === "bound") r.phases.report(new Set(["created", "bound"]));
}

async function createEditor(r: Run): Promise<void> {
  const cm = r.plan.objects.configMap;
  if (!cm) return;
  await r.kube.createObject("configmaps", r.plan.spec.namespace, cm);
  r.created.configMap = cm.metadata!.name!;
}

/** `--from-snapshot`: the snapshot's files into the new volumes, by a copy pod, before the session pod. */
async function restoreSnapshot(r: Run): Promise<void> {
  if (r.plan.cloneMarker && !r.signal.aborted) {
    const { verifyClone } = await import("../volumes/clonemark.ts");
    await verifyClone(r.kube, r.plan.spec, r.plan.cloneMarker, { timeoutMs: r.waitMs, err: r.io.err });
  }
  if (!r.plan.fromSnapshot || r.signal.aborted) return;
  const { restoreIntoNew } = await import("../volumes/snapshot.ts");
  await restoreIntoNew(r.kube, r.plan.spec, r.plan.fromSnapshot, { timeoutMs: r.waitMs, err: r.io.err });
}

/** Begin the agent-CLI cache's preparation (an install pod at most), in parallel with the volumes. */
function beginCliCache(r: Run): Promise<void> {
  if (r.cliCacheHook) {
    r.cliCache = r.cliCacheHook(r.plan.spec, {
      signal: r.signal,
      shared: r.shared,
      timeoutMs: r.waitMs,
      ...(r.plan.data.ca ? { caPem: r.plan.data.ca } : {}),
    }).catch(() => undefined);
  }
  return Promise.resolve();
}

async function createPod(r: Run): Promise<void> {
  const entry = await r.cliCache;
  if (entry) {
    r.plan.spec = { ...r.plan.spec, cliCache: entry };
    withCliCache(r.plan.objects.pod, r.plan.spec, r.plan.objects.job);
  }
  const s = r.plan.spec;
  // the session's Job, whose template is the pod (a namespace enforcing Pod Security: its reasons, and the
  // setting that meets them, podsecurity.ts)
  await createWorkload(r.kube, s.namespace, s, r.plan.objects.job);
  r.created.pod = r.plan.objects.job.metadata!.name!;
}

const CREATE_STEPS: ((r: Run) => Promise<void>)[] = [
  checkFree,
  claimName,
  beginCliCache,
  createEgress,
  createGitSecret,
  createVolumes,
  volumesBound,
  restoreSnapshot,
  createPod,
];

/**
 * Undo a start that did not finish: delete what it created, keep (and mark) the volumes, except the
 * ones that can never bind (their StorageClass does not exist): those go too.
 */
async function rollback(r: Run, dropVolumes = false): Promise<{ removed: string[]; kept: string[] }> {
  const hopeless: string[] = await neverBinding(r).catch(() => []);
  const ns = r.plan.spec.namespace;
  const c = r.created;
  const removed: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      removed.push(what);
    } catch (e) {
      r.io.err.write(`warning: could not remove ${what}: ${(e as Error).message}\n`);
    }
  };
  if (c.pod) {
    await attempt(`job ${c.pod}`, async () => {
      const { items } = await r.kube.listObjects<import("@kubernetes/client-node").V1Pod>("pods", ns, {
        labelSelector: sessionSelector(r.plan.spec.name),
      });
      await removeWorkload(r.kube, ns, r.plan.spec.name, items, { gracePeriodSeconds: 1 });
    });
  }
  if (c.configMap) {
    await attempt(`configmap ${c.configMap}`, () => r.kube.deleteObject("configmaps", ns, c.configMap!));
  }
  if (c.gitSecret) {
    await attempt(`secret ${c.gitSecret}`, () => r.kube.deleteObject("secrets", ns, c.gitSecret!));
  }
  if (c.secret) await attempt(`secret ${c.secret}`, () => r.kube.deleteObject("secrets", ns, c.secret!));
  if (c.networkPolicy) {
    await attempt(
      `networkpolicy ${c.networkPolicy}`,
      () => r.kube.deleteObject("networkpolicies", ns, c.networkPolicy!),
    );
  }
  const kept = (dropVolumes ? c.volumes.filter((v) => c.adopted.includes(v)) : c.volumes)
    .filter((v) => !hopeless.includes(v));
  for (const v of c.volumes) {
    if (!kept.includes(v)) {
      await attempt(`pvc ${v}`, () => r.kube.deleteObject("persistentvolumeclaims", ns, v));
    }
  }
  await retainVolumes(r.kube, ns, kept, r.io.err);
  return { removed, kept };
}

function rollbackText(lead: string, r: { removed: string[]; kept: string[] }): string {
  const removed = `removed ${r.removed.length ? r.removed.join(", ") : "nothing"}`;
  return `${lead}: ${removed}${r.kept.length ? `; kept PVCs ${r.kept.join(", ")}` : ""}`;
}

function timeoutMs(o: StartOptions, cfg: Config): number {
  return o.timeout !== undefined
    ? parseDuration(o.timeout, "--timeout")
    : durationValueMs(cfg.session.readyTimeout, "session.readyTimeout");
}

/**
 * `--replace`: a session of the name (a Failed one, typically) is deleted first — pod, Secrets, ConfigMap —
 * and its volumes kept, so the new start takes them over: the work in them is never lost.
 */
async function replaceExisting(kube: Kube, spec: SessionSpec, io: StartIO): Promise<void> {
  const { findSession } = await import("../state/cluster.ts");
  const f = await findSession(kube, spec.namespace, spec.name);
  if (!f.view) return;
  io.err.write(`replacing session ${spec.name} (${f.view.status}): its volumes are kept and reused\n`);
  const { deleteSession } = await import("./lifecycle.ts");
  await deleteSession(kube, spec.namespace, spec.name, {
    force: true,
    keepConfig: true,
    interactive: false,
    confirm: () => Promise.resolve(true),
    out: io.err,
    err: io.err,
  });
}

/**
 * `--no-wait` with a local repository: its clone container waits for the bundle only this process sends,
 * so the start returns once it is sent (the pod's other waits are not waited for). The start's own wait
 * bounds it; a pod that ended first, or a wait that ran out, fails the start as any start fails (cleaned up).
 */
async function sendBeforeReturning(
  kube: KubeSessions,
  spec: SessionSpec,
  o: StartOptions,
  x: { signal: AbortSignal; waitMs: number; err: Sink },
): Promise<void> {
  const timer = AbortSignal.timeout(x.waitMs);
  const sending = sendLocalRepos(kube, spec, o, AbortSignal.any([x.signal, timer]));
  if (!sending) return;
  x.err.write(`sending the local repository to the pod first: its clone waits for it\n`);
  if (await sending) return;
  if (x.signal.aborted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
  const what = timer.aborted
    ? `timed out after ${formatDuration(x.waitMs)}: session ${spec.name}'s clone never started`
    : `session ${spec.name}'s pod ended before its clone took it`;
  throw new KodamaError(
    `${what}, so its local repository was not sent`,
    timer.aborted ? ExitCode.TIMEOUT : ExitCode.FAILED,
  );
}

/**
 * A template's init command (a devcontainer's postCreateCommand): once, in the session container, in the
 * workspace, after the clone and the first sync. Its output goes to stderr. When it fails the session
 * stays (nothing in it is lost) and start exits 1 saying how to run it again.
 */
async function runInit(
  kube: KubeSessions,
  spec: SessionSpec,
  io: StartIO,
  signal: AbortSignal,
): Promise<void> {
  const { execCapture } = await import("../access/podexec.ts");
  const { requireSessionPod } = await import("../state/cluster.ts");
  const pod = await requireSessionPod(kube, spec.namespace, spec.name);
  const line = typeof spec.init === "string" ? spec.init : shellJoin(spec.init!);
  io.err.write(`running the init command: ${line}\n`);
  const r = await execCapture(kube, pod, ["sh", "-c", `cd "$KODAMA_WORKSPACE" && ${line}`], {
    out: io.err,
    err: io.err,
    signal,
  });
  if (r.code !== 0) {
    throw new KodamaError(
      `session ${spec.name} is running, but its init command failed (exit code ${r.code})`,
      ExitCode.FAILED,
      `run it again with: kodama attach ${spec.name} --command ${shellQuote(line)}`,
    );
  }
}

/**
 * After a start took a pair from the warm pool: `kodama pool ensure` in the background brings the pool back
 * to the size it had (a new pair provisions while the session is used); when that cannot be started, the
 * line says how to do it by hand.
 */
async function refillPool(
  kube: Kube,
  spec: SessionSpec,
  had: number,
  err: Sink,
  background: boolean,
): Promise<void> {
  const args = [
    "-n",
    spec.namespace,
    "pool",
    "ensure",
    "--size",
    String(had),
    "--workspace-size",
    spec.storage.workspace,
    "--home-size",
    spec.storage.home,
    ...(spec.storage.storageClass ? ["--storage-class", spec.storage.storageClass] : []),
    "--image",
    spec.image,
  ];
  const byHand = `the warm pool has a pair less: \`kodama ${args.join(" ")}\` refills it\n`;
  if (!background) return err.write(byHand);
  try {
    const { selfCommand } = await import("../../base/proc/proc.ts");
    const self = selfCommand();
    const child = new Deno.Command(self[0], {
      args: [...self.slice(1), ...kube.childFlags(), ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    child.unref();
    err.write(
      `refilling the warm pool to ${had} pair${had === 1 ? "" : "s"} in the background (kodama pool list)\n`,
    );
  } catch {
    err.write(byHand);
  }
}

/** Put the owner into the settings and into the settings annotation of every object of the plan. */
function recordOwner(plan: SessionPlan, owner: string): void {
  plan.spec = { ...plan.spec, owner };
  const o = plan.objects;
  // the pod's annotations are the Job template's own (manifests.ts: buildJob)
  for (const obj of [o.networkPolicy, o.secret, o.gitSecret, o.configMap, o.pod, o.job, ...o.pvcs]) {
    const a = obj?.metadata?.annotations;
    if (a && ANNOTATION_SPEC in a) a[ANNOTATION_SPEC] = JSON.stringify(plan.spec);
  }
}

/**
 * `note: K (from this environment) goes into the env Secret, for the coding agent`, for each variable of this
 * machine the plan forwarded whose value the env Secret still holds: one a gateway took (a key replaced by
 * the session's token, a base URL by its own) is not said, as the gateway's own note says it holds the keys.
 */
export function sayForwarded(plan: SessionPlan, planned: Record<string, string>, err: Sink): void {
  for (const f of plan.forwarded ?? []) {
    if (plan.data.env[f.name] === undefined || plan.data.env[f.name] !== planned[f.name]) continue;
    err.write(`note: ${f.name} (from ${f.from}) goes into the env Secret, for the coding agent\n`);
  }
}

/**
 * `--dry-run` shows the session as the real start makes it: through the namespace's gateway when it has one
 * (a token in the env Secret instead of the keys, the gateway's notes said). A gateway that cannot be looked
 * for (no cluster reachable) is said in one line, and the objects are shown as without one.
 */
export async function dryRunGateway(
  o: Pick<StartOptions, "viaGateway" | "tpl">,
  plan: SessionPlan,
  err: Sink,
): Promise<void> {
  if (!o.viaGateway) return;
  try {
    await o.viaGateway(plan, o.tpl);
  } catch (e) {
    err.write(
      `note: whether namespace ${plan.spec.namespace} has a gateway could not be read (${
        String((e as Error)?.message ?? e).split("\n")[0]
      }): shown as without one\n`,
    );
  }
}

/** Run the steps; returns the exit code. */
export async function startSession(kube: Kube, o: StartOptions, cfg: Config, io: StartIO): Promise<number> {
  if (o.replace && !o.dryRun) o = await (await import("./replace.ts")).withRecorded(kube, o, io.err);
  o = await applyTemplate(o, io);
  const plan = await planSession(o, cfg, io);
  const waitMs = timeoutMs(o, cfg);
  // sync: --sync PATH, else the current directory when it is a project (said in one line when refused)
  let syncDir = o.noSync || !cfg.sync.enabled ? undefined : o.sync;
  if (syncDir === undefined && !o.noSync && cfg.sync.enabled) {
    const d = await (await import("../sync/session.ts")).defaultSyncDir(
      io.cwd ?? Deno.cwd(),
      cfg.sync.maxFiles,
    );
    if ("reason" in d && d.reason) io.err.write(`${d.reason}\n`);
    if ("dir" in d) syncDir = d.dir;
  }
  // several repositories: each one the agent writes syncs on its own, from where it is here, once asked
  // (`kodama sync start NAME`); a sync root would be one directory for all of them
  if (plan.spec.repos?.length && syncDir !== undefined) {
    if (o.sync !== undefined) {
      throw usageError(
        "--sync PATH: a session with several repositories syncs each one from the directory given to --repo",
        `start it, then: kodama sync start ${plan.spec.name}`,
      );
    }
    io.err.write(
      `not syncing ${syncDir}: a session with several repositories syncs each one on its own ` +
        `(kodama sync start ${plan.spec.name})\n`,
    );
    syncDir = undefined;
  }
  if (syncDir !== undefined && io.door) syncDir = await io.door.path(syncDir, "sync root", io.cwd);
  // a sync root that is missing (exit 3) or no directory (exit 2) is refused before anything is created,
  // --no-wait and --dry-run too (the sync itself begins once the pod is ready)
  if (syncDir !== undefined) {
    await (await import("../sync/session.ts")).checkSyncDir(syncDir, io.cwd);
  }
  if (o.dryRun) {
    const planned = plan.data.env;
    await dryRunGateway(o, plan, io.err);
    sayForwarded(plan, planned, io.err);
    const server = await (kube as Partial<Pick<Kube, "serverVersion">>).serverVersion?.().catch(() =>
      undefined
    );
    await printDryRun(plan, o.output ?? "yaml", io.out, server);
    return ExitCode.OK;
  }
  // one directory, one two-way session (sync/overlap.ts): refused before anything is created
  if (syncDir !== undefined) {
    await (await import("../sync/overlap.ts")).refuseOverlap(
      resolve(io.cwd ?? Deno.cwd(), syncDir),
      (o.syncMode ?? cfg.sync.mode) as SyncMode,
      plan.spec,
      o.allowOverlap,
    );
  }
  const planned = plan.data.env;
  if (o.viaGateway) await o.viaGateway(plan, o.tpl);
  // one true thing: what still goes into the env Secret as it left this machine (the gateway's note says the rest)
  sayForwarded(plan, planned, io.err);
  // before any object (and any request of the start's own): a start that cannot work stops here
  if (o.preflight) await o.preflight(plan);
  const pullSecrets = plan.spec.scheduling?.imagePullSecrets ?? [];
  if (pullSecrets.length) {
    await (await import("../spec/pullsecrets.ts")).checkPullSecrets(kube, plan.spec.namespace, pullSecrets);
  }
  if (o.fromSnapshot !== undefined && !o.dryRun) {
    // exit 3 for a snapshot that is not there (or not complete) before anything is created
    const ref = await (await import("../volumes/snapshot.ts")).requireSnapshot(
      kube,
      plan.spec.namespace,
      o.fromSnapshot,
    );
    if (ref.kind === "volume") {
      // VolumeSnapshots: the new claims are made from them (dataSource); no copy pod
      const { claimFromSnapshot } = await import("../volumes/volsnap.ts");
      const n = namesOf(plan.spec);
      plan.objects.pvcs = plan.objects.pvcs.map((p) =>
        claimFromSnapshot(p, ref.volumes[p.metadata?.name === n.workspacePVC ? "workspace" : "home"])
      );
      delete plan.fromSnapshot;
    }
  }
  if (o.cloneFrom && !o.dryRun) {
    const { claimFromClaim } = await import("../volumes/volsnap.ts");
    const n = namesOf(plan.spec);
    plan.objects.pvcs = plan.objects.pvcs.map((p) =>
      claimFromClaim(p, p.metadata?.name === n.workspacePVC ? o.cloneFrom!.workspace : o.cloneFrom!.home)
    );
    plan.cloneMarker = o.cloneFrom.marker;
  }
  // every check is done (no request before it): now who starts it, recorded with the settings
  if (!o.dryRun && o.owner === undefined) {
    const owner = await once(o.shared, "owner", () => kube.whoAmI().catch(() => undefined));
    if (owner) recordOwner(plan, owner);
  }
  if (o.replace) await replaceExisting(kube, plan.spec, io);
  const onSignal = () => io.err.write("\ninterrupted: cleaning up…\n");
  return await withInterrupt(async (signal, it) => {
    const started = Date.now();
    const phases = phaseReporter(io, started);
    const run: Run = {
      kube,
      plan,
      created: new Created(),
      io,
      signal,
      phases,
      waitMs,
      noWait: o.noWait,
      shared: o.shared,
      cliCacheHook: o.cliCache,
    };
    // the settings as the steps leave them (volumes taken from the pool are named in them)
    let spec = plan.spec;
    const where = { context: kube.contextName, server: kube.server };
    let ready = false;
    // this run wrote the session's local state file (a start that fails removes it again)
    let wroteState = false;
    // the pod as it was once ready (read by the steps after it): the agent run needs no second lookup
    const got: { pod?: import("@kubernetes/client-node").V1Pod } = {};
    try {
      for (const step of CREATE_STEPS) {
        if (it.interrupted) break;
        await step(run);
      }
      spec = plan.spec;
      if (!it.interrupted) {
        // the local state is written once the pod's watch is open (its YAML module would hold the main
        // thread before the watch went out), and always before the wait's outcome is acted on
        let saving: Promise<void> | undefined;
        const save = () => saving ??= (wroteState = true, saveState(stateFromSpec(spec, where, "Starting")));
        if (o.noWait) {
          await save();
          phases.done();
          io.out.write(`session/${spec.name} created\n`);
          await sendBeforeReturning(kube, spec, o, { signal, waitMs, err: io.err });
          io.err.write(`not waiting (--no-wait): follow it with \`kodama list -w\`\n`);
          return ExitCode.OK;
        }
        // a local repository goes to the clone container over exec; only its failure ends the wait
        const sending = sendLocalRepos(kube, spec, o, signal);
        await Promise.race([
          waitReady(kube, spec, {
            timeoutMs: waitMs,
            signal,
            io,
            started,
            verb: "start",
            phases,
            shared: o.shared,
            onWatching: save,
            got,
          }).finally(() => save().catch(() => {})).then(() => save()),
          ...(sending ? [sending.then(() => new Promise<never>(() => {}))] : []),
        ]);
        for (const step of AFTER_READY) {
          if (it.interrupted) break;
          await step({ kube, spec, io, signal, got });
        }
        if (syncDir !== undefined && !it.interrupted) {
          // a replaced session's workspace has its own .git: a local .git is never synced over it
          const syncCfg = o.syncMode || o.replacing
            ? {
              ...cfg,
              sync: {
                ...cfg.sync,
                mode: (o.syncMode ?? cfg.sync.mode) as Config["sync"]["mode"],
                ...(o.replacing ? { git: "never" as const } : {}),
              },
            }
            : cfg;
          await (await import("../sync/session.ts")).syncSessionStart(kube, spec, syncDir, syncCfg, {
            ...io,
            signal,
            secretFiles: plan.envFiles,
            promptFiles: (o.neverSync ?? []).map((p) => resolve(io.cwd ?? Deno.cwd(), p)),
          });
        }
      }
      if (it.interrupted) throw new KodamaError("interrupted", ExitCode.INTERRUPTED);
      await updateState(spec.name, { status: "Running" });
      // from here on the session is ready: a failure (the init command, the agent) never removes it
      ready = true;
      if (spec.init !== undefined) await runInit(kube, spec, io, signal);
      io.out.write(`session/${spec.name} ready\n`);
      if (run.created.pooled) {
        await refillPool(kube, spec, run.created.pooled.had, io.err, cfg.defaults.storage.poolRefill);
      }
      // read after the init command? then the pod is looked up again (the init may have changed the session)
      if (o.afterReady) {
        await o.afterReady({ spec, pod: spec.init === undefined ? got.pod : undefined, signal });
      }
      io.err.write(
        `attach with: kodama attach ${spec.name}${
          kube.namespace === spec.namespace ? "" : ` -n ${spec.namespace}`
        }\n`,
      );
      return ExitCode.OK;
    } catch (e) {
      phases.done();
      // the session is ready and stays (its clone is work): only what came after it (afterReady) failed
      if (ready) throw e;
      if (!it.interrupted) {
        if (run.created.secret || run.created.volumes.length || run.created.pod) {
          // a session that never ran leaves nothing behind (its volumes only with --keep-on-failure); the
          // reason (and a clone's own lines) is in the error
          const r = await rollback(run, !o.keepOnFailure);
          // nothing of the session is left to look at: no local state either (`list` would call it stale)
          if (wroteState) await removeState(spec.name).catch(() => false);
          io.err.write(`${rollbackText("start failed, cleaned up", r)}\n`);
          if (e instanceof KodamaError && r.kept.length) {
            throw new KodamaError(
              e.message,
              e.code,
              `a new \`kodama start ${spec.name}\` reuses the kept PVCs; \`kodama delete ${spec.name} --purge\` removes them`,
            );
          }
          if (e instanceof KodamaError && /left as it is/.test(e.hint ?? "")) {
            throw new KodamaError(
              e.message,
              e.code,
              o.keepOnFailure ? undefined : "keep the volumes of a failed start with --keep-on-failure",
            );
          }
        }
        throw e;
      }
      const rolled = await rollback(run);
      if (wroteState) await removeState(spec.name).catch(() => false);
      const msg = rollbackText("interrupted", rolled);
      const kept = rolled.kept.length
        ? `a new \`kodama start ${spec.name}\` reuses the kept PVCs; \`kodama delete ${spec.name} --purge\` removes them`
        : undefined;
      throw new KodamaError(msg, ExitCode.INTERRUPTED, kept);
    }
  }, { onSignal, signal: io.signal });
}
