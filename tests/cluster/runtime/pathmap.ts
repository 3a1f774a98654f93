/**
 * Pod paths without a container: the pod's own absolute paths (volumeMounts' mountPath and the
 * container's workingDir, e.g. /workspace) live under <pod dir>/root. Commands run in the pod
 * (container command/args, exec) get those paths rewritten so `ls /workspace`, `tar -C /workspace`,
 * `sh -c 'cd /workspace && ...'` and `kubectl cp` (tar via exec) behave as in a real pod.
 * Only the pod's declared paths are touched; /tmp, /usr, ... stay the host's.
 */
import path from "node:path";

export interface PathMap {
  /** absolute pod paths (no trailing slash), longest first */
  prefixes: string[];
  root: string;
}

// deno-lint-ignore no-explicit-any
export function pathMapFor(root: string, container: Record<string, any>): PathMap {
  const set = new Set<string>();
  for (const m of container.volumeMounts ?? []) if (typeof m.mountPath === "string") set.add(m.mountPath);
  if (typeof container.workingDir === "string") set.add(container.workingDir);
  const prefixes = [...set]
    .filter((p) => path.isAbsolute(p))
    .map((p) => path.posix.normalize(p).replace(/\/+$/, ""))
    .filter((p) => p !== "" && p !== "/")
    .sort((a, b) => b.length - a.length);
  return { prefixes, root };
}

function covers(prefix: string, p: string): boolean {
  return p === prefix || p.startsWith(prefix + "/");
}

/** Map one absolute path argument (exact prefix or below it); anything else is returned as is. */
export function mapArg(m: PathMap, arg: string): string {
  for (const p of m.prefixes) if (covers(p, arg)) return m.root + arg;
  return arg;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Rewrite the pod's paths inside a shell script where they start a word or follow = or :. */
export function mapScript(m: PathMap, script: string): string {
  if (m.prefixes.length === 0) return script;
  const re = new RegExp(
    `(^|[\\s'"=:;(\`])(${m.prefixes.map(escapeRe).join("|")})(?=$|[/\\s'"\`;:)|&<>])`,
    "g",
  );
  return script.replace(re, (_all, lead, p) => lead + m.root + p);
}

const SHELLS = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh"]);
/** tar options whose value is the next argument */
const TAR_VALUE_OPTS = new Set([
  "-f",
  "--file",
  "-C",
  "--directory",
  "-T",
  "--files-from",
  "-X",
  "--exclude-from",
]);

/** Rewrite a command line run in the pod. */
export function mapArgv(m: PathMap, argv: string[]): string[] {
  if (m.prefixes.length === 0 || argv.length === 0) return argv;
  const base = path.basename(argv[0]);
  argv = [mapArg(m, argv[0]), ...argv.slice(1)];
  if (SHELLS.has(base)) {
    const out = [argv[0]];
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i];
      // sh -c SCRIPT [name args...]: rewrite the script; other args like plain ones
      if (/^-[a-z]*c[a-z]*$/.test(a) && i + 1 < argv.length) {
        out.push(a, mapScript(m, argv[++i]));
      } else out.push(mapArg(m, a));
    }
    return out;
  }
  if (base === "tar") {
    // file operands become `-C <root> <relative path>` so archive member names stay `workspace/...`
    // exactly like GNU tar makes them from `/workspace/...` (kubectl cp relies on those names)
    const out = [argv[0]];
    let values = 0; // arguments still owed to options like -f/-C (also bundled: -xmf, old-style `cf`)
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i];
      if (values > 0) {
        values--;
        out.push(mapArg(m, a));
      } else if (TAR_VALUE_OPTS.has(a)) {
        values = 1;
        out.push(a);
      } else if (/^-[A-Za-z]+$/.test(a) || (i === 1 && /^[A-Za-z]+$/.test(a))) {
        values = [...a].filter((ch) => "fCTX".includes(ch)).length;
        out.push(a);
      } else if (!a.startsWith("-") && mapArg(m, a) !== a) {
        out.push("-C", m.root, a.replace(/^\/+/, ""));
      } else out.push(mapArg(m, a));
    }
    return out;
  }
  return argv.map((a, i) => (i === 0 ? a : mapArg(m, a)));
}
