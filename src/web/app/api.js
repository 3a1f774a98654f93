// The page's side of the API (src/web/api.ts): JSON requests with the page's credential, the event
// streams, and WebSocket URLs with a one-time ticket.
//
// No cookie (docs/security.md "The web UI's credential"): the page opened with the token printed by
// `kodama ui` carries a session credential and a CSRF token of its own; they are kept in this tab's
// sessionStorage (per origin: another port of 127.0.0.1 never sees them) and sent in headers by this
// script only — never by the browser on its own, to kodama's port-forwards or any other local listener.

const KEY = "kodama-ui";
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") ?? "";
if (meta("kodama-session")) {
  sessionStorage.setItem(KEY, JSON.stringify({ session: meta("kodama-session"), csrf: meta("csrf-token") }));
}
// the token leaves the address bar and the history entry
if (new URLSearchParams(location.search).has("token")) {
  history.replaceState(null, "", location.pathname + location.hash);
}
const auth = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "null");
  } catch {
    return null;
  }
})();
const NO_AUTH = "open the URL `kodama ui` printed (it carries the token)";
if (!auth) {
  // a tab opened without the token (a new tab, a bookmark): say how to get in
  const note = document.createElement("div");
  note.id = "no-credential";
  note.setAttribute("style", "padding:12px 20px;background:#5a1d1d;color:#fff;font:14px system-ui");
  note.textContent = `This tab holds no kodama credential: ${NO_AUTH}.`;
  document.body.prepend(note);
}

function headers(method) {
  if (!auth) return {};
  return {
    authorization: `Bearer ${auth.session}`,
    ...(method !== "GET" ? { "x-csrf-token": auth.csrf } : {}),
  };
}

export class ApiError extends Error {
  constructor(message, hint, status, data) {
    super(message);
    this.hint = hint;
    this.status = status;
    this.data = data;
  }
}

export async function call(method, path, body) {
  if (!auth) throw new ApiError(NO_AUTH, undefined, 401, {});
  const res = await fetch(path, {
    method,
    headers: {
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers(method),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    credentials: "omit",
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

/**
 * Listen to a server-sent event stream (read with fetch, which can send the credential header; an
 * EventSource cannot), reconnecting after 2 s as an EventSource would; `open` and `error` as its events.
 * Returns a function that closes it.
 */
export function listen(path, handlers) {
  const ac = new AbortController();
  let closed = false;
  const dispatch = (block) => {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    const fn = handlers[event];
    if (fn && event !== "open" && event !== "error" && data.length) fn(JSON.parse(data.join("\n")));
  };
  (async () => {
    while (!closed) {
      try {
        if (!auth) throw new Error(NO_AUTH);
        const res = await fetch(path, {
          headers: { accept: "text/event-stream", ...headers("GET") },
          credentials: "omit",
          cache: "no-store",
          signal: ac.signal,
        });
        if (!res.ok || !res.body) throw new Error(`${res.status} ${res.statusText}`);
        handlers.open?.();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        while (!closed) {
          const { done, value } = await reader.read();
          if (done) break;
          buf += value.replaceAll("\r\n", "\n");
          let i;
          while (!closed && (i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            dispatch(block);
          }
        }
      } catch {
        // dropped, refused or closed: said through `error`, then tried again
      }
      if (closed) return;
      handlers.error?.();
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return () => {
    closed = true;
    ac.abort();
  };
}

/**
 * A WebSocket URL on this server with a one-time ticket (a WebSocket cannot carry the credential header):
 * asked for with the header, good once, for 30 s.
 */
export async function wsUrl(path) {
  const { ticket } = await post("/api/ticket");
  const sep = path.includes("?") ? "&" : "?";
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}${sep}ticket=${ticket}`;
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
