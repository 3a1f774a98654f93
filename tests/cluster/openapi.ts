/**
 * OpenAPI documents, as much as kubectl 1.32 needs:
 *  - /openapi/v3 index + per group-version docs whose PATCH operations carry
 *    `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter, so `kubectl apply`
 *    uses server-side field validation instead of fetching schemas for client-side validation;
 *  - the PATCH operations list no strategic-merge request body, so client-side apply computes its
 *    strategic merge patch from kubectl's built-in Go types (exact for core/v1);
 *  - /openapi/v2 is not served (404): kubectl asks for it in protobuf and copes with its absence.
 * Schemas are minimal (kind + description), enough for `kubectl explain pods` to name the kind.
 */
import { type Features, type ResourceDef, RESOURCES, served } from "./resources.ts";

const HASH = "kodama-test-1";

function gvPath(r: ResourceDef): string {
  return r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
}

export function openapiV3Index(features: Features = new Set()): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const r of RESOURCES) {
    if (!served(r, features)) continue;
    const p = gvPath(r);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${HASH}` };
  }
  return { paths };
}

function schemaName(r: ResourceDef): string {
  return r.group
    ? `io.k8s.api.${r.group.split(".")[0]}.${r.version}.${r.kind}`
    : `io.k8s.api.core.${r.version}.${r.kind}`;
}

const param = (name: string, description: string) => ({
  name,
  in: "query",
  description,
  schema: { type: "string", uniqueItems: true },
});

export function openapiV3Path(
  path: string,
  features: Features = new Set(),
): Record<string, unknown> | undefined {
  const rs = RESOURCES.filter((r) => gvPath(r) === path && served(r, features));
  if (rs.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of rs) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const base = `/${gvPath(r)}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.name}`;
    const ref = { $ref: `#/components/schemas/${schemaName(r)}` };
    const op = (action: string, extra: Record<string, unknown> = {}) => ({
      description: `${action} ${r.kind}`,
      operationId: `${action}${r.kind}`,
      responses: { "200": { description: "OK", content: { "application/json": { schema: ref } } } },
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
      ...extra,
    });
    const writeParams = [
      param("dryRun", "When present, indicates that modifications should not be persisted."),
      param(
        "fieldManager",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
      ),
      param(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
      ),
    ];
    if (r.virtual) {
      paths[base] = { post: op("post", { parameters: writeParams }) };
    } else {
      paths[base] = { get: op("list"), post: op("post", { parameters: writeParams }) };
      paths[`${base}/{name}`] = {
        get: op("get"),
        put: op("put", { parameters: writeParams }),
        patch: op("patch", {
          parameters: [...writeParams, param("force", 'Force is going to "force" Apply requests.')],
        }),
        delete: op("delete"),
      };
    }
    schemas[schemaName(r)] = {
      description: `${r.kind} (served by the kodama Kubernetes API test server; schema abbreviated)`,
      type: "object",
      properties: {
        apiVersion: {
          type: "string",
          description: "APIVersion defines the versioned schema of this representation of an object.",
        },
        kind: {
          type: "string",
          description: "Kind is a string value representing the REST resource this object represents.",
        },
        metadata: { type: "object", description: "Standard object's metadata." },
        ...(r.virtual ? {} : { spec: { type: "object" }, status: { type: "object" } }),
      },
      "x-kubernetes-group-version-kind": [gvk],
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0-kodama-test" },
    paths,
    components: { schemas },
  };
}
