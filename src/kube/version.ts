import type { Kube } from "./client.ts";

export function serverVersion(kube: Kube): Promise<string> {
  return kube.serverVersion();
}
