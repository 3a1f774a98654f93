// The page's side of the API (src/web/api.ts): JSON requests with the CSRF token, and the event stream.

const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

export class ApiError extends Error {
  constructor(message, hint, status, data) {
    super(message);
    this.hint = hint;
    this.status = status;
    this.data = data;
  }
}

export async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: {
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(method !== "GET" ? { "x-csrf-token": csrf } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text.trim() };
  }
  if (!res.ok) {
    throw new ApiError(data.error ?? `${res.status} ${res.statusText}`, data.hint, res.status, data);
  }
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);

/** Listen to a server-sent event stream; returns a function that closes it. */
export function listen(path, handlers) {
  const es = new EventSource(path);
  for (const [event, fn] of Object.entries(handlers)) {
    if (event === "open" || event === "error") es.addEventListener(event, fn);
    else es.addEventListener(event, (e) => fn(JSON.parse(e.data)));
  }
  return () => es.close();
}

/** A WebSocket URL on this server (same origin, so the cookie and Origin are the page's). */
export function wsUrl(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

export function age(iso, now = Date.now()) {
  if (!iso) return "";
  // `now` ticks every few seconds: a row drawn between ticks uses the clock, never an older instant
  const s = Math.max(0, Math.floor((Math.max(now, Date.now()) - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  return `${Math.floor(h / 24)}d`;
}
