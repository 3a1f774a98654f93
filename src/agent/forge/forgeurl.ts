/**
 * Which forge a remote URL is on, and where its REST API is: pure. The remote's URL (https, http, ssh://
 * and the scp form `git@host:owner/repo.git`) names the host and the repository; the host says the forge
 * (github.com and hosts named github*, gitlab*, gitea*, forgejo*, codeberg.org), and the user's config
 * (`forge.hosts.<host>: {type, apiUrl}`, ~/.kodama/config.yaml only) says it for any other host and moves
 * its API. GitHub: api.github.com, or https://HOST/api/v3 (Enterprise Server); GitLab: https://HOST/api/v4
 * (a project by its URL-encoded path, subgroups included); Gitea and Forgejo: https://HOST/api/v1. An
 * http:// remote keeps http for its API (a forge on a private network); ssh's port is never the API's.
 */
import { usageError } from "../../base/errors.ts";
import { safeLine } from "../../ui/color.ts";

export const FORGE_TYPES = ["github", "gitlab", "gitea"] as const;
export type ForgeType = typeof FORGE_TYPES[number];

/** `forge.hosts.<host>` of the user's config. */
export interface ForgeHostConfig {
  type?: ForgeType;
  apiUrl?: string;
}

export interface ForgeRepo {
  type: ForgeType;
  /** the host as the URL names it (with a port for http and https) */
  host: string;
  /** the REST API's base, without a trailing slash */
  apiUrl: string;
  /** `owner/repo`, or GitLab's `group/sub/project` */
  path: string;
  /** everything of the path but its last part (GitLab: the namespace) */
  owner: string;
  repo: string;
  /** the repository's page, for messages: `https://host/owner/repo` (never a credential) */
  webUrl: string;
}

/** The parts of a remote URL kodama uses; `scheme` is how git reaches it. */
export interface RemoteParts {
  scheme: "https" | "http" | "ssh";
  /** hostname, lower case */
  hostname: string;
  /** the port an http(s) URL names ("" otherwise) */
  port: string;
  /** the repository's path, without leading or trailing slashes or `.git` */
  path: string;
}

/** The remote URL without a user or password (a URL may hold a token: never shown). */
export function displayRemote(url: string): string {
  return safeLine(url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1"));
}

const cleanPath = (p: string) => p.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\.git$/, "");

/** A remote URL's scheme, host and path; undefined when it is not one a forge serves (a path, file://, git://). */
export function remoteParts(url: string): RemoteParts | undefined {
  const u = url.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(u);
  if (m) {
    const scheme = m[1].toLowerCase();
    const want = scheme === "https" || scheme === "http"
      ? scheme
      : scheme === "ssh" || scheme === "git+ssh"
      ? "ssh"
      : undefined;
    if (!want) return undefined;
    let p: URL;
    try {
      p = new URL(want === "ssh" ? u.replace(/^[^:]+:/, "http:") : u);
    } catch {
      return undefined;
    }
    const path = cleanPath(decodeURIComponent(p.pathname));
    if (!p.hostname || !path) return undefined;
    return { scheme: want, hostname: p.hostname.toLowerCase(), port: want === "ssh" ? "" : p.port, path };
  }
  // scp form: [user@]host:path, the host without a slash before the colon (git's own rule)
  const scp = /^(?:[^@/:]+@)?([^/:@]+):(?!\/\/)(.+)$/.exec(u);
  if (scp && !/^[a-z]:[\\/]/i.test(u)) {
    const path = cleanPath(scp[2]);
    if (!path) return undefined;
    return { scheme: "ssh", hostname: scp[1].toLowerCase().replace(/^\[|\]$/g, ""), port: "", path };
  }
  return undefined;
}

/** The forge a hostname's name says, if it says one. */
export function forgeOfHost(hostname: string): ForgeType | undefined {
  const h = hostname.toLowerCase();
  if (h === "github.com" || /(^|[.-])github([.-]|$)/.test(h)) return "github";
  if (/(^|[.-])gitlab([.-]|$)/.test(h)) return "gitlab";
  if (h === "codeberg.org" || /(^|[.-])(gitea|forgejo)([.-]|$)/.test(h)) return "gitea";
  return undefined;
}

/**
 * The forge and repository of a remote URL, with the user's `forge.hosts` (keyed by `host:port` or `host`).
 * Exit 2 when the URL is not a forge's, the forge cannot be told, or the path is not a repository's.
 */
export function forgeOf(url: string, hosts: Record<string, ForgeHostConfig> = {}): ForgeRepo {
  const shown = displayRemote(url);
  const r = remoteParts(url);
  if (!r) {
    throw usageError(
      `session pr: the remote ${shown} is not on a forge (an https, http or ssh URL)`,
      "set the repository's remote to the forge's URL: git remote set-url origin https://HOST/OWNER/REPO.git",
    );
  }
  const host = r.port ? `${r.hostname}:${r.port}` : r.hostname;
  const set = hosts[host] ?? hosts[r.hostname] ?? {};
  const type = set.type ?? forgeOfHost(r.hostname);
  if (!type) {
    throw usageError(
      `session pr: cannot tell which forge ${host} is (GitHub, GitLab or Gitea)`,
      `say it in ~/.kodama/config.yaml: forge: {hosts: {"${host}": {type: gitlab}}} (github, gitlab or gitea)`,
    );
  }
  const parts = r.path.split("/").filter(Boolean);
  if (parts.length < 2 || (type !== "gitlab" && parts.length !== 2) || parts.some((p) => p === "..")) {
    throw usageError(
      `session pr: ${shown} does not name a repository on ${type === "gitlab" ? "GitLab" : type} ` +
        `(${type === "gitlab" ? "GROUP/PROJECT" : "OWNER/REPO"})`,
      "set the repository's remote to the forge's URL of the repository",
    );
  }
  const web = `${r.scheme === "http" ? "http" : "https"}://${r.scheme === "ssh" ? r.hostname : host}`;
  const apiUrl = (set.apiUrl ?? defaultApi(type, r.hostname, web)).replace(/\/+$/, "");
  return {
    type,
    host,
    apiUrl,
    path: parts.join("/"),
    owner: parts.slice(0, -1).join("/"),
    repo: parts[parts.length - 1],
    webUrl: `${web}/${parts.join("/")}`,
  };
}

/**
 * GitHub's GraphQL endpoint beside its REST API: `api.github.com/graphql`, an Enterprise Server's
 * `/api/graphql` (its REST API is `/api/v3`).
 */
export function graphqlUrl(apiUrl: string): string {
  return /\/api\/v3$/.test(apiUrl) ? apiUrl.replace(/\/v3$/, "/graphql") : `${apiUrl}/graphql`;
}

function defaultApi(type: ForgeType, hostname: string, web: string): string {
  if (type === "github") return hostname === "github.com" ? "https://api.github.com" : `${web}/api/v3`;
  return `${web}/api/${type === "gitlab" ? "v4" : "v1"}`;
}

/**
 * The environment variables a forge's token is read from, in order: gh's own for GitHub (GH_TOKEN, GITHUB_TOKEN;
 * on an Enterprise Server host GH_ENTERPRISE_TOKEN and GITHUB_ENTERPRISE_TOKEN first, as gh reads them).
 */
export function tokenVars(type: ForgeType, host = "github.com"): string[] {
  if (type === "github") {
    const dotcom = ["GH_TOKEN", "GITHUB_TOKEN"];
    return host === "github.com" ? dotcom : ["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", ...dotcom];
  }
  return type === "gitlab" ? ["GITLAB_TOKEN"] : ["GITEA_TOKEN", "FORGEJO_TOKEN"];
}
