/**
 * A session's scheduling from its three sources, lowest first: the config (`defaults.scheduling`,
 * `defaults.resources.*Request`), a template, the flags. A repository's template (untrusted input,
 * docs/security.md) may ask for requests, devices and placement, never for credentials the user's own
 * config does not name: an image pull secret outside `defaults.scheduling.imagePullSecrets` or a
 * ServiceAccount other than `defaults.serviceAccount` is refused (exit 4, naming the key), and so are
 * annotations (they steer admission and the runtime), placement onto control-plane nodes and a priority
 * class (config/placement.ts). Pure.
 */
import type { Config } from "../../config/schema.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import { repoPlacementProblem } from "../../config/placement.ts";
import {
  checkedObjectName,
  checkedScheduling,
  checkRequests,
  mergeScheduling,
  type Scheduling,
  type SchedulingInput,
} from "./scheduling.ts";

/** What a template asks for (template.ts `withTemplate` fills it in). */
export interface TemplateScheduling {
  name: string;
  source: "built-in" | "user" | "repo";
  input: SchedulingInput;
  serviceAccount?: string;
}

function fromConfig(cfg: Config): Scheduling {
  const s = cfg.defaults.scheduling;
  try {
    return checkedScheduling({
      imagePullSecrets: s?.imagePullSecrets,
      cpuRequest: cfg.defaults.resources.cpuRequest,
      memoryRequest: cfg.defaults.resources.memoryRequest,
      gpu: s?.gpu,
      resources: s?.resources,
      nodeSelector: s?.nodeSelector,
      tolerations: s?.tolerations,
      annotations: s?.annotations,
      priorityClass: s?.priorityClass,
    });
  } catch (e) {
    if (!(e instanceof KodamaError)) throw e;
    throw usageError(`${e.message} (from defaults.scheduling / defaults.resources in the config)`, e.hint);
  }
}

/**
 * A repository's template asks only for credentials and placement the user's config (or a flag) names;
 * else exit 4 naming the key. The placement rule is config/placement.ts, the same a `.kodama.yaml` is held to.
 */
export function checkTemplateCredentials(
  t: TemplateScheduling,
  cfg: Config,
  flags: SchedulingInput = {},
): void {
  if (t.source !== "repo") return;
  const named = new Set([
    ...(cfg.defaults.scheduling?.imagePullSecrets ?? []),
    ...(flags.imagePullSecrets ?? []),
  ]);
  for (const s of t.input.imagePullSecrets ?? []) {
    if (!named.has(s)) {
      throw new KodamaError(
        `template ${quote(t.name)} (the repository's) asks for imagePullSecrets ${
          quote(s)
        }, which your config does not name`,
        ExitCode.FORBIDDEN,
        "a repository cannot choose registry credentials: add it to defaults.scheduling.imagePullSecrets in ~/.kodama/config.yaml, or pass --image-pull-secret",
      );
    }
  }
  // annotations steer admission and the runtime (an AppArmor profile, a sidecar injector): not a repository's
  const keys = Object.keys(t.input.annotations ?? {});
  if (keys.length) {
    throw new KodamaError(
      `template ${quote(t.name)} (the repository's) asks for annotations (${keys.join(", ")})`,
      ExitCode.FORBIDDEN,
      "a repository cannot annotate the pod (annotations steer admission and the runtime): set defaults.scheduling.annotations in ~/.kodama/config.yaml, or pass --annotation",
    );
  }
  // placement onto control-plane nodes, any priority class: only what the user's config or flags chose
  const s = cfg.defaults.scheduling;
  const placed = repoPlacementProblem(t.input, {
    tolerations: [...(s?.tolerations ?? []), ...(flags.tolerations ?? [])],
    nodeSelector: [
      ...Object.entries(s?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`),
      ...(Array.isArray(flags.nodeSelector)
        ? flags.nodeSelector
        : Object.entries(flags.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`)),
    ],
    priorityClass: flags.priorityClass ?? s?.priorityClass,
  });
  if (placed) {
    throw new KodamaError(
      `template ${quote(t.name)} (the repository's) asks for ${placed.key} ${
        quote(placed.value)
      }: ${placed.why}`,
      ExitCode.FORBIDDEN,
      `a repository cannot choose this placement: set defaults.scheduling.${placed.key} in ~/.kodama/config.yaml, or pass --${
        placed.key === "tolerations"
          ? "toleration"
          : placed.key === "nodeSelector"
          ? "node-selector"
          : "priority-class"
      }`,
    );
  }
  if (t.serviceAccount !== undefined && t.serviceAccount !== cfg.defaults.serviceAccount) {
    throw new KodamaError(
      `template ${quote(t.name)} (the repository's) asks for serviceAccount ${
        quote(t.serviceAccount)
      }, which your config does not name`,
      ExitCode.FORBIDDEN,
      "a repository cannot choose the pod's identity: set defaults.serviceAccount in ~/.kodama/config.yaml, or pass --service-account",
    );
  }
}

/**
 * The recorded scheduling (undefined when nothing is set) and a template's ServiceAccount, checked:
 * exit 2 for a bad value or a request above its limit, exit 4 for a repository template's credentials.
 */
export function resolveScheduling(
  f: { scheduling?: SchedulingInput; templateScheduling?: TemplateScheduling; serviceAccount?: string },
  cfg: Config,
  limits: { cpu: string; memory: string },
): { scheduling?: Scheduling; serviceAccount?: string } {
  const t = f.templateScheduling;
  if (t) {
    checkTemplateCredentials(t, cfg, f.scheduling ?? {});
    if (t.serviceAccount !== undefined) checkedObjectName(t.serviceAccount, "template serviceAccount");
  }
  const merged = mergeScheduling(
    fromConfig(cfg),
    t ? checkedScheduling(t.input) : {},
    checkedScheduling(f.scheduling ?? {}),
  );
  checkRequests(merged, limits);
  return {
    ...(Object.keys(merged).length ? { scheduling: merged } : {}),
    ...(t?.serviceAccount !== undefined ? { serviceAccount: t.serviceAccount } : {}),
  };
}
