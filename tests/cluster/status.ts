/** Kubernetes `Status` objects and the error type the API half throws to produce them. */

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: {
      name?: string;
      group?: string;
      kind?: string;
      causes?: StatusCause[];
      retryAfterSeconds?: number;
    },
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return statusObject(this.code, this.reason, this.message, this.details);
  }
}

export function statusObject(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): Record<string, unknown> {
  const s: Record<string, unknown> = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: code < 400 ? "Success" : "Failure",
    message,
    reason,
  };
  if (details) s.details = details;
  s.code = code;
  return s;
}

/** The reason Kubernetes uses for a bare HTTP status code. */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "Unknown";
  }
}

export const notFound = (resource: string, name: string, group = "") =>
  new ApiError(404, "NotFound", `${resource}${group ? "." + group : ""} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });

export const alreadyExists = (resource: string, name: string) =>
  new ApiError(409, "AlreadyExists", `${resource} "${name}" already exists`, { name, kind: resource });

export const conflict = (resource: string, name: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: resource },
  );

export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);

export const methodNotAllowed = () =>
  new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");

export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized");

/** A 422 Invalid status in the shape `Kind "name" is invalid: field: Invalid value: ...`. */
export function invalid(kind: string, name: string, causes: StatusCause[], group?: string): ApiError {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const msg = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  // kube-apiserver names a kind of a group by its qualified name: `Job.batch "x" is invalid`
  const qualified = group ? `${kind}.${group}` : kind;
  return new ApiError(422, "Invalid", `${qualified} "${name}" is invalid: ${msg}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes,
  });
}
