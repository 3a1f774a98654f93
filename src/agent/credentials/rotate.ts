/**
 * `kodama agent keys rotate SESSION`: a session's agent key replaced in place, nothing else about the session
 * changed. The new value (this environment's, else `agent keys`'s) goes into the session's env Secret (what
 * a recreated pod gets through envFrom) and, when the pod runs, to ~/.kodama/env/NAME on its home volume over
 * exec stdin (pod/rotate.sh): a running container's environment is fixed when it starts, so each preset run
 * puts those files over it first (pod/envload.sh, presets.ts's runArgv). The next run uses the new key.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import type { Sink } from "../../base/sink.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";
import { type KeyStoreDeps, maskKey, storedVar, wrongKeyProblem } from "./keys.ts";
import { credentialVars, providerOfPreset } from "./preflight.ts";
import ROTATE from "../pod/rotate.sh" with { type: "text" };

/** The variable to rotate: `--variable`, else the session's preset's credential variable its Secret has. */
export function rotateVariable(
  spec: { agent?: { preset: string }; envVars: string[] },
  asked?: string,
): string {
  if (asked !== undefined) {
    if (!spec.envVars.includes(asked)) {
      throw new KodamaError(
        `the session's env Secret has no ${quote(asked)}: rotate replaces a key it was started with`,
        ExitCode.NOT_FOUND,
        spec.envVars.length ? `it has ${spec.envVars.join(", ")}` : "it has no variables",
      );
    }
    return asked;
  }
  const preset = spec.agent?.preset ?? "claude";
  const v = credentialVars(preset).find((n) => spec.envVars.includes(n));
  if (!v) {
    throw new KodamaError(
      `the session's env Secret has none of ${credentialVars(preset).join(", ") || "its agent's keys"}`,
      ExitCode.NOT_FOUND,
      "rotate replaces a key the session was started with; name another with --variable NAME",
    );
  }
  return v;
}

export async function keysRotateCommand(
  kube: KubeSessions,
  namespace: string,
  name: string,
  o: { variable?: string; keys: KeyStoreDeps; out: Sink; err: Sink },
): Promise<number> {
  if (o.variable !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.variable)) {
    throw usageError(`invalid --variable ${quote(o.variable)}`, "a variable name: letters, digits and _");
  }
  const { requireSession } = await import("../../session/state/cluster.ts");
  const { namesOf } = await import("../../session/spec/spec.ts");
  const view = await requireSession(kube, namespace, name);
  const spec = view.spec;
  if (!spec) throw new KodamaError(`session ${name} has no recorded settings: cannot tell its env Secret`);
  // through the gateway the session holds a token, never a key: the key is the gateway's to change
  if (spec.gateway) {
    throw new KodamaError(
      `session ${name} goes through the gateway ${spec.gateway.service}: its env Secret holds a token, not a key`,
      ExitCode.USAGE,
      "change the key in the gateway: kodama gateway ensure (the running gateway re-reads it)",
    );
  }
  const variable = rotateVariable(spec, o.variable);
  const value = Deno.env.get(variable) || await storedVar(o.keys, variable);
  if (!value) {
    throw new KodamaError(
      `no new value for ${variable}: it is not set here and kodama agent keys has none`,
      ExitCode.FORBIDDEN,
      `kodama agent keys set ${providerOfPreset(spec.agent?.preset ?? "claude")}, then rotate again`,
    );
  }
  const wrong = wrongKeyProblem(variable, value);
  if (wrong) throw new KodamaError(wrong, ExitCode.FORBIDDEN);
  const secret = namesOf(spec).envSecret;
  // one key of the Secret replaced (a merge patch): the others, and everything else, stay
  await kube.patchObject("secrets", namespace, secret, {
    data: { [variable]: btoa(String.fromCharCode(...new TextEncoder().encode(value))) },
  });
  let live = "";
  if (view.pod && view.status === "Running") {
    const { execCapture } = await import("../../session/access/podexec.ts");
    const r = await execCapture(kube, view.pod, ["sh", "-c", ROTATE, "kodama-rotate", variable], {
      stdin: new TextEncoder().encode(value),
    });
    if (r.code !== 0) {
      throw new KodamaError(
        `Secret ${secret} has the new ${variable}, but the running pod could not be given it: ${
          r.stderr.trim().split("\n")[0] || `exit code ${r.code}`
        }`,
        ExitCode.FAILED,
        `a restart gives it: kodama stop ${name} && kodama resume ${name}`,
      );
    }
    live = " and the running pod";
  }
  o.out.write(
    `rotated ${variable} (${maskKey(value)}) in session ${name}'s env Secret${live}: the next run uses it\n`,
  );
  return ExitCode.OK;
}
