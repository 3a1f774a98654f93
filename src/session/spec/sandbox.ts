/**
 * The pod is the sandbox (docs/security.md "The pod is the sandbox"): agents run in it with their own
 * permission prompts off, so every pod kodama makes is locked down by default. Pure:
 *  - no ServiceAccount token unless the session asks for one;
 *  - the runtime's default seccomp profile, no privilege escalation (setuid binaries, sudo), and only the
 *    capabilities a root user in a dev image needs for git, npm, apt and tar (ROOT_CAPABILITIES);
 *    a non-root user (session.runAsUser, a template's runAsUser) gets none;
 *  - an egress NetworkPolicy: DNS, and everywhere except the cloud metadata endpoints (base/metadata.ts,
 *    link-local included) and session.egress.deny,
 *    or only session.egress.allow. A NetworkPolicy names no hosts; it is only as good as the CNI.
 */
import type { V1NetworkPolicy, V1SecurityContext } from "@kubernetes/client-node";
import { usageError } from "../../base/errors.ts";
import { type Cidr, formatCidr, parseCidr, strictlyWithin, within } from "../../base/cidr.ts";
import { quote } from "../../base/text/escape.ts";
import { METADATA_CIDRS } from "../../base/metadata.ts";

/**
 * What a root user keeps of the runtime's default set (the rest — NET_RAW, MKNOD, SETFCAP, SETPCAP,
 * SYS_CHROOT, AUDIT_WRITE — is dropped), and why each stays:
 * CHOWN       tar/npm/apt/git set files' owners (sync writes the owner it was given)
 * DAC_OVERRIDE root reads and writes files of other users (a workspace written by uid 1000)
 * FOWNER      chmod/utime on files root does not own (tar, cp -p, npm)
 * FSETID      keep setgid bits on directories it writes (the fsGroup volumes)
 * KILL        signal processes of other users (the idle watchdog, `agent stop`)
 * NET_BIND_SERVICE a dev server on a port below 1024
 * SETGID, SETUID apt drops to its _apt user; su/gosu-style entrypoints of sidecar images switch users
 */
export const ROOT_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "NET_BIND_SERVICE",
  "SETGID",
  "SETUID",
];

/** The cloud metadata endpoints (src/base/metadata.ts, a maintained list) and link-local ranges. */
export const ALWAYS_DENIED: readonly string[] = METADATA_CIDRS;

export interface Sandbox {
  /** the ServiceAccount token is mounted (session.serviceAccountToken, `start --service-account`) */
  token?: boolean;
  /** the uid of the session (and clone) container; unset: the image's user */
  runAsUser?: number;
  /** the egress NetworkPolicy; unset: none (session.egress.enabled: false) */
  egress?: { deny: string[]; allow?: string[] };
}

/** What the config and the flags say (src/config/schema.ts session.*). */
export interface SandboxSettings {
  serviceAccountToken?: boolean;
  runAsUser?: number;
  egress?: { enabled?: boolean; deny?: string[]; allow?: string[] };
}

function cidrList(list: string[] | undefined, key: string): Cidr[] {
  return (list ?? []).map((s) => {
    const c = parseCidr(String(s));
    if (!c) {
      throw usageError(
        `invalid ${key} entry ${quote(s)}: not a CIDR`,
        "write an address range such as 10.0.0.0/8 or fd00::/8",
      );
    }
    return c;
  });
}

/** Resolve and check the settings (exit 2 on a bad CIDR or an allowed range inside a denied one). */
export function resolveSandbox(s: SandboxSettings): Sandbox {
  const runAsUser = s.runAsUser;
  if (runAsUser !== undefined && (!Number.isInteger(runAsUser) || runAsUser < 0 || runAsUser > 2147483647)) {
    throw usageError(`invalid session.runAsUser ${runAsUser}: a uid is a whole number from 0 to 2147483647`);
  }
  const out: Sandbox = {
    ...(s.serviceAccountToken ? { token: true } : {}),
    ...(runAsUser !== undefined ? { runAsUser } : {}),
  };
  if (s.egress?.enabled === false) return out;
  const deny = cidrList(s.egress?.deny, "session.egress.deny");
  for (const d of deny) {
    if (d.prefix === 0) {
      throw usageError(
        `session.egress.deny ${quote(formatCidr(d))} denies everything`,
        "to let the pod reach only some ranges (and DNS), list them in session.egress.allow ([] for DNS only)",
      );
    }
  }
  const denied = [...ALWAYS_DENIED.map((c) => parseCidr(c)!), ...deny];
  const allow = s.egress?.allow === undefined ? undefined : cidrList(s.egress.allow, "session.egress.allow");
  for (const a of allow ?? []) {
    const d = denied.find((d) => within(a, d));
    if (d) {
      throw usageError(
        `session.egress.allow ${quote(formatCidr(a))} lies inside the denied range ${formatCidr(d)}`,
        "the cloud metadata endpoints (kodama doctor lists them) and session.egress.deny are never reachable",
      );
    }
  }
  const uniq = (cs: Cidr[]) => [...new Set(cs.map(formatCidr))];
  return {
    ...out,
    egress: { deny: uniq(deny), ...(allow ? { allow: uniq(allow) } : {}) },
  };
}

/** The securityContext of a container kodama makes; `user`: the session's runAsUser applies to it. */
export function containerSecurity(sb: Sandbox | undefined, user: boolean): V1SecurityContext {
  const uid = user ? sb?.runAsUser : undefined;
  const nonRoot = uid !== undefined && uid > 0;
  return {
    allowPrivilegeEscalation: false,
    // a non-root process holds no capabilities anyway: none are added (Pod Security "restricted")
    capabilities: nonRoot ? { drop: ["ALL"] } : { drop: ["ALL"], add: [...ROOT_CAPABILITIES] },
    ...(uid !== undefined ? { runAsUser: uid } : {}),
    ...(nonRoot ? { runAsNonRoot: true } : {}),
  };
}

/** The pod-level part: the runtime's default seccomp profile for every container. */
export const POD_SECCOMP = { seccompProfile: { type: "RuntimeDefault" } } as const;

/** Who a session's egress NetworkPolicy is (buildEgressPolicy, and the gateway's: gateway.ts). */
export interface PolicyMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * The session's egress NetworkPolicy (`kodama-egress-NAME`), selecting the session's pods. Egress only:
 * what reaches the pod is left to the cluster's own policies (exec, attach and port-forward go through the
 * kubelet, never through the pod network, so sync and attach are not affected).
 */
export function buildEgressPolicy(
  egress: NonNullable<Sandbox["egress"]>,
  meta: PolicyMeta,
  podLabels: Record<string, string>,
): V1NetworkPolicy {
  const deny = [...ALWAYS_DENIED, ...egress.deny].map((c) => parseCidr(c)!);
  const block = (cidr: Cidr) => {
    // the API server wants every except entry strictly inside its cidr; others do not concern this block
    const except = [...new Set(deny.filter((d) => strictlyWithin(d, cidr)).map(formatCidr))];
    return { ipBlock: { cidr: formatCidr(cidr), ...(except.length ? { except } : {}) } };
  };
  const targets = egress.allow
    ? egress.allow.map((c) => parseCidr(c)!)
    : [parseCidr("0.0.0.0/0")!, parseCidr("::/0")!];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta,
    spec: {
      podSelector: { matchLabels: podLabels },
      policyTypes: ["Egress"],
      egress: [
        // name lookups, wherever the cluster's DNS is (its Service address is rewritten to a pod's)
        { ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] },
        ...(targets.length ? [{ to: targets.map(block) }] : []),
      ],
    },
  } as V1NetworkPolicy;
}
