/**
 * The one place kodama's code runs @kubernetes/client-node: legacy `auth-provider` users (oidc, gcp,
 * azure) get their credentials from it. config.ts loads this module by a computed URL, so `deno compile`
 * does not embed client-node (~53 MB) unless asked: `deno task compile --auth-provider` includes this file.
 */
import { KubeConfig } from "@kubernetes/client-node";

/** Fill node:https options for the kubeconfig's current context, as client-node does. */
export async function applyToHTTPSOptions(kubeconfig: unknown, opts: Record<string, unknown>): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(kubeconfig));
  await kc.applyToHTTPSOptions(opts as never);
}
