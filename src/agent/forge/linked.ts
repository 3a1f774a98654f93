/**
 * The section of a request's description that lists the other requests of the same session (a session with
 * several repositories opens one per repository: prrepos.ts), pure. A reviewer of one sees the set: each
 * other one's repository directory, forge, path, number and URL. The section sits between two HTML comments
 * (invisible on the forge), so a later `session pr` replaces it in place — in a description it wrote afresh,
 * or in one it only re-links (another repository's request, left as it is but for this section).
 *
 * Every text from the forge or the session is escaped (no Markdown, HTML or mention gets through), a URL is
 * shown only when it is http(s), without credentials, as an autolink (its `<`, `>` and spaces are
 * percent-encoded by the URL parser), and the list is bounded.
 */
import type { ForgeType } from "./forgeurl.ts";

/** One request of the session, as another request's description lists it. */
export interface LinkedRequest {
  /** the repository's directory in the workspace (`api`) */
  repository: string;
  forge: ForgeType;
  /** the forge's host (`github.com`, `127.0.0.1:8080`) */
  host: string;
  /** `owner/repo`, or GitLab's `group/sub/project` */
  path: string;
  number: number;
  url: string;
}

export const LINKED_START = "<!-- kodama:linked-requests -->";
export const LINKED_END = "<!-- /kodama:linked-requests -->";
/** At most this many others are listed (then a count of the rest). */
export const LINKED_MAX = 32;

const FORGE_NAME: Record<ForgeType, string> = { github: "GitHub", gitlab: "GitLab", gitea: "Gitea" };

const plain = (s: string) =>
  // deno-lint-ignore no-control-regex
  s.replace(/[\x00-\x1f\x7f]/g, " ").replace(/[\\`*_{}[\]<>()#+!|~@&]/g, (c) => `\\${c}`).trim()
    .slice(0, 200);

/** The URL as an autolink, or "" when it is not an http(s) URL; never with credentials. */
export function safeUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "";
  u.username = "";
  u.password = "";
  const href = u.href;
  // the parser percent-encodes spaces, quotes and angle brackets in path, query and fragment
  return /[\s<>]/.test(href) || href.length > 500 ? "" : `<${href}>`;
}

/** `pull request #3`, `merge request !3`: how the forge names it. */
export const requestWord = (forge: ForgeType, n: number) =>
  forge === "gitlab" ? `merge request !${n}` : `pull request #${n}`;

/** One line of the list. */
function line(r: LinkedRequest): string {
  const url = safeUrl(r.url);
  return `- **${plain(r.repository)}**: ${FORGE_NAME[r.forge]} ${requestWord(r.forge, r.number)} of ` +
    `${plain(r.path)} on ${plain(r.host)}${url ? ` — ${url}` : ""}`;
}

/**
 * The section listing `others` (the session's requests but this one), in repository order; "" when there
 * are none.
 */
export function linkedSection(session: string, others: LinkedRequest[]): string {
  if (!others.length) return "";
  const sorted = [...others].sort((a, b) => a.repository.localeCompare(b.repository));
  const shown = sorted.slice(0, LINKED_MAX);
  return [
    LINKED_START,
    "### The session's other requests",
    "",
    `kodama session **${plain(session)}** changed several repositories; each has its own request. ` +
    "Review them together:",
    "",
    ...shown.map(line),
    ...(sorted.length > shown.length ? [`- … and ${sorted.length - shown.length} more`] : []),
    LINKED_END,
  ].join("\n");
}

/** The footer prBody ends with: the section goes before it. */
const FOOTER = "<sub>Opened by `kodama session pr ";

/**
 * The description with its linked section replaced by `section` (removed when ""): in place when it has
 * one, else before kodama's footer, else at the end. A start marker without an end after it (a description
 * cut or edited) is left alone and the section added anew; of several, the pair nearest each other.
 */
export function withLinked(body: string, section: string): string {
  const [s, e] = span(body);
  if (s >= 0) {
    const before = body.slice(0, s).replace(/\n+$/, "");
    const after = body.slice(e + LINKED_END.length).replace(/^\n+/, "");
    return [before, section, after].filter(Boolean).join("\n\n");
  }
  if (!section) return body;
  const f = body.lastIndexOf(FOOTER);
  if (f >= 0) {
    return [body.slice(0, f).replace(/\n+$/, ""), section, body.slice(f)].filter(Boolean).join("\n\n");
  }
  return body ? `${body.replace(/\n+$/, "")}\n\n${section}` : section;
}

/** The section a description holds now ("" when none): to tell whether it must be re-linked. */
export function currentSection(body: string): string {
  const [s, e] = span(body);
  return s >= 0 ? body.slice(s, e + LINKED_END.length) : "";
}

/** Where the section is: the first end marker and the last start marker before it; [-1, -1] when none. */
function span(body: string): [number, number] {
  const e = body.indexOf(LINKED_END);
  const s = e >= 0 ? body.lastIndexOf(LINKED_START, e) : -1;
  return s >= 0 ? [s, e] : [-1, -1];
}
