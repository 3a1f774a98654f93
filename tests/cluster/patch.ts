/** JSON merge patch (RFC 7386), strategic merge patch (the subset kubectl uses) and JSON patch (RFC 6902). */
import { ApiError, badRequest } from "./status.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const isObj = (v: unknown): v is Record<string, Json> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Merge keys of lists that strategic merge patch merges by key (from the Kubernetes Go types).
 * Keyed by the field name; good enough for the core/v1 objects this server serves.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  ports: "containerPort",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  volumes: "name",
  imagePullSecrets: "name",
  ownerReferences: "uid",
  conditions: "type",
  hostAliases: "ip",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
  containerStatuses: "name",
  initContainerStatuses: "name",
  podIPs: "ip",
  secrets: "name",
};
/** Lists of primitives merged as sets. */
const SET_LISTS = new Set(["finalizers"]);

function mergeKeyFor(field: string, list: Json[], path: string[]): string | undefined {
  if (field === "ports") {
    // Service ports merge by port, container ports by containerPort.
    const sample = list.find(isObj);
    if (sample && "port" in sample && !("containerPort" in sample)) return "port";
    if (
      path.includes("spec") && !path.includes("containers") && !path.includes("initContainers") &&
      sample?.port
    ) {
      return "port";
    }
  }
  return MERGE_KEYS[field];
}

export function strategicMergePatch(target: Json, patch: Json, path: string[] = []): Json {
  if (!isObj(patch)) return clone(patch);
  if (patch["$patch"] === "replace") {
    const p = { ...patch };
    delete p["$patch"];
    return stripDirectives(p);
  }
  if (patch["$patch"] === "delete") return undefined;
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  const retain = Array.isArray(patch["$retainKeys"]) ? new Set<string>(patch["$retainKeys"]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$setElementOrder/") || k === "$retainKeys" || k === "$patch") continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      if (Array.isArray(out[field]) && Array.isArray(v)) {
        out[field] = out[field].filter((x: Json) => !v.includes(x));
      }
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const cur = out[k];
    if (Array.isArray(v)) {
      const key = mergeKeyFor(k, [...(Array.isArray(cur) ? cur : []), ...v], [...path, k]);
      if (key && Array.isArray(cur)) out[k] = mergeList(cur, v, key, [...path, k]);
      else if (SET_LISTS.has(k) && Array.isArray(cur)) {
        out[k] = [
          ...cur,
          ...v.filter((x: Json) => !cur.includes(x)),
        ];
      } else out[k] = stripDirectives(v.filter((x: Json) => !(isObj(x) && x["$patch"] === "delete")));
    } else if (isObj(v)) {
      const r = strategicMergePatch(cur, v, [...path, k]);
      if (r === undefined) delete out[k];
      else out[k] = r;
    } else {
      out[k] = v;
    }
  }
  if (retain) { for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k]; }
  return out;
}

function mergeList(cur: Json[], patch: Json[], key: string, path: string[]): Json[] {
  if (patch.some((p) => isObj(p) && p["$patch"] === "replace")) {
    return stripDirectives(patch.filter((p) => !(isObj(p) && p["$patch"] === "replace")));
  }
  const out = cur.map(clone);
  for (const p of patch) {
    if (!isObj(p)) continue;
    const idx = out.findIndex((e) => isObj(e) && e[key] === p[key]);
    if (p["$patch"] === "delete") {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], p, path);
    else out.push(stripDirectives(p));
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(x);
  return out;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`invalid JSON pointer "${path}"`);
  return path.slice(1).split("/").map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function parentOf(doc: Json, parts: string[], op: string): [Json, string] {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (cur === undefined) {
      throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request`, {
        causes: [{
          reason: "FieldValueInvalid",
          message: `${op} operation does not apply: doc is missing path: "/${
            parts.join("/")
          }": missing value`,
          field: "",
        }],
      });
    }
  }
  return [cur, parts[parts.length - 1]];
}

function getAt(doc: Json, parts: string[]): Json {
  let cur = doc;
  for (const p of parts) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest("json patch must be a JSON array of operations");
  let out = clone(doc);
  const missing = (op: string, path: string): never => {
    throw new ApiError(
      500,
      "InternalError",
      `${op} operation does not apply: doc is missing path: "${path}": missing value`,
    );
  };
  for (const op of ops) {
    const parts = pointer(op.path ?? "");
    switch (op.op) {
      case "add":
      case "replace": {
        if (parts.length === 0) {
          out = clone(op.value);
          break;
        }
        const [parent, last] = parentOf(out, parts, op.op);
        if (Array.isArray(parent)) {
          const i = last === "-" ? parent.length : Number(last);
          if (op.op === "add") parent.splice(i, 0, clone(op.value));
          else {
            if (i >= parent.length) missing(op.op, op.path);
            parent[i] = clone(op.value);
          }
        } else if (isObj(parent)) {
          if (op.op === "replace" && !(last in parent)) missing(op.op, op.path);
          parent[last] = clone(op.value);
        } else missing(op.op, op.path);
        break;
      }
      case "remove": {
        const [parent, last] = parentOf(out, parts, op.op);
        if (Array.isArray(parent) && Number(last) < parent.length) parent.splice(Number(last), 1);
        else if (isObj(parent) && last in parent) delete parent[last];
        else missing(op.op, op.path);
        break;
      }
      case "move":
      case "copy": {
        const from = pointer(op.from ?? "");
        const val = clone(getAt(out, from));
        if (val === undefined) missing(op.op, op.from);
        if (op.op === "move") out = jsonPatch(out, [{ op: "remove", path: op.from }]);
        out = jsonPatch(out, [{ op: "add", path: op.path, value: val }]);
        break;
      }
      case "test": {
        if (JSON.stringify(getAt(out, parts)) !== JSON.stringify(op.value)) {
          throw new ApiError(500, "InternalError", `testing value ${op.path} failed: test failed`);
        }
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
}
