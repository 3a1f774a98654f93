/** HTTP routing for the API: path parsing, authorization, verbs, watch streams, Table output. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import YAML from "yaml";
import type { ClusterApi, DeleteOptions, ListOptions, PatchType } from "./api.ts";
import type { Attributes, Authenticator, User } from "./auth.ts";
import type { Runtime, StreamContext } from "./contract.ts";
import { apiGroupDoc, apiGroupList, apiVersions, resourceList, VERSION } from "./discovery.ts";
import { applyFaultRequest, type Faults, type FaultState } from "./faults.ts";
import { openapiV3Index, openapiV3Path } from "./openapi.ts";
import { type Features, findResource, type ResourceDef, served } from "./resources.ts";
import { RBAC_GROUP } from "./rbac.ts";
import { unknownFields } from "./fields.ts";
import { decodeObject, decodeReview } from "./proto.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { ApiError, badRequest, methodNotAllowed, notFound, reasonForCode, statusObject } from "./status.ts";
import type { Obj } from "./store.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { formatLabelSelector } from "./workloads.ts";
import { type IncludeObject, toTable } from "./table.ts";

export interface RouteContext {
  api: ClusterApi;
  auth: Authenticator;
  runtime: () => Runtime | undefined;
  faultState: FaultState;
  faults: Faults;
  serverAddress: string;
  log: (msg: string) => void;
  /** the requests served so far (server.ts), for `GET /_test/requests` */
  requestLog: () => unknown[];
}

/** A parsed resource request path. */
export interface ResourcePath {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function parseResourcePath(
  path: string,
  features: Features = new Set(),
): ResourcePath | undefined | "unknown" {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let group = "";
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && !["status", "finalize"].includes(rest[2])) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const def = findResource(group, version, rest[0]);
  if (!def || rest.length > 3 || !served(def, features)) return "unknown";
  if (namespace !== undefined && !def.namespaced) return "unknown";
  return { def, namespace, name: rest[1], subresource: rest[2] };
}

function verbFor(method: string, p: ResourcePath, q: URLSearchParams): string {
  const watch = q.get("watch") === "true" || q.get("watch") === "1";
  switch (method) {
    case "GET":
    case "HEAD":
      return p.name ? (watch ? "watch" : "get") : watch ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return p.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

// ------------------------------------------------------------------------ responses
export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = "application/json") {
  if (res.headersSent || res.writableEnded) return;
  const data = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(data),
    "Cache-Control": "no-cache, private",
    "X-Kubernetes-Pf-Flowschema-Uid": "00000000-0000-0000-0000-000000000000",
  });
  res.end(data);
}

export function sendError(res: ServerResponse, e: unknown) {
  if (e instanceof ApiError) {
    // kube-apiserver sends Retry-After with 429 (and some 5xx) answers; clients wait that long and retry
    const ra = e.details?.retryAfterSeconds;
    if (ra !== undefined && !res.headersSent) res.setHeader("Retry-After", String(ra));
    return sendJson(res, e.code, e.toStatus());
  }
  const msg = (e as Error)?.message ?? String(e);
  sendJson(res, 500, statusObject(500, "InternalError", `Internal error occurred: ${msg}`));
}

/** Write a Status over a raw socket (an upgrade request that we refuse). */
export function refuseUpgrade(socket: Duplex, e: unknown) {
  const err = e instanceof ApiError
    ? e
    : new ApiError(500, "InternalError", String((e as Error)?.message ?? e));
  const body = JSON.stringify(err.toStatus());
  try {
    socket.end(
      `HTTP/1.1 ${err.code} ${reasonForCode(err.code)}\r\nContent-Type: application/json\r\nContent-Length: ${
        Buffer.byteLength(body)
      }\r\nConnection: close\r\n\r\n${body}`,
    );
  } catch { /* socket gone */ }
  setTimeout(() => socket.destroy(), 100);
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const ct = req.headers["content-type"] ?? "";
  if (ct.includes("protobuf") || ct.includes("cbor")) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the kodama test server accepts JSON and YAML bodies, not ${ct}`,
    );
  }
  return (await readRaw(req)).toString("utf8");
}

function parseBody(raw: string, contentType: string): unknown {
  if (!raw.trim()) return undefined;
  try {
    if (/yaml/.test(contentType)) return YAML.parse(raw);
    return JSON.parse(raw);
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${(e as Error).message}`);
  }
}

/** A create body: JSON/YAML, or protobuf for the kinds kubectl's typed clients create. */
async function readObject(req: IncomingMessage, def: ResourceDef): Promise<unknown> {
  const ct = req.headers["content-type"] ?? "";
  if (!ct.includes("protobuf")) return parseBody(await readBody(req), ct);
  let o: unknown;
  try {
    o = decodeObject(def.name, await readRaw(req));
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${(e as Error).message}`);
  }
  if (!o) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the kodama test server accepts ${def.name} as JSON or YAML, not ${ct}`,
    );
  }
  return o;
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? "");
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get("includeObject");
  return v === "None" || v === "Object" ? v : "Metadata";
}

function listOptions(q: URLSearchParams, def: ResourceDef): ListOptions {
  const limit = q.get("limit");
  return {
    labels: parseLabelSelector(q.get("labelSelector")),
    fields: parseFieldSelector(q.get("fieldSelector"), def.name),
    limit: limit ? Number(limit) : undefined,
    continue: q.get("continue") ?? undefined,
  };
}

/**
 * `fieldValidation`: Strict -> 400 for unknown fields (kubectl's default), Warn (or unset) ->
 * a `Warning` header per field, Ignore -> nothing.
 */
function checkFields(res: ServerResponse, q: URLSearchParams, def: ResourceDef, body: unknown) {
  const mode = q.get("fieldValidation") ?? "Warn";
  if (mode === "Ignore" || !body || typeof body !== "object") return;
  const unknown = unknownFields(def.kind, stripDirectives(body as Obj));
  if (unknown.length === 0) return;
  if (mode === "Strict") {
    throw badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${
        unknown.map((f) => `unknown field "${f}"`).join(", ")
      }`,
    );
  }
  res.setHeader("Warning", unknown.map((f) => `299 - "unknown field \\"${f}\\""`));
}

function stripDirectives(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith("$")) continue;
    out[k] = v && typeof v === "object" && !Array.isArray(v)
      ? stripDirectives(v)
      : Array.isArray(v)
      ? v.map((x) => (x && typeof x === "object" && !Array.isArray(x) ? stripDirectives(x) : x))
      : v;
  }
  return out;
}

function isDryRun(q: URLSearchParams): boolean {
  return q.getAll("dryRun").includes("All");
}

// ------------------------------------------------------------------------ main handler
export async function handleRequest(
  ctx: RouteContext,
  user: User,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = new URL(req.url ?? "/", "https://x");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const q = url.searchParams;
  const method = req.method ?? "GET";

  // --- test-only endpoints
  if (path.startsWith("/_test/")) return handleTest(ctx, user, path, method, req, res);

  // --- non-resource endpoints
  if (method === "GET" || method === "HEAD") {
    switch (path) {
      case "/version":
        return sendJson(res, 200, VERSION);
      case "/healthz":
      case "/livez":
      case "/readyz":
        res.writeHead(200, { "Content-Type": "text/plain" });
        return res.end("ok");
      case "/api":
        return sendJson(res, 200, apiVersions(ctx.serverAddress));
      case "/apis":
        return sendJson(res, 200, apiGroupList(ctx.api.features));
      case "/openapi/v3":
        return sendJson(res, 200, openapiV3Index(ctx.api.features));
    }
    if (path.startsWith("/openapi/v3/")) {
      const doc = openapiV3Path(path.slice("/openapi/v3/".length), ctx.api.features);
      return doc ? sendJson(res, 200, doc) : sendError(res, notFound("openapi", path));
    }
    const parts = path.split("/").filter(Boolean);
    if (parts[0] === "api" && parts.length === 2) {
      const l = resourceList("", parts[1], ctx.api.features);
      return l
        ? sendJson(res, 200, l)
        : sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
    }
    if (parts[0] === "apis" && parts.length === 2) {
      const g = apiGroupDoc(parts[1], ctx.api.features);
      return g
        ? sendJson(res, 200, g)
        : sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
    }
    if (parts[0] === "apis" && parts.length === 3) {
      const l = resourceList(parts[1], parts[2], ctx.api.features);
      return l
        ? sendJson(res, 200, l)
        : sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
    }
  }

  const p = parseResourcePath(path, ctx.api.features);
  if (!p || p === "unknown") {
    throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  const verb = verbFor(method, p, q);
  const attrs: Attributes = {
    verb: p.subresource && ["exec", "attach", "portforward"].includes(p.subresource) ? "create" : verb,
    group: p.def.group,
    resource: p.def.name,
    subresource: p.subresource,
    namespace: p.namespace,
    name: p.name,
  };
  ctx.auth.authorize(user, attrs);

  if (p.def.virtual) return handleReview(ctx, user, p, method, req, res);
  // workload kinds are served without their controllers: reads only (the seed creates them)
  if (p.def.readOnly && !["get", "list", "watch"].includes(verb)) throw methodNotAllowed();

  const { def, subresource } = p;
  const ns = p.namespace ?? "";
  if (def.namespaced && p.name && p.namespace === undefined) {
    throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  }

  if (subresource) {
    if (def.name === "pods" && subresource === "log" && method === "GET") {
      const pod = ctx.api.get(def, ns, p.name!);
      const rt = ctx.runtime();
      if (!rt) throw new ApiError(503, "ServiceUnavailable", "no runtime");
      if (ctx.faultState.streamsDropped) {
        throw new ApiError(503, "ServiceUnavailable", "streams are dropped (fault injection)");
      }
      const sctx: StreamContext = {
        namespace: ns,
        pod: pod as StreamContext["pod"],
        query: q,
        user: user.name,
      };
      rt.handleLogs(req, res, sctx);
      return;
    }
    if (def.name === "pods" && ["exec", "attach", "portforward"].includes(subresource)) {
      ctx.api.get(def, ns, p.name!);
      throw badRequest("Upgrade request required");
    }
    if (def.name === "statefulsets" && subresource === "scale") {
      if (method === "GET") return sendJson(res, 200, scaleOf(ctx.api.get(def, ns, p.name!)));
      if (method !== "PATCH" && method !== "PUT") throw methodNotAllowed();
      const raw = await readBody(req);
      const cur = scaleOf(ctx.api.get(def, ns, p.name!));
      const next = method === "PUT"
        ? parseBody(raw, req.headers["content-type"] ?? "") as Obj
        : applyPatch(cur, patchType(req), raw);
      const replicas = next?.spec?.replicas;
      if (typeof replicas !== "number") throw badRequest("spec.replicas: Required value");
      const o = ctx.api.patch(def, ns, p.name!, "merge", JSON.stringify({ spec: { replicas } }), {
        dryRun: isDryRun(q),
      });
      return sendJson(res, 200, scaleOf(o));
    }
    if (def.name === "pods" && subresource === "eviction") {
      if (method !== "POST") throw methodNotAllowed();
      const body = parseBody(await readBody(req), req.headers["content-type"] ?? "");
      return sendJson(res, 201, await ctx.api.evict(ns, p.name!, body));
    }
    if (subresource === "status") {
      if (method === "GET") return sendJson(res, 200, ctx.api.get(def, ns, p.name!));
      const raw = await readBody(req);
      if (method === "PUT") {
        return sendJson(
          res,
          200,
          ctx.api.update(def, ns, p.name!, parseBody(raw, req.headers["content-type"] ?? ""), {
            subresource,
            dryRun: isDryRun(q),
          }),
        );
      }
      if (method === "PATCH") {
        return sendJson(
          res,
          200,
          ctx.api.patch(def, ns, p.name!, patchType(req), raw, { subresource, dryRun: isDryRun(q) }),
        );
      }
      throw methodNotAllowed();
    }
    throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  }

  switch (verb) {
    case "get": {
      const o = ctx.api.get(def, ns, p.name!);
      if (wantsTable(req)) {
        return sendJson(
          res,
          200,
          toTable(def.name, [o], { include: includeObject(q), resourceVersion: o.metadata.resourceVersion }),
        );
      }
      return sendJson(res, 200, o);
    }
    case "list": {
      const r = ctx.api.list(def, p.namespace, listOptions(q, def));
      if (wantsTable(req)) {
        return sendJson(
          res,
          200,
          toTable(def.name, r.items, {
            include: includeObject(q),
            resourceVersion: r.resourceVersion,
            continue: r.continue,
            remaining: r.remaining,
          }),
        );
      }
      const metadata: Obj = { resourceVersion: r.resourceVersion };
      if (r.continue) {
        metadata.continue = r.continue;
        metadata.remainingItemCount = r.remaining;
      }
      return sendJson(res, 200, {
        kind: `${def.kind}List`,
        apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
        metadata,
        items: r.items,
      });
    }
    case "watch":
      return handleWatch(ctx, p, q, req, res);
    case "create": {
      const body = await readObject(req, def);
      checkFields(res, q, def, body);
      if (isRbac(def)) {
        // the registry's escalation check runs on the object as it would be stored (validated first)
        ctx.auth.confirmNoEscalation(user, def.name, ns, ctx.api.create(def, ns, body, { dryRun: true }));
      }
      const o = ctx.api.create(def, ns, body, { dryRun: isDryRun(q) });
      return sendJson(res, 201, o);
    }
    case "update": {
      const body = parseBody(await readBody(req), req.headers["content-type"] ?? "");
      checkFields(res, q, def, body);
      if (isRbac(def)) {
        ctx.auth.confirmNoEscalation(
          user,
          def.name,
          ns,
          ctx.api.update(def, ns, p.name!, body, { dryRun: true }),
        );
      }
      return sendJson(res, 200, ctx.api.update(def, ns, p.name!, body, { dryRun: isDryRun(q) }));
    }
    case "patch": {
      const raw = await readBody(req);
      const type = patchType(req);
      if (type === "merge" || type === "strategic") {
        try {
          checkFields(res, q, def, JSON.parse(raw));
        } catch (e) {
          if (e instanceof ApiError) throw e; // malformed JSON is reported by the patch itself
        }
      }
      const existed = ctx.api.store.has(def.name, def.namespaced ? ns : "", p.name!);
      if (isRbac(def)) {
        ctx.auth.confirmNoEscalation(
          user,
          def.name,
          ns,
          ctx.api.patch(def, ns, p.name!, type, raw, { dryRun: true }),
        );
      }
      const o = ctx.api.patch(def, ns, p.name!, type, raw, { dryRun: isDryRun(q) });
      return sendJson(res, type === "apply" && !existed ? 201 : 200, o);
    }
    case "delete": {
      const opts = await deleteOptions(req, q);
      jobDeleteWarning(res, def, opts);
      const o = await ctx.api.delete(def, ns, p.name!, opts);
      return sendJson(res, 200, o);
    }
    case "deletecollection": {
      const opts = await deleteOptions(req, q);
      jobDeleteWarning(res, def, opts);
      return sendJson(res, 200, await ctx.api.deleteCollection(def, p.namespace, listOptions(q, def), opts));
    }
  }
  throw methodNotAllowed();
}

const isRbac = (def: ResourceDef) => def.group === RBAC_GROUP;

function patchType(req: IncomingMessage): PatchType {
  const ct = (req.headers["content-type"] ?? "").split(";")[0].trim();
  switch (ct) {
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/json-patch+json":
      return "json";
    case "application/apply-patch+yaml":
    case "application/apply-patch+cbor":
      return "apply";
  }
  throw new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
  );
}

function applyPatch(o: Obj, type: PatchType, raw: string): Obj {
  let patch: unknown;
  try {
    patch = JSON.parse(raw);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  return type === "json"
    ? jsonPatch(o, patch)
    : type === "merge"
    ? mergePatch(o, patch)
    : strategicMergePatch(o, patch);
}

/** The autoscaling/v1 Scale of a StatefulSet (its scale subresource). */
function scaleOf(o: Obj): Obj {
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: { replicas: o.status?.replicas ?? 0, selector: formatLabelSelector(o.spec?.selector) },
  };
}

/**
 * kube-apiserver warns on a batch/v1 Job delete without a propagationPolicy: the default orphans its pods
 * (pkg/registry/batch/job/storage: deleteOptionWarnings).
 */
function jobDeleteWarning(res: ServerResponse, def: { name: string }, opts: DeleteOptions) {
  if (def.name !== "jobs" || opts.propagationPolicy) return;
  res.setHeader(
    "Warning",
    `299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"`,
  );
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const raw = await readBody(req);
  const body = (raw.trim() ? parseBody(raw, req.headers["content-type"] ?? "") : {}) as Obj;
  const g = q.get("gracePeriodSeconds") ?? body?.gracePeriodSeconds;
  return {
    gracePeriodSeconds: g === undefined || g === null ? undefined : Number(g),
    propagationPolicy: q.get("propagationPolicy") ?? body?.propagationPolicy,
    preconditions: body?.preconditions,
    dryRun: isDryRun(q) || (Array.isArray(body?.dryRun) && body.dryRun.includes("All")),
  };
}

function handleWatch(
  ctx: RouteContext,
  p: ResourcePath,
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const { def } = p;
  const opts = { ...listOptions(q, def), resourceVersion: q.get("resourceVersion") ?? undefined };
  if (p.name) opts.fields = [...(opts.fields ?? []), { field: "metadata.name", op: "=", value: p.name }];
  const table = wantsTable(req);
  const include = includeObject(q);
  let first = true;
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(200, {
      "Content-Type": table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json",
      "Transfer-Encoding": "chunked",
      "Cache-Control": "no-cache, private",
    });
  };
  const send = (type: string, obj: Obj) => {
    if (res.writableEnded || res.destroyed) return;
    start();
    const object = table ? toTable(def.name, [obj], { include, noColumns: !first }) : obj;
    first = false;
    res.write(JSON.stringify({ type, object }) + "\n");
  };
  let unsub: () => void;
  try {
    unsub = ctx.api.watch(def, p.namespace, opts, send);
  } catch (e) {
    if (e instanceof ApiError && e.code === 410) {
      // Real servers report an expired RV as an ERROR event on an open stream.
      start();
      res.end(JSON.stringify({ type: "ERROR", object: e.toStatus() }) + "\n");
      return;
    }
    throw e;
  }
  start();
  // flush headers so clients see the stream open even with no events yet
  (res as unknown as { flushHeaders?: () => void }).flushHeaders?.();
  const timeout = Number(q.get("timeoutSeconds") ?? 0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const close = () => {
    unsub();
    if (timer !== undefined) clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  if (timeout > 0) timer = setTimeout(close, timeout * 1000);
  req.on("close", close);
  res.on("close", close);
}

async function handleReview(
  ctx: RouteContext,
  user: User,
  p: ResourcePath,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
) {
  if (method !== "POST") throw methodNotAllowed();
  const ct = req.headers["content-type"] ?? "";
  let body: Obj;
  if (ct.includes("protobuf")) {
    try {
      body = decodeReview(p.def.name as "selfsubjectaccessreviews", await readRaw(req));
    } catch (e) {
      throw badRequest(`the body of the request could not be decoded: ${(e as Error).message}`);
    }
  } else body = (parseBody(await readBody(req), ct) ?? {}) as Obj;
  const spec = body.spec ?? {};
  if (p.def.name === "selfsubjectreviews") {
    // as kube-apiserver answers it: the authenticated user, never the request's own claims
    return sendJson(res, 201, {
      kind: "SelfSubjectReview",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { creationTimestamp: null },
      status: {
        userInfo: { username: user.name, groups: [...new Set([...user.groups, "system:authenticated"])] },
      },
    });
  }
  if (p.def.name === "selfsubjectaccessreviews") {
    let allowed: boolean;
    const ra = spec.resourceAttributes;
    if (ra) {
      allowed = ctx.auth.allowed(user, {
        verb: ra.verb ?? "",
        group: ra.group ?? "",
        resource: ra.resource ?? "",
        subresource: ra.subresource || undefined,
        namespace: ra.namespace || undefined,
        name: ra.name || undefined,
      });
    } else {
      allowed = true; // non-resource URLs (discovery, /version) are open to authenticated users
      if (spec.nonResourceAttributes?.path?.startsWith("/_test")) {
        allowed = ctx.auth.allowed(user, { verb: "*", group: "", resource: "*" });
      }
    }
    return sendJson(res, 201, {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec,
      status: allowed
        ? {
          allowed: true,
          reason: user.groups.includes("system:masters")
            ? ""
            : `RBAC: allowed by RoleBinding "${user.name}/${spec.resourceAttributes?.namespace ?? ""}"`,
        }
        : { allowed: false },
    });
  }
  return sendJson(res, 201, {
    kind: "SelfSubjectRulesReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: ctx.auth.rules(user, spec.namespace ?? "default"),
  });
}

async function handleTest(
  ctx: RouteContext,
  user: User,
  path: string,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
) {
  if (!user.groups.includes("system:masters")) {
    throw new ApiError(
      403,
      "Forbidden",
      `forbidden: User "${user.name}" cannot ${method.toLowerCase()} path "${path}"`,
    );
  }
  if (path === "/_test/faults" && method === "POST") {
    const body = (parseBody(await readBody(req), "application/json") ?? {}) as Record<string, unknown>;
    try {
      const msg = await applyFaultRequest(ctx.faults, body);
      return sendJson(res, 200, { ok: true, message: msg });
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  }
  if (path === "/_test/requests" && method === "GET") {
    return sendJson(res, 200, { requests: ctx.requestLog() });
  }
  if (path === "/_test/pids" && method === "GET") {
    return sendJson(res, 200, { pids: ctx.runtime()?.pids() ?? [], stateDir: ctx.api.stateDir });
  }
  throw new ApiError(404, "NotFound", "the server could not find the requested resource");
}
