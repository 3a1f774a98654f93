/**
 * Values from Kubernetes Secrets are secrets for a run's output too. A workflow meets them through
 * the pods it works on: an `exec` step or a script's `host.exec` that prints `env`, or `cat`s a
 * mounted secret file. So when a target is resolved, kodama reads (with your credentials) the
 * Secrets its pods use — env `secretKeyRef`, `envFrom` `secretRef`, `secret` volumes and `secret`
 * sources of projected volumes (not image pull secrets: containers do not see them) — and every value of them (and its base64 form, as `get secret -o
 * yaml` shows it) is printed as `***` from then on (redact.ts). A Secret your credentials cannot
 * read is named once on stderr: its values are not known, so they cannot be redacted.
 */
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import type { KubeObjects } from "../kube/seam.ts";
import { forEachLimited } from "../base/proc/limit.ts";
import { addSecret } from "../base/redact.ts";

/** `namespace/name` of every Secret a pod's containers read. Pure. */
export function secretRefs(pod: V1Pod): string[] {
  const ns = pod.metadata?.namespace ?? "default";
  const out = new Set<string>();
  const add = (name: string | undefined) => name && out.add(`${ns}/${name}`);
  const spec = pod.spec;
  for (
    const c of [
      ...(spec?.initContainers ?? []),
      ...(spec?.containers ?? []),
      ...(spec?.ephemeralContainers ?? []),
    ]
  ) {
    for (const e of c.env ?? []) add(e.valueFrom?.secretKeyRef?.name);
    for (const e of c.envFrom ?? []) add(e.secretRef?.name);
  }
  for (const v of spec?.volumes ?? []) {
    add(v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) add(s.secret?.name);
  }
  return [...out].sort();
}

/** Secrets already read (or found unreadable) in this process. */
const known = new Map<string, Promise<void>>();

function decode(b64: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined; // binary data cannot appear in text output as such; its base64 form still can
  }
}

/**
 * Read the Secrets `pods` use and register their values for redaction. `note` says once which ones
 * could not be read. Never throws: a run does not fail because a value could not be hidden.
 */
export async function learnPodSecrets(
  kube: KubeObjects,
  pods: V1Pod[],
  note: (line: string) => void,
): Promise<void> {
  const refs = [...new Set(pods.flatMap(secretRefs))];
  await forEachLimited(refs.length, 8, async (i) => {
    const ref = refs[i];
    let p = known.get(ref);
    if (!p) {
      p = (async () => {
        const [ns, name] = ref.split("/", 2);
        try {
          const s = await kube.getObject<V1Secret>("secrets", ns, name);
          for (const b64 of Object.values(s.data ?? {})) {
            addSecret(b64);
            const text = decode(b64);
            if (text !== undefined) addSecret(text);
          }
        } catch (e) {
          const why = (e as Error).message.split("\n")[0];
          note(
            `note: cannot read Secret ${ref}, which the target pods use (${why}); its values are not redacted`,
          );
        }
      })();
      known.set(ref, p);
    }
    await p;
  });
}
