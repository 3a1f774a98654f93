/**
 * A pod refused by Pod Security admission (a namespace labelled pod-security.kubernetes.io/enforce): the
 * API server's 403 (`pods "x" is forbidden: violates PodSecurity "restricted:latest": …`) in a session's
 * words, with the setting that makes kodama's pods pass. Session, copy and clone pods are compliant with
 * `restricted` once they run as a non-root uid (session.runAsUser, a template's runAsUser): no privilege
 * escalation, every capability dropped, runAsNonRoot, RuntimeDefault seccomp, volumes of allowed types.
 * Pure.
 */
import { ExitCode, KodamaError } from "../../base/errors.ts";

const VIOLATES = /violates PodSecurity "([a-z]+):([^"]+)": (.*)$/s;

/**
 * `e` as kodama says it when it is a Pod Security refusal of a pod in `namespace` (exit 4, the admission's
 * reasons, the setting to use); any other error as it is.
 */
export function podSecurityError(
  e: unknown,
  namespace: string,
  o: { runAsUser?: number; sidecars?: boolean },
): unknown {
  if (!(e instanceof KodamaError) || e.code !== ExitCode.FORBIDDEN) return e;
  const m = VIOLATES.exec(e.message);
  if (!m) return e;
  const [, level, , reasons] = m;
  const nonRoot = o.runAsUser !== undefined && o.runAsUser > 0;
  const hint = !nonRoot
    ? "set session.runAsUser (e.g. 1000) in ~/.kodama/config.yaml, or a template's runAsUser: kodama's pods then meet it"
    : o.sidecars
    ? "sidecars run as their image's user with root's capabilities: drop them (--sidecar, the template's sidecars) in this namespace"
    : `ask the namespace's owner which Pod Security level applies (kubectl get namespace ${namespace} --show-labels)`;
  return new KodamaError(
    `namespace ${namespace} enforces Pod Security ${level}: ${reasons.trim()}`,
    ExitCode.FORBIDDEN,
    hint,
  );
}
