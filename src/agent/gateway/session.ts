/**
 * A new session through the namespace's gateway (StartOptions.viaGateway, once the plan is made and
 * before any object is created): when the namespace has a gateway, the planned env Secret gets a token
 * minted for this session instead of the real keys, the agent's base URLs and proxy point at the gateway,
 * the session records it (`SessionSpec.gateway`: the egress policy then allows only the gateway and DNS),
 * and the git credentials Secret loses its token. Without a gateway nothing changes: the plan is as today.
 */
import type { Config } from "../../config/schema.ts";
import type { KubeObjects } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { SessionPlan } from "../../session/lifecycle/start.ts";
import { buildSession } from "../../session/spec/manifests.ts";
import { ADAPTERS, gatewayServes } from "../adapters/index.ts";
import { GATEWAY_NAME } from "../../session/spec/gateway.ts";
import { isPresetName, PRESETS } from "../presets/presets.ts";
import { allowedHosts, gatewayEnv, sessionClaims, tokenSuffix } from "./claims.ts";
import { configOf, gatewayUrl } from "./cluster.ts";
import { type GatewayConfig, KEY_VARS, revokedBefore } from "./config.ts";
import { loginMeta } from "./chatgpt.ts";
import { replacedBaseLine, replacedBaseUrls } from "./baseurls.ts";
import type { V1Secret, V1Service } from "@kubernetes/client-node";

/** The gateway's Service and Secret, or undefined when there is none (or it may not be read). */
async function namespaceGateway(kube: KubeObjects, ns: string) {
  const quiet = async <T>(f: () => Promise<T | undefined>) => {
    try {
      return await f();
    } catch (e) {
      // a user who may not read Services or Secrets there has no gateway of theirs: today's path
      if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) return undefined;
      throw e;
    }
  };
  const service = await quiet(() => kube.findObject<V1Service>("services", ns, GATEWAY_NAME));
  if (!service) return undefined;
  const config = configOf(await quiet(() => kube.findObject<V1Secret>("secrets", ns, GATEWAY_NAME)));
  const url = gatewayUrl(service);
  return config && url ? { config, url } : undefined;
}

/**
 * The providers whose keys the namespace's gateway holds (`anthropic`, `openai`, `gemini`), and `chatgpt` when
 * it holds a ChatGPT login (Codex's alone: adapters/index.ts gatewayServes), none without a gateway. A session
 * they serve needs no key of this machine (`start --replicas`' check asks for none).
 */
export async function gatewayHeldProviders(kube: KubeObjects, ns: string): Promise<string[]> {
  const g = await namespaceGateway(kube, ns);
  return g ? heldOf(g.config) : [];
}

/** What a gateway's config holds, as gatewayHeldProviders says it. Pure. */
function heldOf(config: GatewayConfig): string[] {
  const held = Object.entries(config.providers).filter(([p, slot]) => p !== "git" && slot?.keys.length);
  const out = held.map(([p]) => p);
  if (config.providers.chatgpt?.login) out.push("chatgpt");
  return [...new Set(out)];
}

const finiteOr0 = (n: number | undefined) => n !== undefined && Number.isFinite(n) ? n : 0;

/**
 * The variables of a session whose webhooks the gateway relays: the session's own key (derived from the
 * user's: notifykey.ts), the events, where to send them and the token that says which session sends.
 */
async function relayEnv(
  spec: SessionPlan["spec"],
  n: { gen: string; on: string[] },
  url: string,
  token: string,
): Promise<Record<string, string>> {
  const { notifyKey, sessionNotifyKey } = await import("../notify/notifykey.ts");
  return {
    KODAMA_NOTIFY_KEY: await sessionNotifyKey(await notifyKey(), spec.namespace, spec.name, n.gen),
    KODAMA_NOTIFY_ON: n.on.join(","),
    KODAMA_NOTIFY_RELAY: `${url}/_kodama/notify`,
    KODAMA_NOTIFY_TOKEN: token,
  };
}

/** The start step: the plan through the gateway when the namespace has one. */
export function viaGateway(kube: KubeObjects, cfg: Config, err: Sink, narrowHosts?: string[]) {
  return async (plan: SessionPlan): Promise<void> => {
    const spec = plan.spec;
    const g = await namespaceGateway(kube, spec.namespace);
    if (!g) return;
    const preset = spec.agent?.preset;
    const login = g.config.providers.chatgpt?.login;
    const forwardEnv = preset && isPresetName(preset) ? PRESETS[preset].authEnv : Object.keys(KEY_VARS);
    const claims = sessionClaims({
      session: spec.name,
      ...(spec.group ? { group: spec.group.name } : {}),
      namespace: spec.namespace,
      forwardEnv,
      gatewayProviders: Object.keys(g.config.providers).filter((p) =>
        g.config.providers[p as "git"]?.keys.length
      ),
      gitHosts: (g.config.providers.git?.keys ?? []).map((k) => k.host!).filter(Boolean),
      hosts: allowedHosts(cfg.session.egress.hosts ?? [], narrowHosts),
      ...(spec.agent?.settings?.maxCostUsd !== undefined
        ? { budgetUsd: spec.agent.settings.maxCostUsd }
        : {}),
      // only an agent that runs on it (Codex) gets the login: another OpenAI one cannot use that backend
      chatgptLogin: !!login && (!preset || !isPresetName(preset) || !!ADAPTERS[preset].chatgptLogin),
      // a session of this name deleted before: its token is newer than that revocation
      revokedBefore: finiteOr0(revokedBefore(g.config, spec.name)),
      now: new Date(),
    });
    // loaded only here: its HMAC is node:crypto's, and Deno's Node layer costs every start ~60 ms of CPU
    const { mintToken } = await import("./gatewaytoken.ts");
    // the gateway relays the session's webhooks when it holds the user's (its token names the generation)
    const relay = spec.notify && g.config.notify?.url ? spec.notify : undefined;
    const token = mintToken(g.config.signingKey, relay ? { ...claims, n: relay.gen } : claims);
    const env = gatewayEnv(plan.data.env, {
      url: g.url,
      token,
      claims,
      gitTokenEnv: cfg.git.tokenEnv,
      ...(login ? { chatgpt: { meta: loginMeta(login), now: new Date() } } : {}),
    });
    const replaced = replacedBaseUrls(plan.data.env, forwardEnv, claims.p, g.config.providers);
    if (relay) Object.assign(env, await relayEnv(spec, relay, g.url, token));
    plan.data = { ...plan.data, env };
    // the clone's credentials Secret never holds the real token either
    if (plan.data.git?.credentials) plan.data.git = { ...plan.data.git, credentials: "" };
    plan.spec = {
      ...spec,
      envVars: Object.keys(env).sort(),
      gateway: { service: GATEWAY_NAME, url: g.url, tokenSuffix: tokenSuffix(token) },
      ...(relay ? { notify: { ...relay, relay: "gateway" as const } } : {}),
    };
    plan.objects = buildSession(plan.spec, plan.data);
    err.write(
      `note: ${spec.name} goes through the gateway ${GATEWAY_NAME} (${g.url}): its env Secret holds a token, not the keys (--no-gateway: as without one)\n`,
    );
    for (const r of replaced) err.write(replacedBaseLine(spec.name, GATEWAY_NAME, r));
    // the gateway keeps every key out of the pod, the user's too: an agent it does not serve has none there
    if (preset && isPresetName(preset) && !gatewayServes(preset, heldOf(g.config))) {
      const provider = ADAPTERS[preset].provider;
      err.write(
        `warning: ${spec.name}: the gateway ${GATEWAY_NAME} holds no ${provider} key${
          login ? " (its ChatGPT login serves Codex alone)" : ""
        } and keeps yours out of the pod: ${preset} has no key there (give the gateway one: kodama gateway ensure, with ${
          PRESETS[preset].authEnv[0]
        } set; or start --no-gateway)\n`,
      );
    }
    if (relay) {
      err.write(
        `note: the gateway sends ${spec.name}'s webhooks (notify.webhook) when a run ends, laptop closed or not; the pod holds a key of its own session, never the URL or your key\n`,
      );
    }
  };
}
