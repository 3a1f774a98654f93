/**
 * Env files for a session: parsed with `dotenv` (its `parse` only), merged in order (the last file
 * wins), then filtered so nothing that would break the container or shadow what Kubernetes sets is
 * injected. Every dropped variable is reported by name; values never leave this module except as the
 * Secret's data. `filterEnv` is pure.
 */
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import { readTextBounded } from "../../base/fs/boundedread.ts";
import { readRepoFile } from "../../config/confine.ts";
import { isAbsolute, resolve } from "../../base/fs/fspath.ts";

/** The Secret limit of the API server (1 MiB of data). */
export const MAX_ENV_BYTES = 1024 * 1024;

const NAME_RE = /^[A-Z_][A-Z0-9_]*$/;

/** Variables the container's OS or shell owns; injecting them from a laptop's .env breaks the pod. */
export const SYSTEM_VARS = new Set([
  "PATH",
  "HOME",
  "SHELL",
  "USER",
  "LOGNAME",
  "HOSTNAME",
  "PWD",
  "OLDPWD",
  "SHLVL",
  "TERM",
  "TMPDIR",
  "IFS",
  "PS1",
  "PS2",
  "PS4",
  "MAIL",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "_",
]);

export type DropReason = "system" | "kubernetes" | "name" | "excluded";

export interface Dropped {
  name: string;
  reason: DropReason;
  /** the file it came from */
  file: string;
}

export interface EnvSource {
  /** a path as the user wrote it (for messages) */
  file: string;
  vars: Record<string, string>;
  /** lines that are not `NAME=value`, a comment or blank: `.env:3: ...` (warnings, not variables) */
  problems?: string[];
  /** who chose the file when it is not you (config/steering.ts): `the repository's env file ".env"` */
  from?: string;
  /** named on the command line (`--env-file`, a required file): over this environment (varsource.ts) */
  named?: boolean;
}

const ASSIGNMENT = /^\s*(?:export\s+)?[\w.-]+\s*(?:=|:\s|:$)/;

/**
 * The lines of an env file that are not an assignment, a comment, a blank line or the continuation of a
 * quoted multi-line value: `FILE:LINE: "FOO" is not NAME=value: ignored`. dotenv drops them silently.
 */
export function envFileProblems(text: string, file: string): string[] {
  const out: string[] = [];
  let open: string | undefined; // the quote of a multi-line value still open
  text.split(/\r?\n/).forEach((line, i) => {
    if (open) {
      if (line.includes(open)) open = undefined;
      return;
    }
    const t = line.trim();
    if (!t || t.startsWith("#")) return;
    const m = ASSIGNMENT.exec(line);
    if (!m) {
      const shown = JSON.stringify(t.length > 40 ? t.slice(0, 40) + "…" : t);
      out.push(`${file}:${i + 1}: ${shown} is not NAME=value: ignored`);
      return;
    }
    const value = line.slice(m[0].length).trimStart();
    const q = value[0];
    if ((q === '"' || q === "'" || q === "`") && !value.slice(1).includes(q)) open = q;
  });
  return out;
}

export interface FilteredEnv {
  vars: Record<string, string>;
  dropped: Dropped[];
  /** bytes of data (names + values), what the Secret will hold */
  bytes: number;
}

/**
 * Service variables Kubernetes injects into every container (`KUBERNETES_*`, and for each Service
 * `<SVC>_SERVICE_HOST`, `<SVC>_SERVICE_PORT[_<PORT>]`, `<SVC>_PORT_<N>_<PROTO>[_PROTO|_PORT|_ADDR]`,
 * and `<SVC>_PORT=tcp://…`); a copy from elsewhere would point at the wrong cluster.
 */
export function isServiceVar(name: string, value: string): boolean {
  if (name.startsWith("KUBERNETES_") || name === "KUBERNETES") return true;
  if (/_SERVICE_HOST$/.test(name) || /_SERVICE_PORT(_[A-Z0-9_]+)?$/.test(name)) return true;
  if (/_PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?$/.test(name)) return true;
  return /_PORT$/.test(name) && /^(tcp|udp|sctp):\/\//.test(value);
}

/** Merge the sources in order (later wins) and drop what must not be injected, saying why. */
export function filterEnv(sources: EnvSource[], exclude: Iterable<string> = []): FilteredEnv {
  const excluded = new Set(exclude);
  const merged = new Map<string, { value: string; file: string }>();
  for (const s of sources) {
    for (const [name, value] of Object.entries(s.vars)) merged.set(name, { value, file: s.file });
  }
  const vars: Record<string, string> = {};
  const dropped: Dropped[] = [];
  let bytes = 0;
  for (const [name, { value, file }] of merged) {
    const reason: DropReason | undefined = excluded.has(name)
      ? "excluded"
      : !NAME_RE.test(name)
      ? "name"
      : SYSTEM_VARS.has(name)
      ? "system"
      : isServiceVar(name, value)
      ? "kubernetes"
      : undefined;
    if (reason) {
      dropped.push({ name, reason, file });
      continue;
    }
    vars[name] = value;
    bytes += new TextEncoder().encode(name).length + new TextEncoder().encode(value).length;
  }
  return { vars, dropped, bytes };
}

const REASONS: Record<DropReason, string> = {
  system: "a system variable the container sets itself",
  kubernetes: "a Kubernetes service variable",
  name: "not a valid name (expected [A-Z_][A-Z0-9_]*)",
  excluded: "excluded by --env-exclude / env.excludeVars",
};

/** `warning: .env: PATH is not injected: a system variable the container sets itself` */
export function dropWarning(d: Dropped): string {
  return `${d.file}: ${d.name} is not injected: ${REASONS[d.reason]}`;
}

/** The 1 MiB check, as an error naming the files (exit 2). */
export function checkEnvSize(env: FilteredEnv, files: string[]): void {
  if (env.bytes > MAX_ENV_BYTES) {
    throw usageError(
      `the env files hold ${env.bytes} bytes of variables; a Secret holds at most ${MAX_ENV_BYTES} (1 MiB)`,
      `trim ${files.join(", ")} or leave variables out with --env-exclude`,
    );
  }
}

/**
 * Your own env files (`from` unset) named by a relative path, as your global `env.dotenvFiles` does, that git
 * tracks in the repository at `root`: their content is the repository's (its committed `.env`), so they are
 * marked as the repository's (config/steering.ts holds them to its rule). A file git does not track (your
 * local, ignored `.env`) stays yours. The index is read as data (sync/gitindex.ts): nothing runs.
 */
export async function markTracked<F extends { display: string; from?: string }>(
  files: F[],
  root: string,
): Promise<F[]> {
  const rel = (p: string) => relativeTo(root, resolve(root, p));
  const asked = files.filter((f) => f.from === undefined && !isAbsolute(f.display));
  if (!asked.length) return files;
  const { gitTrackedOf } = await import("../sync/gitindex.ts");
  const tracked = await gitTrackedOf(root);
  return files.map((f) =>
    asked.includes(f) && tracked.has(rel(f.display) ?? "\0")
      ? { ...f, from: `the repository's env file ${JSON.stringify(f.display)} (tracked by git)` }
      : f
  );
}

/** `p` (absolute) relative to `root` with `/`, or undefined outside it. */
function relativeTo(root: string, p: string): string | undefined {
  const r = resolve(root);
  if (!p.startsWith(r + "/") && !p.startsWith(r + "\\")) return undefined;
  return p.slice(r.length + 1).replaceAll("\\", "/");
}

/**
 * Read env files: `required` ones (from --env-file) must exist (exit 2); optional ones (config
 * `env.dotenvFiles`) are skipped when missing. A file with a `root` is a repository's: it must lead inside it.
 */
export async function readEnvFiles(
  files: { path: string; display: string; required: boolean; root?: string; from?: string }[],
): Promise<EnvSource[]> {
  const out: EnvSource[] = [];
  // dotenv is CommonJS (Deno's Node loader too): loaded only when there is an env file to parse
  let parse: ((text: string) => Record<string, string>) | undefined;
  for (const f of files) {
    let text: string;
    const o = { what: "env file", kind: "envFile" as const, display: f.display };
    try {
      // a file of the repository (`root`) must stay inside it after symlinks (config/confine.ts)
      text = f.root !== undefined ? await readRepoFile(f.root, f.path, o) : await readTextBounded(f.path, o);
    } catch (e) {
      if (e instanceof KodamaError) throw e;
      if (e instanceof Deno.errors.NotFound && !f.required) continue;
      if (e instanceof Deno.errors.NotFound) {
        throw usageError(`env file ${f.display} not found`, "check the --env-file path");
      }
      throw new KodamaError(`cannot read env file ${f.display}: ${(e as Error).message}`, ExitCode.USAGE);
    }
    parse ??= (await import("dotenv")).parse;
    out.push({
      file: f.display,
      vars: parse(text),
      problems: envFileProblems(text, f.display),
      ...(f.from !== undefined ? { from: f.from } : {}),
      ...(f.required ? { named: true } : {}),
    });
  }
  return out;
}
