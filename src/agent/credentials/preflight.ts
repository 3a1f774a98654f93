/**
 * `start --prompt`'s preflight, before any object is created: the session's agent must have one of its
 * preset's credential variables in the env Secret being planned (from the env files, this environment or
 * `agent keys`), or an OAuth login on a reused home volume (its PVC already exists: the one request made).
 * A key in another provider's variable is named. Exit 4 either way; `--no-preflight` skips it.
 * `start --replicas N` (N > 1) also makes one real request first (`agent check`, from this machine).
 */
import type { KubeObjects } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { namesOf, type SessionSpec } from "../../session/spec/spec.ts";
import { type AgentChoice, isPresetName, PRESET_PROVIDER, PRESETS } from "../presets/presets.ts";
import { wrongKeyProblem } from "./keys.ts";
import { POD_AUTH_VAR } from "../gateway/chatgpt.ts";
import { gatewayServes } from "../adapters/index.ts";

/** A preset's credential variables: its authEnv without the endpoints (`*_BASE_URL`). */
export function credentialVars(preset: string): string[] {
  return isPresetName(preset) ? PRESETS[preset].authEnv.filter((v) => !v.endsWith("_BASE_URL")) : [];
}

/** The provider word `agent keys set` takes for a preset. */
export function providerOfPreset(preset: string): string {
  return isPresetName(preset) ? PRESET_PROVIDER[preset] : "anthropic";
}

/**
 * What the plan lacks, without a request: a wrong key's words, or `missing` with the variables. Pure.
 */
export function credentialProblem(
  spec: Pick<SessionSpec, "agent" | "envVars">,
  env: Record<string, string>,
): { wrong: string } | { missing: string[] } | undefined {
  const preset = spec.agent?.preset;
  if (!preset || !isPresetName(preset)) return undefined;
  const creds = credentialVars(preset);
  // through the gateway's ChatGPT login, Codex's credential is the auth.json holding the session's token
  if (preset === "codex" && spec.envVars.includes(POD_AUTH_VAR)) return undefined;
  const have = creds.filter((n) => spec.envVars.includes(n));
  for (const n of have) {
    const w = env[n] !== undefined ? wrongKeyProblem(n, env[n]) : undefined;
    if (w) return { wrong: w };
  }
  return have.length ? undefined : { missing: creds };
}

/** The preflight as `startSession` calls it (StartOptions.preflight). */
export function credentialPreflight(kube: KubeObjects, err: Sink) {
  return async (plan: { spec: SessionSpec; data: { env: Record<string, string> } }): Promise<void> => {
    const p = credentialProblem(plan.spec, plan.data.env);
    if (!p) return;
    const preset = plan.spec.agent!.preset;
    const hint = `kodama agent keys set ${
      providerOfPreset(preset)
    } (or --env-file FILE); --no-preflight starts anyway`;
    if ("wrong" in p) {
      throw new KodamaError(`cannot start ${plan.spec.name}: ${p.wrong}`, ExitCode.FORBIDDEN, hint);
    }
    // an OAuth login (`claude /login`, `codex login`) lives on the home volume: a reused one counts
    const home = namesOf(plan.spec).homePVC;
    if (await kube.findObject("persistentvolumeclaims", plan.spec.namespace, home)) {
      err.write(
        `note: none of ${
          p.missing.join(", ")
        } is set: the ${preset} agent uses the login on the reused home volume ${home}\n`,
      );
      return;
    }
    throw new KodamaError(
      `cannot start ${plan.spec.name}: the ${preset} agent has no credentials (none of ${
        p.missing.join(", ")
      } in the env files, this environment or kodama agent keys)`,
      ExitCode.FORBIDDEN,
      hint,
    );
  };
}

/**
 * `start --replicas N --prompt` (N > 1): one real request first for every distinct agent of the group (the
 * group's agent, and each `--agent-variant`'s preset), from this machine, with the flags' or the config's
 * model, its key found as `start` finds it (varsource.ts). A refused or missing key (exit 4) or an unknown
 * model (exit 3) stops the start before any pod; transient trouble is a warning (the runs wait it out). An
 * agent whose provider's key the namespace's gateway holds (`heldByGateway`) asks for no key of this machine,
 * as a single start through the gateway does not.
 */
export async function groupCheck(
  o: {
    agentName?: string;
    settings?: { model?: string };
    envFiles?: string[];
    /** each replica's `--agent-variant` (undefined: the group's agent) */
    variants?: (AgentChoice | undefined)[];
    /** the providers whose keys the namespace's gateway holds */
    heldByGateway?: () => Promise<string[]>;
  },
  cfg: import("../../config/schema.ts").Config,
  err: Sink,
): Promise<void> {
  const { agentChoiceOf, configChoice, resolveAgent } = await import("../presets/presets.ts");
  const base = o.agentName !== undefined ? agentChoiceOf(o.agentName) : configChoice(cfg);
  const presets = [
    ...new Set(
      (o.variants?.length ? o.variants : [undefined]).map((v) => resolveAgent([v, base], cfg).preset),
    ),
  ].filter(isPresetName);
  const held = presets.length ? await o.heldByGateway?.() ?? [] : [];
  for (const preset of presets) {
    const serves = gatewayServes(preset, held);
    if (serves) {
      err.write(`agent check: ${preset} skipped: the namespace's gateway holds the ${serves}\n`);
      continue;
    }
    await checkOne(preset, o, cfg, err);
  }
}

/** One agent's check of groupCheck. */
async function checkOne(
  preset: string,
  o: { settings?: { model?: string }; envFiles?: string[] },
  cfg: import("../../config/schema.ts").Config,
  err: Sink,
): Promise<void> {
  const [{ agentCheckCommand }, { defaultDeps }] = await Promise.all([
    import("./checkrun.ts"),
    import("./keys.ts"),
  ]);
  const lines: string[] = [];
  try {
    await agentCheckCommand(
      { agent: preset, model: o.settings?.model, envFiles: o.envFiles, output: "json" },
      cfg,
      { out: { write: (c) => void lines.push(String(c)) }, err, keys: await defaultDeps() },
    );
    const r = JSON.parse(lines.join(""));
    err.write(
      `agent check: ${r.agent} (model ${r.model}) answered${
        r.firstTokenMs !== undefined ? ` in ${r.firstTokenMs}ms` : ""
      }\n`,
    );
  } catch (e) {
    if (!(e instanceof KodamaError)) throw e;
    if (e.code === ExitCode.FORBIDDEN || e.code === ExitCode.NOT_FOUND) {
      throw new KodamaError(`${e.message}: no replica was started`, e.code, e.hint);
    }
    err.write(`warning: ${e.message} (starting anyway: a run waits out transient trouble)\n`);
  }
}
