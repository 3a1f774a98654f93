import { VersionApi } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";

export async function serverVersion(kube: Kube): Promise<string> {
  const info = await kube.call({ verb: "get", resource: "version" }, () => kube.kc.makeApiClient(VersionApi).getCode());
  return info.gitVersion;
}
