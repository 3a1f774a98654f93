/**
 * RBAC as kube-apiserver's authorizer and registry apply it (`plugin/pkg/auth/authorizer/rbac`,
 * `pkg/registry/rbac`): Roles, ClusterRoles and their bindings stored through the API take effect at once;
 * a binding's subjects match the user's name, groups, or service account; `resourceNames` only ever matches
 * a request that names an object (never list, watch, deletecollection or create of the resource itself);
 * subresources (`pods/exec`, `pods/log`) are resources of their own. Writing a Role or a binding is refused
 * unless the writer already holds every rule it grants (or may `escalate` / `bind`), as
 * `ConfirmNoEscalation` does.
 */
import type { PolicyRule, User } from "./auth.ts";
import { ApiError } from "./status.ts";
import type { Obj, Store } from "./store.ts";
import type { Errors } from "./validation.ts";

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export const RBAC_RESOURCES = ["roles", "rolebindings", "clusterroles", "clusterrolebindings"];

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

/** Does a binding's subject name this user (in the binding's namespace, for a service account)? */
export function subjectMatches(s: Subject, user: User, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.name;
    case "Group":
      return !!s.name && user.groups.includes(s.name);
    case "ServiceAccount":
      return user.name === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
  }
  return false;
}

const rulesOf = (o: Obj | undefined): PolicyRule[] => (o?.rules ?? []) as PolicyRule[];

/**
 * The rules bound to the user: every ClusterRoleBinding's ClusterRole, and in `namespace` every
 * RoleBinding's Role (of that namespace) or ClusterRole. A binding to a missing role grants nothing.
 */
export function boundRules(store: Store, user: User, namespace: string | undefined): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const b of store.peek("clusterrolebindings")) {
    if (b.roleRef?.kind !== "ClusterRole") continue;
    if (!(b.subjects ?? []).some((s: Subject) => subjectMatches(s, user, ""))) continue;
    out.push(...rulesOf(store.get("clusterroles", "", b.roleRef.name)));
  }
  if (namespace) {
    for (const b of store.peek("rolebindings")) {
      if (b.metadata.namespace !== namespace) continue;
      if (!(b.subjects ?? []).some((s: Subject) => subjectMatches(s, user, namespace))) continue;
      const role = b.roleRef?.kind === "Role"
        ? store.get("roles", namespace, b.roleRef.name)
        : b.roleRef?.kind === "ClusterRole"
        ? store.get("clusterroles", "", b.roleRef.name)
        : undefined;
      out.push(...rulesOf(role));
    }
  }
  return out;
}

/** One permission: a group, a resource (maybe `res/sub`), a verb, and a name or none. */
interface Atom {
  group: string;
  resource: string;
  verb: string;
  name?: string;
}

function atoms(r: PolicyRule): Atom[] {
  const out: Atom[] = [];
  const names = r.resourceNames?.length ? r.resourceNames : [undefined];
  for (const group of r.apiGroups ?? []) {
    for (const resource of r.resources ?? []) {
      for (const verb of r.verbs ?? []) {
        for (const name of names) out.push({ group, resource, verb, ...(name ? { name } : {}) });
      }
    }
  }
  return out;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes("*") || list.includes(v));

/** `pkg/registry/rbac/validation`'s ruleCovers for one atom (`*` in the owner's rule covers anything). */
function covers(owner: PolicyRule, a: Atom): boolean {
  if (!has(owner.apiGroups, a.group) || !has(owner.verbs, a.verb)) return false;
  const res = owner.resources ?? [];
  const [base] = a.resource.split("/");
  const resOk = res.includes("*") || res.includes(a.resource) ||
    (a.resource.includes("/") && res.includes(`*/${a.resource.split("/")[1]}`)) ||
    res.includes(`${base}/*`) && a.resource !== base;
  if (!resOk) return false;
  if (!owner.resourceNames?.length) return true;
  return a.name !== undefined && owner.resourceNames.includes(a.name);
}

/** The atoms of `wanted` no rule of `held` covers, compacted per group/resource/name as the API server prints them. */
export function missingRules(held: PolicyRule[], wanted: PolicyRule[]): string[] {
  const missing = wanted.flatMap(atoms).filter((a) => !held.some((r) => covers(r, a)));
  const byKey = new Map<string, { a: Atom; verbs: string[] }>();
  for (const a of missing) {
    const k = `${a.group}\0${a.resource}\0${a.name ?? ""}`;
    const e = byKey.get(k) ?? { a, verbs: [] };
    if (!e.verbs.includes(a.verb)) e.verbs.push(a.verb);
    byKey.set(k, e);
  }
  const q = (l: string[]) => l.map((s) => JSON.stringify(s)).join(" ");
  return [...byKey.values()].map(({ a, verbs }) =>
    `{APIGroups:[${q([a.group])}], Resources:[${q([a.resource])}]${
      a.name !== undefined ? `, ResourceNames:[${q([a.name])}]` : ""
    }, Verbs:[${q(verbs)}]}`
  ).sort();
}

/** The rules a Role/ClusterRole grants, or those of the role a binding refers to (404 when it is missing). */
export function grantedRules(store: Store, resource: string, namespace: string, obj: Obj): PolicyRule[] {
  if (resource === "roles" || resource === "clusterroles") return rulesOf(obj);
  const ref = obj.roleRef ?? {};
  const role = ref.kind === "Role"
    ? store.get("roles", namespace, ref.name)
    : ref.kind === "ClusterRole"
    ? store.get("clusterroles", "", ref.name)
    : undefined;
  if (!role) {
    const r = ref.kind === "Role" ? "roles" : "clusterroles";
    throw new ApiError(404, "NotFound", `${r}.${RBAC_GROUP} "${ref.name}" not found`, {
      name: ref.name,
      group: RBAC_GROUP,
      kind: r,
    });
  }
  return rulesOf(role);
}

/** The Forbidden kube-apiserver answers a write that would grant what the writer does not hold. */
export function escalationError(user: User, resource: string, name: string, missing: string[]): ApiError {
  const groups = user.groups.map((g) => JSON.stringify(g)).join(" ");
  return new ApiError(
    403,
    "Forbidden",
    `${resource}.${RBAC_GROUP} "${name}" is forbidden: user ${
      JSON.stringify(user.name)
    } (groups=[${groups}]) is attempting to grant RBAC permissions not currently held:\n${
      missing.join("\n")
    }`,
    { name, group: RBAC_GROUP, kind: resource },
  );
}

function validateRules(e: Errors, rules: unknown, clusterScoped: boolean) {
  if (rules === undefined || rules === null) return;
  if (!Array.isArray(rules)) return e.invalid("rules", rules, "must be a list");
  rules.forEach((r: Obj, i) => {
    const f = `rules[${i}]`;
    if (!r?.verbs?.length) e.required(`${f}.verbs`, "verbs must contain at least one value");
    if (r?.nonResourceURLs?.length) {
      if (!clusterScoped) {
        e.invalid(
          `${f}.nonResourceURLs`,
          r.nonResourceURLs,
          "namespaced rules cannot apply to non-resource URLs",
        );
      }
      if (r.apiGroups?.length || r.resources?.length || r.resourceNames?.length) {
        e.invalid(
          `${f}.nonResourceURLs`,
          r.nonResourceURLs,
          "rules cannot apply to both regular resources and non-resource URLs",
        );
      }
      return;
    }
    if (!r?.apiGroups?.length) {
      e.required(`${f}.apiGroups`, "resource rules must supply at least one api group");
    }
    if (!r?.resources?.length) {
      e.required(`${f}.resources`, "resource rules must supply at least one resource");
    }
  });
}

/** ValidateRole / ValidateRoleBinding (and their cluster forms), with the messages of `pkg/apis/rbac/validation`. */
export function validateRbac(e: Errors, resource: string, o: Obj, old?: Obj) {
  if (resource === "roles" || resource === "clusterroles") {
    validateRules(e, o.rules, resource === "clusterroles");
    return;
  }
  const ref = o.roleRef;
  if (!ref) e.required("roleRef");
  else {
    if (ref.apiGroup !== RBAC_GROUP) e.notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]);
    const kinds = resource === "rolebindings" ? ["Role", "ClusterRole"] : ["ClusterRole"];
    if (!kinds.includes(ref.kind)) e.notSupported("roleRef.kind", ref.kind ?? "", kinds);
    if (!ref.name) e.required("roleRef.name");
  }
  if (old && old.roleRef && JSON.stringify(old.roleRef) !== JSON.stringify(ref)) {
    e.invalid("roleRef", ref, "cannot change roleRef");
  }
  ((o.subjects ?? []) as Subject[]).forEach((s, i) => {
    const f = `subjects[${i}]`;
    if (!s.name) e.required(`${f}.name`);
    if (!["User", "Group", "ServiceAccount"].includes(s.kind ?? "")) {
      e.notSupported(`${f}.kind`, s.kind ?? "", ["ServiceAccount", "User", "Group"]);
    }
    if (s.kind === "ServiceAccount" && resource === "clusterrolebindings" && !s.namespace) {
      e.required(`${f}.namespace`);
    }
  });
}
