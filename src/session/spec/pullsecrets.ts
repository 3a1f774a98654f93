/**
 * A session's image pull secrets exist and are registry credentials before anything is created. The API
 * server takes a pod naming a Secret that is not there, and the kubelet then pulls without it: a mistyped
 * name shows up minutes later as the registry's "unauthorized" (seen on the real v1.24 cluster: a missing
 * `regcred` is not even an event). A Secret we may not read is left to the kubelet.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";

/** The Secret types the kubelet reads registry credentials from. */
const REGISTRY_TYPES = new Set(["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"]);

/** Why a pull secret cannot serve (pure): missing (exit 3) or not a registry credential (exit 2). */
export function pullSecretProblem(
  name: string,
  namespace: string,
  secret: Pick<V1Secret, "type"> | undefined,
): KodamaError | undefined {
  if (!secret) {
    return new KodamaError(
      `image pull secret ${quote(name)} not found in namespace ${namespace}`,
      ExitCode.NOT_FOUND,
      `create it: kubectl create secret docker-registry ${name} -n ${namespace} --docker-server=… ` +
        `--docker-username=… --docker-password=…, or drop --image-pull-secret ${name}`,
    );
  }
  if (!REGISTRY_TYPES.has(secret.type ?? "")) {
    return new KodamaError(
      `image pull secret ${quote(name)} is of type ${secret.type ?? "Opaque"}, not a registry credential`,
      ExitCode.USAGE,
      "the kubelet reads only kubernetes.io/dockerconfigjson (kubectl create secret docker-registry) " +
        "and kubernetes.io/dockercfg Secrets",
    );
  }
  return undefined;
}

/** Refuse a start whose pull secrets are missing or of the wrong type; skip those we may not read. */
export async function checkPullSecrets(kube: KubeObjects, namespace: string, names: string[]): Promise<void> {
  for (const name of names) {
    let secret: V1Secret | undefined;
    try {
      secret = await kube.findObject<V1Secret>("secrets", namespace, name);
    } catch (e) {
      if (e instanceof KodamaError && e.code === ExitCode.FORBIDDEN) continue;
      throw e;
    }
    const problem = pullSecretProblem(name, namespace, secret);
    if (problem) throw problem;
  }
}
