/**
 * `kodama session env set|unset NAME VAR…`: a session's env Secret changed in place, no replace (issue 66.2),
 * the way `agent keys rotate` changes a key (rotate.ts): the Secret (what a recreated pod gets through
 * envFrom), the recorded variable names, and, when the pod runs, its home volume's ~/.kodama/env (rotate.sh
 * writes a value from stdin, envunset.sh marks a removal) that each preset run puts over the container's
 * environment (envload.sh). A value never travels in an argument and is never printed back.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import ROTATE from "../pod/rotate.sh" with { type: "text" };
import ENVUNSET from "../pod/envunset.sh" with { type: "text" };

const VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `VAR=VALUE` or `VAR` (its value from this environment) for set; `VAR` for unset. Exit 2 when bad. */
export function parseEnvArgs(
  op: "set" | "unset",
  args: string[],
  env: (name: string) => string | undefined,
): { name: string; value?: string }[] {
  if (!args.length) throw usageError(`session env ${op}: name at least one variable`);
  return args.map((a) => {
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (!VAR.test(name)) {
      throw usageError(`invalid variable name ${quote(name)}`, "a variable name: letters, digits and _");
    }
    if (op === "unset") {
      if (eq >= 0) throw usageError(`session env unset takes names only, got ${quote(name)}=…`);
      return { name };
    }
    const value = eq < 0 ? env(name) : a.slice(eq + 1);
    if (value === undefined || value === "") {
      throw usageError(`${name} is not set here`, `give it a value: ${name}=VALUE, or export ${name} first`);
    }
    return { name, value };
  });
}

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

export async function sessionEnv(
  kube: KubeSessions,
  namespace: string,
  name: string,
  op: "set" | "unset",
  args: string[],
  io: { out: Sink },
): Promise<number> {
  const vars = parseEnvArgs(op, args, (n) => Deno.env.get(n));
  const { requireSession } = await import("../../session/state/cluster.ts");
  const { namesOf } = await import("../../session/spec/spec.ts");
  const { ANNOTATION_SPEC } = await import("../../session/spec/names.ts");
  const view = await requireSession(kube, namespace, name);
  const spec = view.spec;
  if (!spec) throw new KodamaError(`session ${name} has no recorded settings: cannot tell its env Secret`);
  // through the gateway: a real key set here would be in the pod, beside the token that replaced it
  const { providerOfVar } = await import("../gateway/claims.ts");
  const keyVar = vars.find((v) => op === "set" && (providerOfVar(v.name) || v.name === "GITHUB_TOKEN"));
  if (spec.gateway && keyVar) {
    throw new KodamaError(
      `session ${name} goes through the gateway ${spec.gateway.service}: ${keyVar.name} is the gateway's to hold`,
      ExitCode.USAGE,
      "change the key in the gateway: kodama gateway ensure (or start the session with --no-gateway)",
    );
  }
  if (op === "unset") {
    const missing = vars.filter((v) => !spec.envVars.includes(v.name)).map((v) => v.name);
    if (missing.length) {
      throw new KodamaError(
        `the session's env Secret has no ${missing.join(", ")}`,
        ExitCode.NOT_FOUND,
        spec.envVars.length ? `it has ${spec.envVars.join(", ")}` : "it has no variables",
      );
    }
  }
  const secret = namesOf(spec).envSecret;
  // a merge patch: only these keys change (null removes one), the others stay
  await kube.patchObject("secrets", namespace, secret, {
    data: Object.fromEntries(vars.map((v) => [v.name, v.value === undefined ? null : b64(v.value)])),
  });
  // the names (never values) recorded with the session follow, on every object that carries the record
  const names = op === "set"
    ? [...new Set([...spec.envVars, ...vars.map((v) => v.name)])]
    : spec.envVars.filter((n) => !vars.some((v) => v.name === n));
  const record = {
    metadata: { annotations: { [ANNOTATION_SPEC]: JSON.stringify({ ...spec, envVars: names }) } },
  };
  if (view.pod) await kube.patchObject("pods", namespace, view.pod.metadata!.name!, record).catch(() => {});
  // the Job's own record too (its template's pods keep the recorded names they started with)
  if (view.job) await kube.patchObject("jobs", namespace, view.job.metadata!.name!, record).catch(() => {});
  for (const c of view.pvcs) {
    await kube.patchObject("persistentvolumeclaims", namespace, c.metadata!.name!, record).catch(() => {});
  }
  let live = "";
  if (view.pod && view.status === "Running") {
    const { execCapture } = await import("../../session/access/podexec.ts");
    for (const v of op === "set" ? vars : [undefined]) {
      const r = v
        ? await execCapture(kube, view.pod, ["sh", "-c", ROTATE, "kodama-rotate", v.name], {
          stdin: new TextEncoder().encode(v.value!),
        })
        : await execCapture(kube, view.pod, [
          "sh",
          "-c",
          ENVUNSET,
          "kodama-env-unset",
          ...vars.map((x) => x.name),
        ]);
      if (r.code !== 0) {
        throw new KodamaError(
          `Secret ${secret} is changed, but the running pod could not be told: ${
            r.stderr.trim().split("\n")[0] || `exit code ${r.code}`
          }`,
          ExitCode.FAILED,
          `a restart gives it: kodama stop ${name} && kodama resume ${name}`,
        );
      }
    }
    live = " and the running pod";
  }
  const list = vars.map((v) => v.name).join(", ");
  io.out.write(`${op} ${list} in session ${name}'s env Secret${live}: the next agent run uses it\n`);
  return ExitCode.OK;
}
