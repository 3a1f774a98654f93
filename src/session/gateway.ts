/**
 * What a session knows of the namespace's gateway (`kodama gateway`, src/agent/gateway/): its names, the
 * record a session keeps of it (`SessionSpec.gateway`), and the session's egress NetworkPolicy when it uses
 * one: only the gateway pod (port 8080) and the cluster's DNS (UDP/TCP 53 in kube-system). Pure.
 *
 * A session never imports an agent: the gateway's objects and tokens are built above (src/agent/gateway/);
 * this floor holds only what the session's own manifests and `kodama doctor` need.
 */
import type { V1NetworkPolicy } from "@kubernetes/client-node";
import type { PolicyMeta } from "./sandbox.ts";

/** The name of every object of the gateway: Secret, ConfigMap, Pod, Service, NetworkPolicy. */
export const GATEWAY_NAME = "kodama-gateway";
/** The label that tells kodama's components apart; the gateway pod's value is `gateway`. */
export const LABEL_COMPONENT = "kodama.dev/component";
export const GATEWAY_COMPONENT = "gateway";
/** One port for the API routes and the CONNECT proxy (the contract's KODAMA_GATEWAY_PORT default). */
export const GATEWAY_PORT = 8080;

/** The gateway pod's labels (the Service's selector, the session policy's egress target). */
export const GATEWAY_POD_LABELS: Record<string, string> = {
  "app.kubernetes.io/managed-by": "kodama",
  [LABEL_COMPONENT]: GATEWAY_COMPONENT,
};

/** What a session records of the gateway it was started with (never the token: its last four characters). */
export interface SessionGateway {
  /** the Service's name (kodama-gateway) */
  service: string;
  /** `http://CLUSTERIP:8080`: the base of every URL the session was given */
  url: string;
  /** `…abcd`: the token's last four characters, for `session get` */
  tokenSuffix: string;
}

/**
 * The egress NetworkPolicy of a session that uses the gateway: the gateway pod on its port, and DNS in
 * kube-system. No address block at all: the real keys are in the gateway, and nothing else is reachable.
 */
export function gatewayEgressPolicy(
  meta: PolicyMeta,
  podLabels: Record<string, string>,
): V1NetworkPolicy {
  const dnsPorts = [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta,
    spec: {
      podSelector: { matchLabels: podLabels },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
          }],
          ports: dnsPorts,
        },
        {
          to: [{ podSelector: { matchLabels: { [LABEL_COMPONENT]: GATEWAY_COMPONENT } } }],
          ports: [{ protocol: "TCP", port: GATEWAY_PORT }],
        },
      ],
    },
  } as V1NetworkPolicy;
}
