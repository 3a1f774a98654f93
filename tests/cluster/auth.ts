/**
 * Authentication (client certificate CN or bearer token) and authorization: `admin` (system:masters) may do
 * everything, the built-in users their namespaces (optionally limited to a Role's rules), and on top of that
 * whatever the Roles and bindings stored through the API grant (`rbac.ts`), as kube-apiserver's RBAC does.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { ApiError } from "./status.ts";
import { boundRules, escalationError, grantedRules, missingRules, RBAC_GROUP } from "./rbac.ts";
import type { Store } from "./store.ts";

export interface User {
  name: string;
  groups: string[];
  uid?: string;
}

/** An RBAC PolicyRule (the resource form): `*` matches everything; `pods/exec` names a subresource. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface UserPolicy {
  /** null = every namespace and cluster-scoped resource */
  namespaces: string[] | null;
  /**
   * A Role bound in those namespaces: only these rules are allowed there (default: everything). Lets a
   * test prove that a Role (e.g. examples/rbac.yaml) is enough for a command.
   */
  rules?: PolicyRule[];
}

function ruleAllows(r: PolicyRule, a: Attributes): boolean {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const has = (list: string[] | undefined, v: string) => !!list && (list.includes("*") || list.includes(v));
  if (!has(r.apiGroups, a.group) || !has(r.resources, res) || !has(r.verbs, a.verb)) return false;
  return !r.resourceNames?.length || (!!a.name && r.resourceNames.includes(a.name));
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
    /** where the Roles and bindings created through the API live (none: only the built-in policies) */
    private readonly store?: Store,
  ) {}

  /** The rules the stored RoleBindings/ClusterRoleBindings give the user in a namespace (`rbac.ts`). */
  private bound(user: User, namespace: string | undefined): PolicyRule[] {
    return this.store ? boundRules(this.store, user, namespace) : [];
  }

  /** The user of a request, or undefined (-> 401). */
  /**
   * kube-apiserver's union of authenticators, in its order: a valid client certificate first, then a
   * bearer token; the first that succeeds wins, so a good certificate authenticates even when a bad
   * token is sent too. Nothing valid: undefined (401).
   */
  authenticate(req: IncomingMessage): User | undefined {
    const sock = req.socket as TLSSocket;
    if (sock.authorized) {
      const cert = sock.getPeerCertificate?.();
      const cn = cert?.subject?.CN;
      if (cn) {
        const o = cert.subject.O;
        const groups = Array.isArray(o) ? o : o ? [o] : [];
        return { name: String(cn), groups: [...groups, "system:authenticated"] };
      }
    }
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
    return m ? this.tokens.get(m[1].trim()) : undefined;
  }

  /**
   * cluster-scoped kinds every authenticated user may get/list/watch (a ClusterRole bound to
   * system:authenticated, as clusters with CSI storage often have: ServerOptions.csi)
   */
  readonly clusterReadable = new Set<string>();

  allowed(user: User, a: Attributes): boolean {
    if (this.allowedStatically(user, a)) return true;
    // RBAC objects stored through the API: rules of the namespace's RoleBindings and of ClusterRoleBindings
    return this.bound(user, a.namespace).some((r) => ruleAllows(r, a));
  }

  private allowedStatically(user: User, a: Attributes): boolean {
    if (user.groups.includes("system:masters")) return true;
    if (
      !a.namespace && this.clusterReadable.has(a.resource) && ["get", "list", "watch"].includes(a.verb) &&
      user.groups.includes("system:authenticated")
    ) {
      return true;
    }
    // system:basic-user: every authenticated user may ask who they are and what they may do
    if (
      a.resource === "selfsubjectaccessreviews" || a.resource === "selfsubjectrulesreviews" ||
      a.resource === "selfsubjectreviews"
    ) return true;
    const p = this.policies.get(user.name);
    if (!p) return false;
    if (p.namespaces === null) return true;
    if (a.namespace && p.namespaces.includes(a.namespace)) {
      return !p.rules || p.rules.some((r) => ruleAllows(r, a));
    }
    // A namespace object itself: RBAC treats GET /api/v1/namespaces/NAME as namespace NAME.
    if (
      a.resource === "namespaces" && a.name && p.namespaces.includes(a.name) &&
      ["get", "watch"].includes(a.verb)
    ) {
      return true;
    }
    return false;
  }

  /**
   * kube-apiserver's impersonation filter: `Impersonate-User`, `-Group` (repeated), `-Uid` and
   * `-Extra-<key>` headers turn the request into one made by that user, when the requester may
   * `impersonate` each of them (RBAC: users / serviceaccounts / groups in API group "", uids and
   * userextras/<key> in authentication.k8s.io). Returns the user to authorize the request as.
   */
  impersonate(requester: User, req: IncomingMessage): User {
    const all = (name: string): string[] => {
      const out: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (req.rawHeaders[i].toLowerCase() === name) out.push(req.rawHeaders[i + 1]);
      }
      return out;
    };
    const asUser = all("impersonate-user")[0];
    const groups = all("impersonate-group");
    const uid = all("impersonate-uid")[0];
    const extraKeys = [
      ...new Set(
        req.rawHeaders.filter((_, i) => i % 2 === 0 && /^impersonate-extra-/i.test(req.rawHeaders[i]))
          .map((h) => h.toLowerCase()),
      ),
    ];
    if (asUser === undefined) {
      if (groups.length || uid !== undefined || extraKeys.length) {
        throw new ApiError(
          500,
          "InternalError",
          "Internal error occurred: requested [" +
            [...groups.map((g) => `{Group ${g}}`), ...(uid ? [`{UID ${uid}}`] : [])].join(" ") +
            "] without impersonating a user",
        );
      }
      return requester;
    }
    const checks: Attributes[] = [];
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(asUser);
    checks.push(
      sa
        ? { verb: "impersonate", group: "", resource: "serviceaccounts", namespace: sa[1], name: sa[2] }
        : { verb: "impersonate", group: "", resource: "users", name: asUser },
    );
    for (const g of groups) checks.push({ verb: "impersonate", group: "", resource: "groups", name: g });
    if (uid !== undefined) {
      checks.push({ verb: "impersonate", group: "authentication.k8s.io", resource: "uids", name: uid });
    }
    for (const k of extraKeys) {
      const key = decodeURIComponent(k.slice("impersonate-extra-".length));
      for (const v of all(k)) {
        checks.push({
          verb: "impersonate",
          group: "authentication.k8s.io",
          resource: "userextras",
          subresource: key,
          name: v,
        });
      }
    }
    for (const a of checks) if (!this.allowed(requester, a)) throw forbidden(requester, a);
    const implied = sa ? ["system:serviceaccounts", `system:serviceaccounts:${sa[1]}`] : [];
    const withAuth = asUser === "system:anonymous" ? [] : ["system:authenticated"];
    return {
      name: asUser,
      groups: [...new Set([...groups, ...implied, ...withAuth])],
      ...(uid !== undefined ? { uid } : {}),
    };
  }

  /** Every rule the user holds in a namespace ("" = cluster scope): the built-in policy's and the bound ones. */
  rulesHeld(user: User, namespace: string): PolicyRule[] {
    const everything: PolicyRule = { apiGroups: ["*"], resources: ["*"], verbs: ["*"] };
    const p = this.policies.get(user.name);
    if (user.groups.includes("system:masters") || p?.namespaces === null) return [everything];
    const own = p && namespace && p.namespaces.includes(namespace) ? p.rules ?? [everything] : [];
    return [...own, ...this.bound(user, namespace || undefined)];
  }

  /**
   * The registry's escalation check for a write of a Role/ClusterRole or a binding (`obj` as it would be
   * stored): allowed for system:masters, with `escalate` on the role (`bind` on the role a binding refers
   * to), or when the writer holds every rule granted; else kube-apiserver's Forbidden naming what is missing.
   */
  confirmNoEscalation(user: User, resource: string, namespace: string, obj: Record<string, unknown>): void {
    if (user.groups.includes("system:masters")) return;
    const name = String((obj.metadata as { name?: string } | undefined)?.name ?? "");
    const ns = resource.startsWith("cluster") ? undefined : namespace;
    if (resource === "roles" || resource === "clusterroles") {
      if (this.allowed(user, { verb: "escalate", group: RBAC_GROUP, resource, namespace: ns, name })) return;
    } else {
      const ref = (obj.roleRef ?? {}) as { kind?: string; name?: string };
      const refRes = ref.kind === "Role" ? "roles" : "clusterroles";
      if (
        this.allowed(user, {
          verb: "bind",
          group: RBAC_GROUP,
          resource: refRes,
          namespace: ns,
          name: ref.name,
        })
      ) {
        return;
      }
    }
    if (!this.store) return;
    const wanted = grantedRules(this.store, resource, namespace, obj);
    const missing = missingRules(this.rulesHeld(user, ns ?? ""), wanted);
    if (missing.length) throw escalationError(user, resource, name, missing);
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
      { verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"] },
    ];
    const own = this.policies.get(user.name)?.rules;
    if (!all && own && ns.includes(namespace)) resourceRules.unshift(...own);
    else if (all || ns.includes(namespace)) {
      resourceRules.unshift({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] });
    }
    if (!all) {
      resourceRules.push(
        ...this.bound(user, namespace).map((r) => ({
          verbs: r.verbs,
          apiGroups: r.apiGroups,
          resources: r.resources,
          ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
        })),
      );
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
