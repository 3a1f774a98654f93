/**
 * `kodama agent check [--agent P] [--model M] [--env-file F]… [SESSION]`: check.ts's request, sent from this
 * machine (the variables of the env files, this environment, then `agent keys`: the first that has one
 * wins, as at `start`) or, with a SESSION, from its pod (pod/check.js with the pod's own variables).
 * Prints the verdict (a table, or -o json) and exits with its code: 0 ok, 4 a key refused or missing,
 * 3 the model not found, 1 overloaded / rate limited / unreachable, 5 no answer in time.
 */
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeSessions } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { formatDuration, parseDuration } from "../../base/duration.ts";
import { originOf } from "../../config/origin.ts";
import { dotenvFilesAreYours } from "../../config/steering.ts";
import type { EnvSource } from "../../session/spec/envfile.ts";
import { resolveVars, type VarSource } from "../../session/spec/varsource.ts";
import { isAbsolute, join } from "../../base/fs/fspath.ts";
import {
  agentChoiceOf,
  configChoice,
  ENVLOAD_ARGV,
  forwardedEnv,
  isPresetName,
  PRESET_NAMES,
  PRESET_PROVIDER,
  type PresetName,
  resolveAgent,
} from "../presets/presets.ts";
import {
  checkPlan,
  DEFAULT_MODEL,
  judge,
  type Probe,
  sendPlan,
  tokensPerSecond,
  type Verdict,
  VERDICT_EXIT,
} from "./check.ts";
import { checkModel } from "../presets/settings.ts";
import { type KeyStoreDeps, maskKey, storedVar, wrongKeyProblem } from "./keys.ts";
import type { SessionAgent } from "../../session/spec/spec.ts";
import CHECK_JS from "../pod/check.js" with { type: "text" };
import CHECKMAIN_JS from "../pod/checkmain.js" with { type: "text" };
import { gatewayServes } from "../adapters/index.ts";

export interface CheckOptions {
  agent?: string;
  model?: string;
  envFiles?: string[];
  session?: string;
  output?: string;
  /** output tokens to ask for (default 1) */
  tokens?: string;
  timeout?: string;
  cwd?: string;
  /** the key from `agent keys` only (`agent keys test`), not the environment's */
  storedOnly?: boolean;
}

/** Where a local variable came from: an env file, this environment, `agent keys`. */
export type { VarSource };

/** A check's outcome, as `-o json` prints it. */
export interface CheckReport {
  apiVersion: "kodama.dev/v1";
  kind: "AgentCheck";
  agent: string;
  model: string;
  from: string;
  baseUrl: string;
  key?: { variable: string; suffix: string; source: string };
  verdict: Verdict;
  message: string;
  httpStatus?: number;
  firstTokenMs?: number;
  tokensPerSecond?: number;
  outputTokens?: number;
  rateLimit: Record<string, string>;
  exitCode: number;
}

/**
 * The local variables of a preset's credential and endpoint, by the rule `start` puts them into the env
 * Secret with (session/spec/varsource.ts): `--env-file` over this environment over the config's env files,
 * then a key kept by `agent keys`. `forward`: the names this environment and the keys may supply (default:
 * all of `names`); `storedOnly`: names read from the keys alone (`agent keys test`).
 */
export async function localVars(
  names: string[],
  files: EnvSource[],
  keys: KeyStoreDeps | undefined,
  o: { storedOnly?: string[]; forward?: readonly string[]; excluded?: readonly string[] } = {},
): Promise<Record<string, VarSource>> {
  const storedOnly = o.storedOnly ?? [];
  return await resolveVars(names, {
    sources: files.map((f) => ({ ...f, vars: omit(f.vars, storedOnly) })),
    forward: o.forward ?? names,
    here: (n) => storedOnly.includes(n) ? undefined : Deno.env.get(n),
    ...(keys ? { stored: (n: string) => storedVar(keys, n) } : {}),
    ...(o.excluded ? { excluded: o.excluded } : {}),
  });
}

const omit = (vars: Record<string, string>, names: string[]) =>
  Object.fromEntries(Object.entries(vars).filter(([k]) => !names.includes(k)));

/** The preset of a check: --agent, else the session's, else the config's. Exit 2 for a custom command. */
function presetOf(o: CheckOptions, cfg: Config, session?: SessionAgent): PresetName {
  const a = o.agent !== undefined
    ? resolveAgent([agentChoiceOf(o.agent)], cfg)
    : session ?? resolveAgent([configChoice(cfg)], cfg);
  if (!isPresetName(a.preset)) {
    throw usageError(
      `agent check knows the presets' APIs (${PRESET_NAMES.join(", ")}), not a custom command's`,
      "choose one: kodama agent check --agent claude",
    );
  }
  return a.preset;
}

function timeoutOf(o: CheckOptions): number {
  if (o.timeout === undefined) return 30_000;
  const ms = parseDuration(o.timeout, "--timeout", { timer: true });
  if (ms < 1) {
    throw usageError(`invalid --timeout ${JSON.stringify(o.timeout)}`, "give more than 0, e.g. 10s");
  }
  return ms;
}

function tokensOf(o: CheckOptions): number {
  if (o.tokens === undefined) return 1;
  if (!/^\d+$/.test(o.tokens) || Number(o.tokens) < 1 || Number(o.tokens) > 4096) {
    throw usageError(`invalid --tokens ${JSON.stringify(o.tokens)}`, "give a whole number from 1 to 4096");
  }
  return Number(o.tokens);
}

type Head = Omit<CheckReport, "verdict" | "message" | "exitCode" | "rateLimit" | "baseUrl">;
type Sent = { probe: Probe; head: Head; wrong?: string };

const head = (agent: string, model: string, from: string, key?: CheckReport["key"]): Head => ({
  apiVersion: "kodama.dev/v1",
  kind: "AgentCheck",
  agent,
  model,
  from,
  ...(key ? { key } : {}),
});

/** The request from a session's pod (pod/check.js): its own variables, its key never leaving it. */
async function fromPod(
  kube: KubeSessions,
  session: string,
  o: CheckOptions,
  cfg: Config,
  n: { tokens: number; timeoutMs: number },
): Promise<Sent> {
  const { runningPod, execCapture } = await import("../../session/access/podexec.ts");
  const { specOf } = await import("../../session/spec/spec.ts");
  const pod = await runningPod(kube, kube.namespace, session);
  const agent = specOf(pod)?.agent;
  const preset = presetOf(o, cfg, agent);
  const model = o.model ?? agent?.settings?.models?.[0] ?? cfg.agent.models?.[0] ?? DEFAULT_MODEL[preset];
  const plan = checkPlan(preset, model, n.tokens);
  // the pod's variables as a run has them: the env Secret's, with `agent keys rotate`'s files over them
  const program = CHECK_JS.replace(/^export /gm, "") + "\n" + CHECKMAIN_JS;
  const argv = [...ENVLOAD_ARGV, "node", "-e", program, "kodama-check", String(n.timeoutMs)];
  const r = await execCapture(kube, pod, argv, { stdin: new TextEncoder().encode(JSON.stringify(plan)) });
  if (r.code === 127 || r.code === 126) {
    throw new KodamaError(
      `cannot check from session ${session}: its image has no node`,
      ExitCode.FAILED,
      "check from this machine instead: kodama agent check --env-file FILE",
    );
  }
  if (r.code !== 0) {
    throw new KodamaError(
      `the check in session ${session} failed: ${r.stderr.trim().split("\n")[0] || `exit code ${r.code}`}`,
    );
  }
  const probe = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Probe;
  const key = probe.keyVar
    ? { variable: probe.keyVar, suffix: "(in the pod)", source: "the env Secret" }
    : undefined;
  return { probe, head: head(preset, model, `session ${session}`, key) };
}

/**
 * The user's own `env.dotenvFiles` (relative to the git root; optional), as `start` reads them. A
 * repository's are not read here: this request goes from the laptop, where no egress policy would stop a
 * base URL a repository chose from receiving this machine's key.
 */
export function configEnvFiles(
  cfg: Config,
  cwd: string,
): { path: string; display: string; required: false; root?: string }[] {
  const origin = originOf(cfg);
  if (!dotenvFilesAreYours(origin?.sources["env.dotenvFiles"])) return [];
  const root = origin?.files.gitRoot ?? cwd;
  return cfg.env.dotenvFiles.map((p) => ({
    path: isAbsolute(p) ? p : join(root, p),
    display: p,
    required: false as const,
  }));
}

/**
 * The env files a request from this machine reads: your own `env.dotenvFiles`, then `extra` (`--env-file`),
 * with what only you choose (config/steering.ts) taken out of one git tracks in the repository (a relative
 * entry naming the repository's committed `.env`), as `start` does.
 */
export async function ownEnvSources(
  cfg: Config,
  cwd: string,
  extra: { path: string; display: string; required: true }[] = [],
): Promise<EnvSource[]> {
  const [{ readEnvFiles, markTracked }, { holdSteering }] = await Promise.all([
    import("../../session/spec/envfile.ts"),
    import("../../config/steering.ts"),
  ]);
  const root = originOf(cfg)?.files.gitRoot ?? cwd;
  const files = [...await markTracked(configEnvFiles(cfg, cwd), root), ...extra];
  return holdSteering(await readEnvFiles(files), (s) => s.from).sources;
}

/** The request from this machine: the env files, the environment, then `agent keys`. */
async function fromHere(
  o: CheckOptions,
  cfg: Config,
  keys: KeyStoreDeps | undefined,
  n: { tokens: number; timeoutMs: number },
): Promise<Sent> {
  const preset = presetOf(o, cfg);
  const model = o.model ?? cfg.agent.models?.[0] ?? DEFAULT_MODEL[preset];
  const plan = checkPlan(preset, model, n.tokens);
  const { resolve } = await import("../../base/fs/fspath.ts");
  // the user's own env.dotenvFiles, then --env-file
  const files = await ownEnvSources(
    cfg,
    o.cwd ?? Deno.cwd(),
    (o.envFiles ?? []).map((p) => ({ path: resolve(o.cwd ?? Deno.cwd(), p), display: p, required: true })),
  );
  const keyVars = plan.keys.map((k) => k.variable);
  // the names start would take from here: the user's config alone decides (forwardedEnv), as at start
  const forward = forwardedEnv(preset, cfg, (k) => originOf(cfg)?.sources[k]);
  const vars = await localVars([plan.baseVar, ...keyVars], files, keys, {
    forward,
    excluded: cfg.env.excludeVars,
    ...(o.storedOnly ? { storedOnly: keyVars } : {}),
  });
  const env = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.value]));
  const way = plan.keys.find((k) => env[k.variable]);
  // another provider's key is said without a request
  const wrong = way ? wrongKeyProblem(way.variable, env[way.variable]) : undefined;
  const probe = wrong
    ? { keyVar: way!.variable, baseUrl: env[plan.baseVar] || plan.defaultBase, headers: {} }
    : await sendPlan(plan, env, n.timeoutMs);
  const key = way
    ? { variable: way.variable, suffix: maskKey(env[way.variable]), source: vars[way.variable].from }
    : undefined;
  return { probe, head: head(preset, model, "this machine", key), ...(wrong ? { wrong } : {}) };
}

/** Run the check; prints the report; returns the exit code (a failure's line is the thrown error). */
export async function agentCheckCommand(
  o: CheckOptions,
  cfg: Config,
  io: { out: Sink; err: Sink; kube?: () => Promise<Kube>; keys?: KeyStoreDeps },
): Promise<number> {
  const n = { tokens: tokensOf(o), timeoutMs: timeoutOf(o) };
  if (o.model !== undefined) checkModel(o.model, "--model");
  if (o.session !== undefined && o.envFiles?.length) {
    throw usageError(
      "--env-file is for a check from this machine: a session's check uses its pod's variables",
    );
  }
  const { probe, head, wrong } = o.session !== undefined
    ? await fromPod(await io.kube!(), o.session, o, cfg, n)
    : await fromHere(o, cfg, io.keys, n);
  let j: { verdict: Verdict; message: string } = wrong
    ? { verdict: "wrong-key" as const, message: wrong }
    : judge(probe);
  // no key here: the namespace's gateway may hold the provider's, as a start through it uses (not for
  // `agent keys test`, which checks the stored key alone)
  if (j.verdict === "no-key" && o.session === undefined && !o.storedOnly && io.kube) {
    j = gatewayVerdict(head.agent, await heldByGateway(io.kube)) ?? j;
  }
  const tps = tokensPerSecond(probe);
  const full: CheckReport = {
    ...head,
    baseUrl: probe.baseUrl,
    verdict: j.verdict,
    message: j.message,
    ...(probe.status !== undefined ? { httpStatus: probe.status } : {}),
    ...(probe.firstTokenMs !== undefined ? { firstTokenMs: Math.round(probe.firstTokenMs) } : {}),
    ...(tps !== undefined ? { tokensPerSecond: tps } : {}),
    ...(probe.outputTokens !== undefined ? { outputTokens: probe.outputTokens } : {}),
    rateLimit: probe.headers ?? {},
    exitCode: VERDICT_EXIT[j.verdict],
  };
  if (o.output === "json") io.out.write(JSON.stringify(full, null, 2) + "\n");
  else io.out.write(renderCheck(full));
  if (full.exitCode !== ExitCode.OK) throw new KodamaError(checkLine(full), full.exitCode, hintOf(full));
  return ExitCode.OK;
}

/**
 * The providers the namespace's gateway holds keys for, read as `start` reads them; none when the cluster
 * cannot be reached or read within 10 s (the check from this machine never needs it).
 */
async function heldByGateway(kube: () => Promise<Kube>): Promise<string[]> {
  const read = (async () => {
    const k = await kube();
    return await (await import("../gateway/session.ts")).gatewayHeldProviders(k, k.namespace);
  })().catch(() => [] as string[]);
  let t: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string[]>((r) => t = setTimeout(() => r([]), 10_000));
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(t);
  }
}

/**
 * The verdict of a check that found no key here when the namespace's gateway holds `held`'s providers'
 * (pure): `gateway` (exit 0) naming it and how to check it, else undefined (the `no-key` stands).
 */
export function gatewayVerdict(
  preset: string,
  held: string[],
): { verdict: Verdict; message: string } | undefined {
  const serves = isPresetName(preset) ? gatewayServes(preset, held) : undefined;
  if (!serves) return undefined;
  return {
    verdict: "gateway",
    message:
      `no key here: the namespace's gateway holds the ${serves}, and a session started through it uses that one (see it: kodama gateway status; check it from a session's pod, through the gateway: kodama agent check SESSION)`,
  };
}

/** The failure as one line: `claude (claude-x) from this machine: the key was refused (401)`. */
export function checkLine(r: CheckReport): string {
  return `${r.agent} check (model ${r.model}, ${r.from}): ${r.message}`;
}

function hintOf(r: CheckReport): string | undefined {
  const v = r.key?.variable;
  switch (r.verdict) {
    case "no-key":
      return `set one with: kodama agent keys set ${providerWord(r.agent)} (or --env-file FILE)`;
    case "wrong-key":
    case "auth":
      return `${v ? `${v} came from ${r.key?.source}; ` : ""}set a good one with: kodama agent keys set ${
        providerWord(r.agent)
      }`;
    case "model":
      return "choose another with --model (agent.models in the config)";
    case "overloaded":
    case "rate-limited":
      return "transient: a run waits it out and continues (agent.retry); try again later";
    default:
      return undefined;
  }
}

function providerWord(preset: string): string {
  return isPresetName(preset) ? PRESET_PROVIDER[preset] : "anthropic";
}

/** The report as lines for a person. */
export function renderCheck(r: CheckReport): string {
  const rows: [string, string][] = [
    ["AGENT", `${r.agent} (model ${r.model}), from ${r.from}`],
    ["ENDPOINT", r.baseUrl],
    ["KEY", r.key ? `${r.key.variable} ${r.key.suffix} (from ${r.key.source})` : "none"],
    ["RESULT", `${r.verdict}: ${r.message}`],
  ];
  if (r.firstTokenMs !== undefined) rows.push(["FIRST TOKEN", formatDuration(r.firstTokenMs)]);
  if (r.tokensPerSecond !== undefined) rows.push(["TOKENS/S", String(r.tokensPerSecond)]);
  const rl = Object.entries(r.rateLimit);
  if (rl.length) rows.push(["RATE LIMIT", rl.map(([k, v]) => `${k}=${v}`).join(" ")]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}
