/** Authentication (client certificate CN or bearer token) and a tiny RBAC: `admin` may do everything, other users only their namespaces. */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { ApiError } from "./status.ts";

export interface User {
  name: string;
  groups: string[];
}

export interface UserPolicy {
  /** null = every namespace and cluster-scoped resource */
  namespaces: string[] | null;
}

export interface Attributes {
  verb: string;
  /** "" for core */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export class Authenticator {
  constructor(
    private readonly tokens: Map<string, User>,
    private readonly policies: Map<string, UserPolicy>,
  ) {}

  /** The user of a request, or undefined (-> 401). */
  authenticate(req: IncomingMessage): User | undefined {
    const h = req.headers.authorization;
    if (h) {
      const m = /^Bearer\s+(.+)$/i.exec(h);
      if (!m) return undefined;
      return this.tokens.get(m[1].trim());
    }
    const sock = req.socket as TLSSocket;
    if (!sock.authorized) return undefined;
    const cert = sock.getPeerCertificate?.();
    const cn = cert?.subject?.CN;
    if (!cn) return undefined;
    const o = cert.subject.O;
    const groups = Array.isArray(o) ? o : o ? [o] : [];
    return { name: String(cn), groups: [...groups, "system:authenticated"] };
  }

  allowed(user: User, a: Attributes): boolean {
    if (user.groups.includes("system:masters")) return true;
    const p = this.policies.get(user.name);
    if (!p) return false;
    if (p.namespaces === null) return true;
    if (a.resource === "selfsubjectaccessreviews" || a.resource === "selfsubjectrulesreviews") return true;
    if (a.namespace && p.namespaces.includes(a.namespace)) return true;
    // A namespace object itself: RBAC treats GET /api/v1/namespaces/NAME as namespace NAME.
    if (
      a.resource === "namespaces" && a.name && p.namespaces.includes(a.name) &&
      ["get", "watch"].includes(a.verb)
    ) {
      return true;
    }
    return false;
  }

  /** Throw the Forbidden Status kube-apiserver returns. */
  authorize(user: User, a: Attributes): void {
    if (!this.allowed(user, a)) throw forbidden(user, a);
  }

  /** `SelfSubjectRulesReview` status for the user in a namespace. */
  rules(user: User, namespace: string): Record<string, unknown> {
    const all = user.groups.includes("system:masters") || this.policies.get(user.name)?.namespaces === null;
    const ns = this.policies.get(user.name)?.namespaces ?? [];
    const resourceRules = [
      {
        verbs: ["create"],
        apiGroups: ["authorization.k8s.io"],
        resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
      },
    ];
    if (all || ns.includes(namespace)) {
      resourceRules.unshift({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] });
    }
    return {
      resourceRules,
      nonResourceRules: [{
        verbs: ["get"],
        nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/version", "/openapi", "/openapi/*"],
      }],
      incomplete: false,
    };
  }
}

export function forbidden(user: User, a: Attributes): ApiError {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const group = a.group;
  const what = a.name
    ? `${a.resource}${group ? "." + group : ""} "${a.name}"`
    : `${a.resource}${group ? "." + group : ""}`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  const msg =
    `${what} is forbidden: User "${user.name}" cannot ${a.verb} resource "${res}" in API group "${group}" ${scope}`;
  return new ApiError(403, "Forbidden", msg, {
    ...(a.name ? { name: a.name } : {}),
    ...(group ? { group } : {}),
    kind: a.resource,
  });
}
