/** The kubeconfig the test server writes: contexts `admin` (current, client certificate) and `dev` (bearer token). */
import YAML from "yaml";
import type { Certs } from "./certs.ts";

const b64 = (s: string) => btoa(s);

export interface KubeconfigUser {
  name: string;
  /** use this bearer token instead of the client certificate */
  token?: string;
  namespace?: string;
}

export function buildKubeconfig(server: string, certs: Certs, users: KubeconfigUser[]): string {
  const cluster = "kodama-test";
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    "current-context": users[0].name,
    clusters: [{ name: cluster, cluster: { server, "certificate-authority-data": b64(certs.ca.cert) } }],
    users: users.map((u) => ({
      name: u.name,
      user: u.token ? { token: u.token } : {
        "client-certificate-data": b64(certs.clients[u.name].cert),
        "client-key-data": b64(certs.clients[u.name].key),
      },
    })),
    contexts: users.map((u) => ({
      name: u.name,
      context: { cluster, user: u.name, ...(u.namespace ? { namespace: u.namespace } : {}) },
    })),
  };
  return YAML.stringify(doc);
}
