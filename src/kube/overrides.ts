/**
 * kubectl's generic connection flags, with kubectl's (client-go clientcmd's) meaning, applied to a loaded
 * kubeconfig: `--cluster`, `--user`, `--server`, `--token`, `--certificate-authority`,
 * `--insecure-skip-tls-verify`, `--as`, `--as-group`, `--as-uid`. Also the headers every request and
 * stream carries: `User-Agent: kodama/<version> (<os>/<arch>)` and the Impersonate-* headers (from the
 * flags, else from the kubeconfig user's `as`, `as-groups`, `as-uid`, `as-user-extra`).
 */
import { readFailure } from "./files.ts";
import { resolve } from "../base/fs/fspath.ts";
import { KodamaError, usageError } from "../base/errors.ts";
import { readTextBoundedSync } from "../base/fs/boundedread.ts";
import { VERSION } from "../base/version.ts";
import type { ClusterEntry, ContextEntry, KubeConfigLite, UserEntry } from "./config.ts";
import { quote } from "../base/text/escape.ts";

export interface ConnectionOverrides {
  /** --cluster: the kubeconfig cluster to use instead of the context's */
  cluster?: string;
  /** --user: the kubeconfig user to use instead of the context's */
  user?: string;
  /** -s/--server: the API server address */
  server?: string;
  /** --token: bearer token (wins over the user's token, token file, exec plugin and auth provider) */
  token?: string;
  /** --certificate-authority: CA file (replaces the cluster's CA data and skip-verify) */
  certificateAuthority?: string;
  /** --insecure-skip-tls-verify */
  insecureSkipTlsVerify?: boolean;
  /** --as: user to impersonate */
  as?: string;
  /** --as-group: groups to impersonate (repeatable) */
  asGroups?: string[];
  /** --as-uid: UID to impersonate */
  asUid?: string;
}

/** The name of the context kodama makes when flags alone name the server (no kubeconfig). */
export const FLAGS_CONTEXT = "(flags)";

/** Go's names for Deno's os/arch, as kubectl's User-Agent has them. */
function goArch(arch: string): string {
  return ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[arch] ?? arch;
}

export const USER_AGENT = `kodama/${VERSION} (${Deno.build.os}/${goArch(Deno.build.arch)})`;

export function hasOverrides(o: ConnectionOverrides): boolean {
  return !!(o.cluster || o.user || o.server || o.token || o.certificateAuthority || o.insecureSkipTlsVerify ||
    o.as || o.asGroups?.length || o.asUid);
}

/**
 * Apply the flags to the kubeconfig's current context, as clientcmd merges its overrides: the context
 * gets the named cluster/user, and copies of those entries get the flag values. Throws kubectl's
 * messages (exit 2) for a missing user, a cluster without a server, CA + insecure, an unreadable CA file,
 * and impersonation of groups/uid without a user.
 */
export function applyOverrides(kc: KubeConfigLite, o: ConnectionOverrides): void {
  let ctx = kc.getContextObject(kc.getCurrentContext());
  if (!ctx) {
    if (!o.server && !o.cluster) return; // the loader reports the missing context
    ctx = { name: kc.getCurrentContext() || FLAGS_CONTEXT, cluster: "", user: "" };
    kc.contexts = [...kc.contexts, ctx];
    kc.setCurrentContext(ctx.name);
  }
  const merged: ContextEntry = { ...ctx, cluster: o.cluster ?? ctx.cluster, user: o.user ?? ctx.user };
  if (o.user && !kc.users.some((u) => u.name === o.user)) {
    throw usageError(`auth info ${quote(o.user)} does not exist`, `known users: ${names(kc.users)}`);
  }

  const base = kc.clusters.find((c) => c.name === merged.cluster);
  const cluster: ClusterEntry = { ...(base ?? { name: merged.cluster, server: "" }) };
  if (o.server) {
    cluster.server = o.server;
    cluster.tlsServerName = undefined; // clientcmd: --server clears the kubeconfig's tls-server-name
  }
  if (o.insecureSkipTlsVerify && o.certificateAuthority) {
    throw usageError("specifying a root certificates file with the insecure flag is not allowed");
  }
  if (o.insecureSkipTlsVerify || o.certificateAuthority) {
    cluster.skipTLSVerify = !!o.insecureSkipTlsVerify;
    cluster.caData = undefined;
    cluster.caFile = o.certificateAuthority ? resolve(o.certificateAuthority) : undefined;
  }
  if (cluster.caFile && o.certificateAuthority) {
    try {
      readTextBoundedSync(cluster.caFile, { what: "--certificate-authority", kind: "kubeconfig" });
    } catch (e) {
      if (e instanceof KodamaError) throw e;
      throw usageError(
        `unable to read certificate-authority ${o.certificateAuthority} for ${
          cluster.name || cluster.server
        } due to open ${cluster.caFile}: ${readFailure(e)}`,
      );
    }
  }
  if (!cluster.server) {
    throw usageError(
      `no server found for cluster ${quote(merged.cluster)}`,
      base || !o.cluster ? "pass --server URL" : `known clusters: ${names(kc.clusters)}`,
    );
  }

  const baseUser = kc.users.find((u) => u.name === merged.user);
  const user: UserEntry = { ...(baseUser ?? { name: merged.user }) };
  if (o.token) {
    // client-go: a bearer token means no exec plugin or auth provider runs; client certificates stay
    user.token = o.token;
    user.tokenFile = undefined;
    user.exec = undefined;
    user.authProvider = undefined;
  }
  if (o.as) user.as = o.as;
  if (o.asGroups?.length) user.asGroups = o.asGroups;
  if (o.asUid) user.asUid = o.asUid;
  if (!user.as && (user.asGroups?.length || user.asUid || Object.keys(user.asUserExtra ?? {}).length)) {
    throw usageError(
      `requesting uid, groups or user-extra for ${user.name} without impersonating a user`,
      "add --as USER",
    );
  }

  kc.contexts = kc.contexts.map((c) => (c === ctx ? merged : c));
  kc.clusters = base ? kc.clusters.map((c) => (c === base ? cluster : c)) : [...kc.clusters, cluster];
  kc.users = baseUser ? kc.users.map((u) => (u === baseUser ? user : u)) : [...kc.users, user];
}

function names(list: { name: string }[]): string {
  return list.map((x) => x.name).join(", ") || "none";
}

/**
 * Headers every request and stream carries: the User-Agent, and the Impersonate-* headers of the user.
 * Impersonate-Group / Impersonate-Extra-* repeat (one header line per value: node:http sends arrays so).
 */
export function identityHeaders(user: UserEntry | null): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = { "User-Agent": USER_AGENT };
  if (!user?.as) return h;
  h["Impersonate-User"] = user.as;
  if (user.asGroups?.length) h["Impersonate-Group"] = user.asGroups;
  if (user.asUid) h["Impersonate-Uid"] = user.asUid;
  for (const [k, v] of Object.entries(user.asUserExtra ?? {})) {
    // client-go escapes the key as a URL path segment (an HTTP header name cannot hold every character)
    h[`Impersonate-Extra-${encodeURIComponent(k)}`] = v;
  }
  return h;
}

/**
 * The global flags a kodama process started by this one (a tmux pane, a workflow's pane) needs to reach
 * the same cluster as the same user. Never --token: a process's arguments are readable by every local user.
 */
export function connectionFlags(
  o: ConnectionOverrides & { kubeconfig?: string; context?: string; requestTimeoutMs?: number },
): string[] {
  const f: string[] = [];
  if (o.kubeconfig) f.push("--kubeconfig", resolve(o.kubeconfig));
  if (o.context) f.push("--context", o.context);
  if (o.cluster) f.push("--cluster", o.cluster);
  if (o.user) f.push("--user", o.user);
  if (o.server) f.push("--server", o.server);
  if (o.certificateAuthority) f.push("--certificate-authority", resolve(o.certificateAuthority));
  if (o.insecureSkipTlsVerify) f.push("--insecure-skip-tls-verify");
  if (o.as) f.push("--as", o.as);
  for (const g of o.asGroups ?? []) f.push("--as-group", g);
  if (o.asUid) f.push("--as-uid", o.asUid);
  if (o.requestTimeoutMs) f.push("--request-timeout", `${o.requestTimeoutMs}ms`);
  return f;
}

/** Refuse to start kodama processes (tmux panes) for a connection made with --token, which they cannot get. */
export function assertChildrenCanConnect(o: ConnectionOverrides): void {
  if (o.token) {
    throw usageError(
      "--token cannot be passed on to tmux panes: a process's arguments are readable by every local user",
      "put the token in a kubeconfig user and pass --user NAME (or --context) instead",
    );
  }
}
