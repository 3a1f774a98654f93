/**
 * `start --prompt`: a session start followed by an agent run, composed here above both (a session never
 * imports an agent). The run starts once the session is ready; when it cannot start, the session stays.
 */
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeSessions } from "../../kube/seam.ts";
import { KodamaError, usageError } from "../../base/errors.ts";
import { hostPlatform } from "../../base/platform.ts";
import { originOf } from "../../config/origin.ts";
import {
  type SessionPlan,
  type StartIO,
  type StartOptions,
  startSession,
} from "../../session/lifecycle/start.ts";
import type { TemplateAgent } from "../../session/spec/template.ts";
import type { SessionAgent, SessionSpec } from "../../session/spec/spec.ts";
import type { Shared } from "../../session/lifecycle/shared.ts";
import {
  type AgentChoice,
  agentChoiceOf,
  type AgentKind,
  configChoice,
  forwardedEnv,
  resolveAgent,
  templateChoice,
} from "../presets/presets.ts";
import { defaultDeps, storedVar } from "../credentials/keys.ts";
import { credentialPreflight } from "../credentials/preflight.ts";
import { knownCliWarning } from "../presets/knowncli.ts";
import { flagLayer, mergeSettings, modelsLayer, type SettingsFlags } from "../presets/settings.ts";

export interface AgentStartOptions extends StartOptions {
  /** a prompt for a coding-agent run once the session is ready (`--prompt`, `--prompt-file`) */
  prompt?: string;
  /** `--agent NAME`: a preset (or custom), over a template's and the config's */
  agentName?: string;
  /** a replica's `--agent-variant i=SPEC`, over everything else */
  variant?: AgentChoice;
  /** run in the workspace when that run's agent has ended (`--check`; default agent.check) */
  check?: string;
  /** `--model`, `--fallback-model`, `--retry`, `--max-turns`, …: over a template's and the config's */
  settings?: SettingsFlags;
  /** `--no-preflight`: a prompt's start does not stop for missing credentials */
  noPreflight?: boolean;
  /** `--notify` / `--no-notify`: the session's pod sends the webhook (default: when notify.webhook is set) */
  notify?: boolean;
}

/** Checked before any request: what a prompt needs, and the agent's name. */
export function checkPromptOptions(o: AgentStartOptions): void {
  if (o.agentName !== undefined) agentChoiceOf(o.agentName);
  flagLayer(o.settings ?? {});
  if (o.prompt !== undefined && o.noWait && !o.dryRun) {
    throw usageError("--prompt needs the session ready: it cannot be combined with --no-wait");
  }
  if (o.check !== undefined && o.prompt === undefined) {
    throw usageError("--check runs when the agent has ended: it needs --prompt or --prompt-file");
  }
}

/**
 * The session's agent (a variant > `--agent` > a template's > the config's) and the local variables its
 * env Secret may take: the user's config alone decides those (a repository's values never count).
 */
export function agentFor(o: AgentStartOptions, cfg: Config) {
  const source = (key: string) => originOf(cfg)?.sources[key];
  return (template?: TemplateAgent, kept?: SessionAgent) => {
    // `start --replace`: the replaced session's agent and its settings, unless a flag chooses
    if (
      kept && o.variant === undefined && o.agentName === undefined && !Object.keys(o.settings ?? {}).length
    ) {
      return { agent: kept, forwardEnv: forwardedEnv(kept.preset as AgentKind, cfg, source) };
    }
    const resolved = resolveAgent([
      o.variant,
      o.agentName !== undefined ? agentChoiceOf(o.agentName) : undefined,
      templateChoice(template),
      configChoice(cfg),
    ], cfg);
    // models, retry, budgets: the flags over the template's over the config's, recorded with the session
    const settings = mergeSettings(
      flagLayer(o.settings ?? {}),
      modelsLayer(template, "the template's agent"),
      modelsLayer(cfg.agent, "agent"),
    );
    const agent = Object.keys(settings).length ? { ...resolved, settings } : resolved;
    return { agent, forwardEnv: forwardedEnv(agent.preset as AgentKind, cfg, source) };
  };
}

/**
 * agentFor, and `start`'s warning (once per sink: a group's replicas share one) when a custom command runs
 * a preset's CLI with none of its keys forwarded (knowncli.ts).
 */
function agentForSaying(o: AgentStartOptions, cfg: Config, err: StartIO["err"]) {
  const pick = agentFor(o, cfg);
  return (template?: TemplateAgent, kept?: SessionAgent) => {
    const r = pick(template, kept);
    const w = r.agent.preset === "custom" ? knownCliWarning(r.agent.command, r.forwardEnv) : undefined;
    if (w && !(warned.get(err) ?? new Set()).has(w)) {
      warned.set(err, (warned.get(err) ?? new Set()).add(w));
      err.write(w);
    }
    return r;
  };
}
const warned = new WeakMap<object, Set<string>>();

/** The sinks told already: a group's replicas share one, and are told once. */
const laptopNoteSaid = new WeakSet<object>();

/** What `start` says once (a group's replicas too) when kodama on this machine sends the webhooks. */
function laptopRelayNote(err: object): string {
  if (laptopNoteSaid.has(err)) return "";
  laptopNoteSaid.add(err);
  return `note: without a gateway, webhooks (notify.webhook) are sent when kodama on your machine sees a run end (agent wait, agent logs -f, compare --wait), or by the namespace's gateway (kodama gateway ensure); the pod never holds the URL or your key\n`;
}

/** The start options with the session's agent and (with a prompt) its first run as the afterReady step. */
export function withAgentRun(
  kube: KubeSessions,
  o: AgentStartOptions,
  cfg: Config,
  io: StartIO,
): StartOptions {
  const { prompt, agentName: _a, variant: _v, check, settings: _s, noPreflight, notify, ...rest } = o;
  let keys: ReturnType<typeof defaultDeps> | undefined;
  const base = {
    ...rest,
    // once the namespace has a gateway, a session goes through it unless told not to
    ...(rest.noGateway || cfg.session.gateway === false ? {} : {
      // a template's egressHosts narrows the user's session.egress.hosts, never widens it
      viaGateway: async (plan: SessionPlan, tpl?: { egressHosts?: string[] }) => {
        await (await import("../gateway/session.ts")).viaGateway(kube, cfg, io.err, tpl?.egressHosts)(plan);
        if (plan.spec.notify?.relay === "laptop") io.err.write(laptopRelayNote(io.err));
      },
    }),
    agentFor: agentForSaying(o, cfg, io.err),
    // a key kept by `kodama agent keys` is read like a local variable of its name
    storedEnv: async (name: string) => storedVar(await (keys ??= defaultDeps()), name).catch(() => undefined),
    // the webhook: a generation in the spec; the URL and the keys stay off the pod (notifykey.ts)
    notifyOf: async () => {
      const { notifyKey, sessionNotify } = await import("../notify/notifykey.ts");
      const n = sessionNotify(cfg.notify, notify);
      // the user's key exists from the first start, for a receiver to be set up with (never in the pod)
      if (n) await notifyKey();
      // through a gateway, viaGateway says how it relays them (it runs after this, on the same plan)
      if (n && (rest.noGateway || cfg.session.gateway === false)) io.err.write(laptopRelayNote(io.err));
      return n;
    },
  };
  if (prompt === undefined) return base;
  return {
    ...base,
    ...(noPreflight ? {} : { preflight: credentialPreflight(kube, io.err) }),
    // the run needs the preset's CLI: when the image lacks it, from the namespace's cache (one install
    // for every replica and later session; agent.cliCache)
    cliCache: async (
      spec: SessionSpec,
      c: { signal: AbortSignal; shared?: Shared; timeoutMs: number; caPem?: string },
    ) =>
      (await import("../clicache/clicachestart.ts")).prepareCliCache(kube, spec, {
        cliCache: cfg.agent.cliCache,
        // the install source: the user's config and this machine's environment, never the session's (its
        // CA bundle, c.caPem, only helps reach the registry, and only you choose it: config/steering.ts)
        image: cfg.agent.cliCacheImage ?? cfg.gateway.image,
        ...(cfg.agent.cliCacheRegistry ? { registry: cfg.agent.cliCacheRegistry } : {}),
        env: hostPlatform().env,
        err: io.err,
        ...c,
      }),
    afterReady: async ({ spec, pod }) => {
      const { agentRun } = await import("./agentrun.ts");
      try {
        // several repositories: the agent is told where each is, and which it only reads (startRun, every run)
        await agentRun(kube, spec.namespace, spec.name, {
          pod,
          prompt,
          ...(spec.agent ? { agent: spec.agent } : {}),
          cfg,
          check: check ?? cfg.agent.check,
          stallTimeout: cfg.agent.stallTimeout,
          ...io,
        });
      } catch (e) {
        // the session is ready and stays (its clone is work): only the agent run did not start
        if (!(e instanceof KodamaError)) throw e;
        throw new KodamaError(
          e.message,
          e.code,
          `${
            e.hint ? `${e.hint}; ` : ""
          }session ${spec.name} is ready: kodama agent run ${spec.name} tries again`,
        );
      }
    },
  };
}

/** Start a session, then (with a prompt) the agent's first run in it. */
export async function startWithAgent(
  kube: Kube,
  o: AgentStartOptions,
  cfg: Config,
  io: StartIO,
): Promise<number> {
  checkPromptOptions(o);
  return await startSession(kube, withAgentRun(kube, o, cfg, io), cfg, io);
}
