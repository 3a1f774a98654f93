/**
 * `kodama gateway ensure | status | log SESSION | usage | delete`: the namespace's gateway (docs/agents.md
 * "The gateway"), made and read like `pool`: `ensure` makes its objects, the cluster's StatefulSet
 * controller keeps its one pod running (docs/agents.md, "The gateway's durability").
 */
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { KubeObjects, KubePods, KubeStreams } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import type { Config } from "../../config/schema.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { doubling } from "../../base/clock.ts";
import { GATEWAY_NAME } from "../../session/spec/gateway.ts";
import { LABEL_SESSION } from "../../session/spec/names.ts";
import { renderTable } from "../../ui/table.ts";
import { newSigningKey } from "./gatewaytoken.ts";
import {
  BASE_URL_VARS,
  buildGatewayConfig,
  type GatewayConfig,
  KEY_VARS,
  keyFingerprint,
  keyRows,
  keySetOf,
} from "./config.ts";
import {
  CHATGPT_URL_VAR,
  type ChatgptLogin,
  codexAuthPaths,
  jwtExpiry,
  loginMeta,
  loginStateOf,
  parseCodexAuth,
  REFRESH_URL_VAR,
} from "./chatgpt.ts";
import {
  ANNOTATION_PROGRAM,
  buildGatewayConfigMap,
  buildGatewayPod,
  buildGatewayPolicy,
  buildGatewaySecret,
  buildGatewayService,
  buildGatewayStateClaim,
  buildGatewayStatefulSet,
  GATEWAY_POD,
  LEGACY_POD,
  programDigest,
  STATE_CLAIM,
} from "./manifests.ts";
import {
  applyObject,
  configOf,
  findGateway,
  gatewayLogLines,
  type GatewayObjects,
  gatewayUrl,
} from "./cluster.ts";
import { podState, podText, replayedOf } from "./podstate.ts";
import { type LogEvent, logRows, type UsageBy, usageRows } from "./usage.ts";

export interface GatewayIO {
  out: Sink;
  err: Sink;
}

/**
 * The keys and base URLs the gateway is to hold, found as `start` and `agent check` find them: the user's own
 * env files (`env.dotenvFiles`, never a repository's), this environment, then `kodama agent keys`.
 */
export async function localGatewayVars(
  cfg: Config,
  cwd: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<Record<string, string>> {
  const [{ defaultDeps }, { ownEnvSources, localVars }] = await Promise.all([
    import("../credentials/keys.ts"),
    import("../credentials/checkrun.ts"),
  ]);
  const files = await ownEnvSources(cfg, cwd);
  const names = [...Object.keys(KEY_VARS), ...Object.values(BASE_URL_VARS)];
  const found = await localVars(names, files, await defaultDeps().catch(() => undefined));
  const out: Record<string, string> = Object.fromEntries(Object.entries(found).map(([k, v]) => [k, v.value]));
  // the ChatGPT login's endpoints (a user's own, a stand-in): from this environment only
  for (const name of [CHATGPT_URL_VAR, REFRESH_URL_VAR]) {
    const v = env(name);
    if (v) out[name] = v;
  }
  return out;
}

/** The user's webhook for the gateway to relay to: notify.webhook, notify.on and this user's key. */
export async function gatewayNotify(n: Config["notify"]): Promise<GatewayConfig["notify"]> {
  const { notifyKey } = await import("../notify/notifykey.ts");
  return n.webhook ? { url: n.webhook, key: await notifyKey(), on: [...n.on] } : undefined;
}

/** The user's own Codex ChatGPT login ($CODEX_HOME/auth.json, else ~/.codex/auth.json), if any. */
export async function localChatgptLogin(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<ChatgptLogin | undefined> {
  const { homeDir, hostPlatform } = await import("../../base/platform.ts");
  for (const path of codexAuthPaths(env, homeDir(hostPlatform()))) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch {
      continue;
    }
    return parseCodexAuth(text);
  }
  return undefined;
}

export interface EnsureOptions {
  image: string;
  /** the program's files by name (src/agent/gateway/program.ts) */
  program: Record<string, string>;
  vars: Record<string, string>;
  /** the user's prices (`gateway.prices`): USD per million tokens by model glob */
  prices?: Record<string, Record<string, number>>;
  /** Codex's ChatGPT login (the user's auth.json); without one the Secret's is kept */
  chatgpt?: ChatgptLogin;
  /** the user's webhook the gateway relays its sessions' events to (GatewayConfig.notify) */
  notify?: GatewayConfig["notify"];
  noWait?: boolean;
  timeoutMs: number;
}

/** Create or update the gateway's objects; wait for its pod to be ready (unless noWait). */
export async function gatewayEnsure(
  kube: KubeObjects & KubePods,
  ns: string,
  o: EnsureOptions,
  io: GatewayIO,
): Promise<number> {
  const have = await findGateway(kube, ns);
  const kept = configOf(have.secret);
  const chatgpt = o.chatgpt ?? kept?.providers.chatgpt?.login;
  if (!Object.keys(o.vars).some((v) => v in KEY_VARS) && !chatgpt) {
    throw usageError(
      `no key for the gateway to hold: none of ${
        Object.keys(KEY_VARS).join(", ")
      } is set here, and no Codex ChatGPT login (~/.codex/auth.json)`,
      "export one, or store it: kodama agent keys set anthropic",
    );
  }
  const config = buildGatewayConfig(
    o.vars,
    {
      signingKey: kept?.signingKey ?? newSigningKey(),
      revoked: kept?.revoked,
    },
    chatgpt,
    o.prices,
  );
  if (o.notify) config.notify = o.notify;
  await applyObject(kube, "secrets", ns, buildGatewaySecret(ns, JSON.stringify(config, null, 2)) as never);
  await applyObject(kube, "configmaps", ns, buildGatewayConfigMap(ns, o.program) as never);
  await applyPolicy(kube, ns, io.err);
  const service = await applyObject(kube, "services", ns, buildGatewayService(ns) as never);
  // a Terminating state claim takes the old StatefulSet and pod with it (claimGone)
  const anew = await claimGone(kube, ns, io.err, o.timeoutMs);
  const state = await applyStateClaim(kube, ns, io.err);
  const owner = state === "claim" && await allowsStateOwner(kube, ns, o.image);
  // the program, the image, the pod's own spec and the keys with their upstreams: a change to any of them
  // makes a new pod. A mounted Secret reaches a running pod only after the kubelet's sync (a minute or more,
  // on some clusters never), so new keys are applied by a new pod, which reads the Secret as it is now.
  const keySet = await keySetOf(config);
  const digest = await programDigest(
    `${JSON.stringify(o.program)}\n${
      JSON.stringify(buildGatewayPod(ns, o.image, "", state, owner).spec)
    }\n${keySet}`,
    o.image,
  );
  const set = await applySet(kube, ns, anew ? {} : have, digest, o.image, state, owner);
  const keys = [
    ...(await keyTexts(config)),
    ...(config.providers.chatgpt ? ["chatgpt login"] : []),
  ].join(", ");
  io.err.write(`gateway in namespace ${ns}: service ${service}, statefulset ${set}; keys: ${keys}\n`);
  if (set === "updated" && kept && await keySetOf(kept) !== keySet) {
    io.err.write(
      `the keys changed: the gateway pod restarts to apply them (requests in flight finish first)${
        o.noWait ? `; requests use the new keys once pod ${GATEWAY_POD} is ready again` : ""
      }\n`,
    );
  }
  if (have.legacy) await adoptLegacy(kube, ns, have.legacy, io.err);
  if (o.noWait) return ExitCode.OK;
  await waitGatewayReady(kube, ns, o.timeoutMs, digest);
  const url = gatewayUrl(await kube.findObject("services", ns, GATEWAY_NAME));
  io.out.write(`gateway ready at ${url ?? GATEWAY_NAME}: new sessions in ${ns} go through it\n`);
  return ExitCode.OK;
}

/**
 * May the gateway's pod give its state folder to the gateway's user (a root init container, manifests.ts)?
 * Where the namespace's Pod Security admission takes such a pod: asked of the API server itself, a server
 * dry run of the pod with that container (admission runs, nothing is made). A refusal (restricted, by label or
 * by the cluster's default) or a pod the user may not create: no such container.
 */
async function allowsStateOwner(kube: KubeObjects, ns: string, image: string): Promise<boolean> {
  const pod = buildGatewayPod(ns, image, "", "claim", true);
  pod.metadata = { ...pod.metadata, name: `${GATEWAY_POD}-probe` };
  return await kube.createObject("pods", ns, pod, { dryRun: true }).then(() => true, () => false);
}

/** The ingress policy; a user who may not create NetworkPolicies gets a warning, not a failure. */
async function applyPolicy(kube: KubeObjects, ns: string, err: Sink): Promise<void> {
  try {
    await applyObject(kube, "networkpolicies", ns, buildGatewayPolicy(ns) as never);
  } catch (e) {
    if (!(e instanceof KodamaError) || e.code !== ExitCode.FORBIDDEN) throw e;
    err.write(
      `warning: cannot create NetworkPolicy ${GATEWAY_NAME} in ${ns} (forbidden): the gateway pod takes connections from any pod\n`,
    );
  }
}

/**
 * The state claim (where a refreshed login survives a restart); a user who may not create claims gets a
 * warning and a pod whose state lives in memory ("memory").
 */
async function applyStateClaim(kube: KubeObjects, ns: string, err: Sink): Promise<"claim" | "memory"> {
  try {
    await applyObject(kube, "persistentvolumeclaims", ns, buildGatewayStateClaim(ns) as never);
    return "claim";
  } catch (e) {
    if (!(e instanceof KodamaError) || e.code !== ExitCode.FORBIDDEN) throw e;
    err.write(
      `warning: cannot create PersistentVolumeClaim ${STATE_CLAIM} in ${ns} (forbidden): a login the gateway refreshes lives in memory; after a restart it falls back to the Secret's copy, which may be spent\n`,
    );
    return "memory";
  }
}

/**
 * A state claim being deleted (a `gateway delete` a moment ago, or someone's `kubectl delete pvc`) stays
 * Terminating while a pod uses it, and a pod made on it now would wait for a claim that is about to be gone
 * (the scheduler: `persistentvolumeclaim "kodama-gateway-state" not found`). So the old gateway pod goes, the
 * claim is waited out, and a new one is made. Exit 5 when it outlasts the timeout.
 */
async function claimGone(
  kube: KubeObjects & KubePods,
  ns: string,
  err: Sink,
  timeoutMs: number,
): Promise<boolean> {
  const going = (c?: { metadata?: { deletionTimestamp?: unknown } }) => !!c?.metadata?.deletionTimestamp;
  const find = () =>
    kube.findObject<{ metadata?: { deletionTimestamp?: unknown } }>(
      "persistentvolumeclaims",
      ns,
      STATE_CLAIM,
    );
  let claim = await find();
  if (!going(claim)) return false;
  err.write(
    `waiting for PersistentVolumeClaim ${STATE_CLAIM} to be deleted (it is Terminating) before making it anew\n`,
  );
  // the StatefulSet first (else its controller makes the pod again on the claim about to be gone)
  await kube.deleteObject("statefulsets", ns, GATEWAY_NAME);
  for (const name of [GATEWAY_POD, LEGACY_POD]) {
    if (await kube.deleteObject("pods", ns, name, { gracePeriodSeconds: 0 })) await waitGone(kube, ns, name);
  }
  const until = Date.now() + timeoutMs;
  for (let i = 0; going(claim); i++) {
    if (Date.now() > until) {
      throw new KodamaError(
        `PersistentVolumeClaim ${STATE_CLAIM} in ${ns} is still being deleted after ${
          Math.round(timeoutMs / 1000)
        }s`,
        ExitCode.TIMEOUT,
        `see what holds it: kubectl get pvc,pods -n ${ns}; then kodama gateway ensure -n ${ns} again`,
      );
    }
    await new Promise((r) => setTimeout(r, doubling(i, 250, 2000)));
    claim = await find();
  }
  return true;
}

/**
 * The StatefulSet, made when missing; its template set anew (replicas back to 1) when the program, the image
 * or the pod's spec changed: the controller then replaces the pod. A pod at the old template that is not
 * ready is deleted at once (the controller rolls only a ready one: a crashing gateway would never be fixed).
 */
async function applySet(
  kube: KubeObjects,
  ns: string,
  have: GatewayObjects,
  digest: string,
  image: string,
  state: "claim" | "memory",
  owner: boolean,
): Promise<"created" | "kept" | "updated"> {
  const body = buildGatewayStatefulSet(ns, image, digest, state, owner);
  const old = have.set;
  if (!old) {
    await kube.createObject("statefulsets", ns, body);
    return "created";
  }
  const same = old.spec?.template?.metadata?.annotations?.[ANNOTATION_PROGRAM] === digest &&
    old.spec?.replicas === 1;
  if (same) return "kept";
  await kube.patchObject<V1StatefulSet>("statefulsets", ns, GATEWAY_NAME, {
    metadata: { labels: body.metadata?.labels },
    spec: { replicas: 1, template: body.spec!.template },
  });
  const { isReady } = await import("../../pods/wait.ts");
  const pod = have.pod?.metadata?.name === GATEWAY_POD ? have.pod : undefined;
  if (pod && pod.metadata?.annotations?.[ANNOTATION_PROGRAM] !== digest && !isReady(pod)) {
    await kube.deleteObject("pods", ns, GATEWAY_POD);
  }
  return "updated";
}

/**
 * The bare gateway pod an older kodama made (no owner, named kodama-gateway): deleted once the StatefulSet
 * is made, whose pod takes over on the same state claim (the old pod's own figures were in its log only).
 */
async function adoptLegacy(kube: KubeObjects & KubePods, ns: string, pod: V1Pod, err: Sink): Promise<void> {
  if (pod.metadata?.ownerReferences?.length) return;
  err.write(
    `the gateway pod ${LEGACY_POD} is a bare pod from an older kodama: deleting it; StatefulSet ${GATEWAY_NAME} runs the gateway from now on (pod ${GATEWAY_POD})\n`,
  );
  if (await kube.deleteObject("pods", ns, LEGACY_POD)) await waitGone(kube, ns, LEGACY_POD);
}

async function waitGone(kube: KubeObjects & KubePods, ns: string, name: string): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 60_000);
  try {
    if (!await kube.findObject("pods", ns, name)) return;
    await kube.watchPods(ns, { fieldSelector: `metadata.name=${name}` }, (type) => {
      if (type === "DELETED") ac.abort();
    }, ac.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wait on the pod's watch until the StatefulSet's pod is ready (at `digest`: the new template's pod, not the
 * one it replaces); exit 5 after `ms`.
 */
export async function waitGatewayReady(
  kube: KubePods,
  ns: string,
  ms: number,
  digest?: string,
): Promise<void> {
  const { isReady } = await import("../../pods/wait.ts");
  const ac = new AbortController();
  let state: "ready" | "timeout" | undefined;
  let last: V1Pod | undefined;
  const timer = setTimeout(() => {
    state ??= "timeout";
    ac.abort();
  }, ms);
  const current = (pod: V1Pod) =>
    !pod.metadata?.deletionTimestamp &&
    (digest === undefined || pod.metadata?.annotations?.[ANNOTATION_PROGRAM] === digest);
  try {
    await kube.watchPods(ns, { fieldSelector: `metadata.name=${GATEWAY_POD}` }, (type, pod) => {
      if (type === "DELETED") return;
      last = pod;
      if (current(pod) && isReady(pod)) {
        state = "ready";
        ac.abort();
      }
    }, ac.signal);
  } finally {
    clearTimeout(timer);
  }
  if (state === "ready") return;
  const why = waitingReason(last);
  throw new KodamaError(
    `the gateway pod in ${ns} was not ready in ${Math.round(ms / 1000)}s${why ? ` (${why})` : ""}`,
    ExitCode.TIMEOUT,
    `kodama gateway status -n ${ns}; kubectl logs -n ${ns} ${GATEWAY_POD}`,
  );
}

function waitingReason(pod: V1Pod | undefined): string | undefined {
  const c = pod?.status?.containerStatuses?.[0];
  return c?.state?.waiting?.reason ?? c?.state?.terminated?.reason ?? pod?.status?.phase;
}

/** The sessions of the namespace that go through the gateway (their pods carry its record). */
async function sessionsUsing(kube: KubePods, ns: string): Promise<string[]> {
  const { specOf } = await import("../../session/spec/spec.ts");
  const pods = await kube.listPods(ns, { labelSelector: LABEL_SESSION });
  return pods.filter((p) => specOf(p)?.gateway).map((p) => p.metadata?.labels?.[LABEL_SESSION] ?? "")
    .filter(Boolean).sort();
}

/** `gateway status`: ready or not, image, address, keys (masked), sessions, figures. Exit 3 without one. */
export async function gatewayStatus(
  kube: KubeObjects & KubePods & KubeStreams,
  ns: string,
  output: string,
  io: GatewayIO,
): Promise<number> {
  const g = await findGateway(kube, ns);
  if (!g.service && !g.secret && !g.pod && !g.set) {
    throw new KodamaError(
      `no gateway in namespace ${ns}`,
      ExitCode.NOT_FOUND,
      "kodama gateway ensure makes one",
    );
  }
  const { isReady } = await import("../../pods/wait.ts");
  const cfg = configOf(g.secret);
  const lines = g.pod?.status?.phase === "Running" ? await gatewayLogLines(kube, ns).catch(() => []) : [];
  const totals = usageRows(lines as LogEvent[], "session");
  const ps = podState(g.set, g.pod, isReady, replayedOf(lines));
  const sum = (k: "requests" | "denied" | "costUsd") => totals.reduce((n, r) => n + (r[k] ?? 0), 0);
  const status = {
    namespace: ns,
    ready: !!g.pod && isReady(g.pod),
    pod: g.pod ? (g.pod.status?.phase ?? "Pending") : "missing",
    ...ps,
    image: g.pod?.spec?.containers?.[0]?.image ?? null,
    url: gatewayUrl(g.service) ?? null,
    keys: cfg ? await keyIdRows(cfg) : [],
    // the keys the running gateway loaded, from its own log (null: not known, e.g. its log unreadable)
    keysInUse: keysInUseOf(lines),
    sessions: await sessionsUsing(kube, ns),
    requests: sum("requests"),
    denied: sum("denied"),
    costUsd: Math.round(sum("costUsd") * 1e6) / 1e6,
    login: cfg?.providers.chatgpt ? await loginStatus(kube, ns, cfg.providers.chatgpt.login, lines) : null,
  };
  if (output === "json") {
    io.out.write(JSON.stringify(status, null, 2) + "\n");
    return ExitCode.OK;
  }
  const keyText = status.keys.map((k) =>
    `${k.provider} ${k.id}${k.host ? ` (${k.host})` : ""} ${k.suffix} (key id ${k.keyId}${
      inUseText(k, status.keysInUse)
    })`
  );
  io.out.write(
    [
      `gateway:  ${GATEWAY_NAME} in ${ns}: ${ps.state}${ps.reason ? ` (${ps.reason})` : ""}`,
      `pod:      ${podText(ps, GATEWAY_NAME)}`,
      `image:    ${status.image ?? "-"}`,
      `address:  ${status.url ?? "-"}`,
      `keys:     ${keyText.join(", ") || "none"}`,
      `sessions: ${status.sessions.join(", ") || "none"}`,
      `figures:  ${status.requests} requests, ${status.denied} denied, $${status.costUsd}`,
      ...(status.login ? [`login:    ${loginText(status.login)}`] : []),
    ].join("\n") + "\n",
  );
  return ExitCode.OK;
}

interface KeyInUse {
  provider: string;
  id: string;
  keyId: string;
}

/** The Secret's keys as status shows them: provider, id, masked suffix and key id, never the key. */
async function keyIdRows(cfg: GatewayConfig) {
  const values = Object.entries(cfg.providers).flatMap(([, slot]) => (slot?.keys ?? []).map((k) => k.value));
  const ids = await Promise.all(values.map(keyFingerprint));
  return keyRows(cfg).map((k, i) => ({ ...k, keyId: ids[i] }));
}

async function keyTexts(cfg: GatewayConfig): Promise<string[]> {
  return (await keyIdRows(cfg)).map((k) => `${k.provider} ${k.id} ${k.suffix} (key id ${k.keyId})`);
}

/** The keys of the gateway's last `config loaded` line: what the running process uses. */
export function keysInUseOf(lines: Record<string, unknown>[]): KeyInUse[] | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    if (l.ev !== "config" || l.status !== "loaded") continue;
    if (!Array.isArray(l.keys)) return null; // a gateway program from before key ids
    return l.keys.filter((k): k is KeyInUse =>
      !!k && typeof k.provider === "string" && typeof k.id === "string" && typeof k.keyId === "string"
    ).map((k) => ({ provider: k.provider, id: k.id, keyId: k.keyId }));
  }
  return null;
}

/** ", in use", or what the running gateway uses instead of the Secret's key. */
function inUseText(k: { provider: string; id: string; keyId: string }, used: KeyInUse[] | null): string {
  if (!used) return ", in use: unknown";
  if (used.some((u) => u.provider === k.provider && u.keyId === k.keyId)) return ", in use";
  const other = used.filter((u) => u.provider === k.provider).map((u) => u.keyId);
  return `, not in use yet${
    other.length ? `: the gateway uses ${other.join(", ")}` : ""
  }; kodama gateway ensure applies it`;
}

interface LoginStatus {
  provider: "chatgpt";
  account: string | null;
  plan: string | null;
  /** the access token's expiry and last refresh: the gateway's log, else the Secret's copy */
  expiresAt: string | null;
  lastRefresh: string | null;
  source: string | null;
  /** the claim's phase (Bound, Pending) or "missing": a refreshed login survives a restart only when Bound */
  stateClaim: string;
  persisted: boolean | null;
  error: string | null;
}

/** The ChatGPT login's state: never a token, the account id masked. */
async function loginStatus(
  kube: KubeObjects,
  ns: string,
  login: ChatgptLogin,
  lines: Record<string, unknown>[],
): Promise<LoginStatus> {
  const claim = await kube.findObject<{ status?: { phase?: string } }>(
    "persistentvolumeclaims",
    ns,
    STATE_CLAIM,
  )
    .catch(() => undefined);
  const seen = loginStateOf(lines);
  const meta = loginMeta(login);
  const exp = jwtExpiry(login.tokens.access_token);
  return {
    provider: "chatgpt",
    account: meta.accountId ? `…${meta.accountId.slice(-4)}` : null,
    plan: meta.plan ?? null,
    expiresAt: seen?.expiresAt ?? exp?.toISOString() ?? null,
    lastRefresh: seen?.lastRefresh ?? login.last_refresh ?? null,
    source: seen?.source ?? null,
    stateClaim: claim ? (claim.status?.phase ?? "Pending") : "missing",
    persisted: seen?.persisted ?? null,
    error: seen?.status === "login-refresh-failed" ? (seen.error ?? "refresh failed") : null,
  };
}

function loginText(l: LoginStatus): string {
  const parts = [
    `chatgpt${l.account ? ` account ${l.account}` : ""}${l.plan ? ` (${l.plan})` : ""}`,
    `expires ${l.expiresAt ?? "-"}`,
    `last refreshed ${l.lastRefresh ?? "-"}${l.source ? ` (${l.source})` : ""}`,
  ];
  if (l.error) {
    parts.push(`refresh failed: ${l.error} (log in again: codex login, then kodama gateway ensure)`);
  }
  if (l.stateClaim !== "Bound" || l.persisted === false) {
    parts.push(
      `state ${l.stateClaim}: a refreshed login lives in memory; a restart falls back to the Secret's copy, which may be spent`,
    );
  }
  return parts.join("; ");
}

/** `gateway log SESSION`: the session's lines (time, event, host, path, status, bytes). */
export async function gatewayLog(
  kube: KubeObjects & KubeStreams,
  ns: string,
  session: string,
  output: string,
  io: GatewayIO,
): Promise<number> {
  const rows = logRows(await gatewayLogLines(kube, ns) as LogEvent[], session);
  if (output === "json") {
    io.out.write(JSON.stringify({ session, lines: rows }, null, 2) + "\n");
    return ExitCode.OK;
  }
  if (!rows.length) {
    io.err.write(`the gateway has logged nothing for session ${session}\n`);
    return ExitCode.OK;
  }
  io.out.write(renderTable(
    ["TIME", "EVENT", "HOST", "PATH", "STATUS", "IN", "OUT", "VERDICT"],
    rows.map((r) => [
      r.t,
      r.ev,
      r.host ?? "-",
      r.path ?? "-",
      r.status === undefined ? "-" : String(r.status),
      String(r.bytesIn ?? 0),
      String(r.bytesOut ?? 0),
      r.verdict,
    ]),
  ));
  return ExitCode.OK;
}

/** `gateway usage --by session|group|day`: sums of the gateway's usage lines. */
export async function gatewayUsage(
  kube: KubeObjects & KubeStreams,
  ns: string,
  by: string,
  output: string,
  io: GatewayIO,
): Promise<number> {
  if (!["session", "group", "day"].includes(by)) {
    throw usageError(`invalid --by ${by}`, "one of session, group, day");
  }
  const rows = usageRows(await gatewayLogLines(kube, ns) as LogEvent[], by as UsageBy);
  if (output === "json") {
    io.out.write(JSON.stringify({ by, rows }, null, 2) + "\n");
    return ExitCode.OK;
  }
  io.out.write(renderTable(
    [by.toUpperCase(), "REQUESTS", "DENIED", "INPUT", "OUTPUT", "CACHE-READ", "CACHE-WRITE", "COST"],
    rows.map((r) => [
      r.key,
      String(r.requests),
      String(r.denied),
      String(r.input),
      String(r.output),
      String(r.cacheRead),
      String(r.cacheWrite),
      r.costKnown ? `$${r.costUsd.toFixed(4)}` : "unknown",
    ]),
  ));
  return ExitCode.OK;
}

/**
 * `gateway delete`: every object of the gateway (sessions that used it then fail their requests): the
 * StatefulSet first (its pod goes with it), the bare pod of an older kodama, the rest, the state claim.
 */
export async function gatewayDelete(
  kube: KubeObjects & KubePods,
  ns: string,
  io: GatewayIO,
): Promise<number> {
  const gone: string[] = [];
  if (await kube.deleteObject("statefulsets", ns, GATEWAY_NAME)) gone.push("statefulset");
  // the pod: the garbage collector takes the StatefulSet's; at once here, as a bare one is
  for (const name of [GATEWAY_POD, LEGACY_POD]) {
    if (await kube.deleteObject("pods", ns, name) && !gone.includes("pod")) gone.push("pod");
  }
  for (const r of ["services", "networkpolicies", "configmaps", "secrets"] as const) {
    if (await kube.deleteObject(r, ns, GATEWAY_NAME)) gone.push(r.replace(/s$/, "").replace(/ie$/, "y"));
  }
  if (await kube.deleteObject("persistentvolumeclaims", ns, STATE_CLAIM)) gone.push("state claim");
  if (!gone.length) {
    throw new KodamaError(`no gateway in namespace ${ns}`, ExitCode.NOT_FOUND);
  }
  const users = await sessionsUsing(kube, ns);
  io.out.write(`deleted gateway ${GATEWAY_NAME} in ${ns} (${gone.join(", ")})\n`);
  if (users.length) {
    io.err.write(
      `note: ${
        users.join(", ")
      } went through it: their agents' requests now fail (restart them with --no-gateway, or ensure the gateway again)\n`,
    );
  }
  return ExitCode.OK;
}
