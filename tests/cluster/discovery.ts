/** Discovery documents: /version, /api, /api/v1, /apis, /apis/GROUP[/VERSION]. */
import { type Features, RESOURCES, served, SUBRESOURCES } from "./resources.ts";

export const VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-kodama-test",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.4",
  compiler: "gc",
  platform: "linux/amd64",
};

export function apiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groups(features: Features): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (!r.group || !served(r, features)) continue;
    const v = m.get(r.group) ?? [];
    if (!v.includes(r.version)) v.push(r.version);
    m.set(r.group, v);
  }
  return m;
}

function apiGroup(name: string, versions: string[]) {
  const vs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(features: Features = new Set()) {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups(features)].map(([name, versions]) => apiGroup(name, versions)),
  };
}

export function apiGroupDoc(group: string, features: Features = new Set()) {
  const v = groups(features).get(group);
  if (!v) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, v) };
}

/** APIResourceList for a group/version ("" = core). */
export function resourceList(group: string, version: string, features: Features = new Set()) {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version && served(r, features));
  if (rs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of rs) {
    resources.push({
      name: r.name,
      singularName: r.singularName,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      ...(r.categories?.length ? { categories: r.categories } : {}),
    });
    for (const s of SUBRESOURCES.filter((s) => s.name.startsWith(`${r.name}/`))) {
      resources.push({
        name: s.name,
        singularName: "",
        namespaced: r.namespaced,
        ...(s.group ? { group: s.group, version: s.version } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
