/**
 * Kubeconfig loading with kubectl's rules:
 * - `--kubeconfig PATH` wins and names exactly one file;
 * - else `KUBECONFIG` (path-list) files are merged: the first file that defines a cluster/user/context
 *   name wins, and `current-context` comes from the first file that sets it (missing files are skipped);
 * - else `~/.kube/config`;
 * - else in-cluster service-account config when running in a pod.
 */
import { KubeConfig } from "@kubernetes/client-node";
import type { Cluster, Context, User } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { ExitCode, KodamaError } from "../errors.ts";

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

function homeDir(): string | undefined {
  return Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
}

function loadFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new KodamaError(
      `cannot load kubeconfig ${path}: ${msg}`,
      ExitCode.USAGE,
      "check the file with `kubectl config view --kubeconfig " + path + "`",
    );
  }
  return kc;
}

/** Merge several kubeconfigs the way kubectl does (first definition of a name wins). */
export function mergeKubeConfigs(configs: KubeConfig[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let current = "";
  for (const kc of configs) {
    for (const c of kc.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of kc.users) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of kc.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (!current && kc.currentContext) current = kc.currentContext;
  }
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext: current,
  });
  return merged;
}

/** Which files would be read, in order (for messages and tests). */
export function kubeconfigFiles(opts: KubeOptions): string[] {
  if (opts.kubeconfig) return [opts.kubeconfig];
  const env = Deno.env.get("KUBECONFIG");
  if (env) return env.split(delimiter).filter(Boolean);
  const home = homeDir();
  return home ? [join(home, ".kube", "config")] : [];
}

export function loadKubeConfig(opts: KubeOptions): KubeConfig {
  let kc: KubeConfig;
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) {
      throw new KodamaError(`kubeconfig ${opts.kubeconfig} does not exist`, ExitCode.USAGE);
    }
    kc = loadFile(opts.kubeconfig);
  } else {
    const files = kubeconfigFiles(opts).filter((f) => existsSync(f));
    if (files.length > 0) {
      kc = files.length === 1 ? loadFile(files[0]) : mergeKubeConfigs(files.map(loadFile));
    } else if (Deno.env.get("KUBERNETES_SERVICE_HOST") && existsSync(`${SA_DIR}/token`)) {
      kc = new KubeConfig();
      kc.loadFromCluster();
    } else {
      throw new KodamaError(
        "no kubeconfig found (looked at " + (kubeconfigFiles(opts).join(", ") || "~/.kube/config") + ")",
        ExitCode.USAGE,
        "set KUBECONFIG or pass --kubeconfig; try `deno task demo` for a local test server",
      );
    }
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name).join(", ") || "none";
      throw new KodamaError(`context "${opts.context}" does not exist`, ExitCode.USAGE, `known contexts: ${known}`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentContext() || !kc.getCurrentCluster()) {
    throw new KodamaError(
      "kubeconfig has no current context",
      ExitCode.USAGE,
      "pass --context NAME or run `kubectl config use-context NAME`",
    );
  }
  return kc;
}

/** The namespace to use: the flag, else the context's namespace, else "default". */
export function resolveNamespace(kc: KubeConfig, flag?: string): string {
  if (flag) return flag;
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return ctx?.namespace || "default";
}
