/**
 * git's files read as data, for door git (src/session/git/doorgit.ts): where a repository found from a
 * directory keeps its git directory, its refs (loose files, `packed-refs`, HEAD), its reflog lines, and
 * which repository formats kodama understands. Pure: no git runs, nothing is executed, unit tested.
 */

/** A full object id: SHA-1 or SHA-256, lowercase hex. */
export const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A ref file's text: an object id, or a symbolic ref (`ref: refs/heads/main`); undefined when neither. */
export function parseRefFile(text: string): { oid: string } | { symref: string } | undefined {
  const line = text.split("\n")[0].replace(/\r$/, "").trim();
  if (OID.test(line)) return { oid: line };
  const m = /^ref:\s*(refs\/\S+)$/.exec(line);
  return m ? { symref: m[1] } : undefined;
}

/** `packed-refs`: ref -> object id (peeled `^` lines and the header skipped; a bad line is ignored). */
export function parsePackedRefs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!line || line.startsWith("#") || line.startsWith("^")) continue;
    const sp = line.indexOf(" ");
    const oid = line.slice(0, sp), ref = line.slice(sp + 1);
    if (sp > 0 && OID.test(oid) && ref.startsWith("refs/")) out.set(ref, oid);
  }
  return out;
}

/** The last line of a reflog: its new value and message (`<old> <new> <who> <when> <tz>\t<msg>`). */
export function lastReflog(text: string): { oid: string; message: string } | undefined {
  const lines = text.split("\n").filter((l) => l.trim());
  const last = lines[lines.length - 1];
  if (!last) return undefined;
  const m = /^[0-9a-f]+ ([0-9a-f]+) [^\t]*\t?(.*)$/.exec(last);
  return m && OID.test(m[1]) ? { oid: m[1], message: m[2] } : undefined;
}

/** A reflog line, as git writes it. */
export function reflogLine(old: string, now: string, who: string, when: Date, message: string): string {
  const zero = "0".repeat(now.length);
  const secs = Math.floor(when.getTime() / 1000);
  return `${old || zero} ${now} ${who} ${secs} +0000\t${message.replace(/[\r\n]+/g, " ")}\n`;
}

/**
 * The few values of a repository's `config` file that describe its format, read as data (no include is
 * followed: git reads its format from this one file too): section.key (lower case; a subsection keeps its
 * case: `branch.Main.remote`) -> last value. Only plain `key = value` lines are understood.
 */
export function configValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "").trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (sec) {
      section = sec[1].toLowerCase() + (sec[2] !== undefined ? `.${sec[2].replace(/\\(.)/g, "$1")}` : "");
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!kv || !section) continue;
    let v = (kv[2] ?? "true").replace(/\s+[#;].*$/, "").trim();
    if (/^".*"$/.test(v)) v = v.slice(1, -1);
    out.set(`${section}.${kv[1].toLowerCase()}`, v);
  }
  return out;
}

/** The repository formats kodama's own reading of refs and objects understands: an allow-list. */
const KNOWN_EXTENSIONS: Record<string, (v: string) => boolean> = {
  objectformat: (v) => /^(sha1|sha256)$/i.test(v),
  worktreeconfig: () => true, // config.worktree: door git reads no repository config at all
  preciousobjects: () => true, // kodama never prunes
  noop: () => true,
};

/**
 * Why kodama cannot read this repository's refs itself (its config as data), or undefined: a format
 * version above 1, or an extension not in the allow-list (`refStorage = reftable`, whatever a future git
 * adds) refuses. Returns the object format too.
 */
export function formatProblem(cfg: Map<string, string>): { problem?: string; objectFormat: string } {
  const version = cfg.get("core.repositoryformatversion") ?? "0";
  const objectFormat = (cfg.get("extensions.objectformat") ?? "sha1").toLowerCase();
  if (!/^[01]$/.test(version)) return { problem: `repository format version ${version}`, objectFormat };
  for (const [k, v] of cfg) {
    if (!k.startsWith("extensions.")) continue;
    const name = k.slice("extensions.".length);
    const ok = KNOWN_EXTENSIONS[name];
    if (!ok || !ok(v)) return { problem: `extensions.${name} = ${v}`, objectFormat };
  }
  return { objectFormat };
}
