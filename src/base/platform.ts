/**
 * Every fact about the operating system that kodama's laptop side depends on, in one place: the OS,
 * its path flavour, the home and temp directories, the path-list delimiter, Deno's directories, the
 * signals that may be sent, the file-mode policy, which names a pulled file may have, how the local
 * file system folds names, and how a file URL becomes a path.
 *
 * Every function takes a `Platform`, so a test on Linux can ask the Windows or macOS answer
 * (tests/unit/platform/platform_test.ts). `hostPlatform()` is this machine's. Cheap to import (no node:
 * modules): the everyday commands load it.
 *
 * Outside this module, tests/unit/platform/platform_lint_test.ts refuses `/proc`, `.pathname` of a file URL,
 * `Deno.kill` with a signal other than SIGTERM/SIGKILL and `split(":")` on a path list.
 */
import { type PathOps, pathOps } from "./fs/fspath.ts";

export type OS = "linux" | "darwin" | "windows";
export type Env = (name: string) => string | undefined;

export interface Platform {
  os: OS;
  /** node's path operations of that OS (win32 for windows, posix otherwise) */
  path: PathOps;
  env: Env;
}

/** Any OS Deno names; every Unix but macOS behaves as linux here (POSIX paths, case-sensitive). */
export function platformFor(os: string, env: Env = (n) => Deno.env.get(n), cwd?: () => string): Platform {
  const o: OS = os === "windows" ? "windows" : os === "darwin" ? "darwin" : "linux";
  return { os: o, path: pathOps(o, cwd), env };
}

let host: { os: string; p: Platform } | undefined;

/**
 * This machine (Deno.build.os read on each call: the OS-matrix harness replaces Deno.build before kodama
 * loads). The answer is kept while that OS stays: a walk asks once per file.
 */
export function hostPlatform(): Platform {
  const os = Deno.build.os;
  if (host?.os !== os) host = { os, p: platformFor(os) };
  return host.p;
}

// ---------------------------------------------------------------------------------------------------
// directories

/**
 * Every directory the OS may call the user's home, most likely first. On Windows that is USERPROFILE,
 * then HOMEDRIVE+HOMEPATH, then HOME (Git Bash and MSYS set it; kubectl's client-go looks at all three).
 */
export function homeDirs(p: Platform): string[] {
  const { env } = p;
  const drivePath = env("HOMEDRIVE") && env("HOMEPATH") ? `${env("HOMEDRIVE")}${env("HOMEPATH")}` : undefined;
  const all = p.os === "windows"
    ? [env("USERPROFILE"), drivePath, env("HOME")]
    : [env("HOME"), env("USERPROFILE")];
  return [...new Set(all.filter((x): x is string => !!x))];
}

/** The user's home directory, or undefined when the environment names none. */
export function homeDir(p: Platform): string | undefined {
  return homeDirs(p)[0];
}

/**
 * The home whose `.kube/config` kubectl reads, by client-go's own rule (homedir.HomeDir). Unix: HOME.
 * Windows: the first of HOME, HOMEDRIVE+HOMEPATH, USERPROFILE that holds `.kube\config`; else the first
 * of HOME, USERPROFILE, HOMEDRIVE+HOMEPATH that is a writable directory, else the first that exists, else
 * the first that is set. `stat` is injected for tests (default Deno.statSync).
 */
export function kubeHomeDir(
  p: Platform,
  stat: (path: string) => { isFile: boolean; isDirectory: boolean; mode: number | null } | undefined = (
    path,
  ) => {
    try {
      return Deno.statSync(path);
    } catch {
      return undefined;
    }
  },
): string | undefined {
  const { env } = p;
  if (p.os !== "windows") return env("HOME") ?? env("USERPROFILE");
  const home = env("HOME") || undefined;
  const drivePath = env("HOMEDRIVE") && env("HOMEPATH") ? `${env("HOMEDRIVE")}${env("HOMEPATH")}` : undefined;
  const profile = env("USERPROFILE") || undefined;
  for (const d of [home, drivePath, profile]) {
    if (d && stat(p.path.join(d, ".kube", "config"))?.isFile) return d;
  }
  let firstExisting: string | undefined;
  const order = [home, profile, drivePath].filter((d): d is string => !!d);
  for (const d of order) {
    const st = stat(d);
    if (!st) continue;
    firstExisting ??= d;
    // writable by its owner; Windows reports 0o666 for a writable directory (0o444 read-only)
    if (st.isDirectory && ((st.mode ?? 0o666) & 0o200) !== 0) return d;
  }
  return firstExisting ?? order[0];
}

/** `~` and `~/x` (and `~\x` on Windows) under the home directory; other paths as they are. */
export function expandHome(path: string, p: Platform): string {
  const home = homeDir(p);
  if (!home) return path;
  if (path === "~") return home;
  const m = p.os === "windows" ? /^~[\\/]/.exec(path) : /^~\//.exec(path);
  return m ? p.path.join(home, path.slice(2)) : path;
}

/** A path list (KUBECONFIG, PATH): `;` on Windows (where `C:\x` holds a colon), `:` elsewhere. */
export function splitPathList(value: string | undefined, p: Platform): string[] {
  return (value ?? "").split(p.path.delimiter).filter((x) => x !== "");
}

/** The directory for temporary files. */
export function tempDir(p: Platform): string {
  const { env } = p;
  if (p.os === "windows") {
    return env("TEMP") || env("TMP") ||
      p.path.join(env("LOCALAPPDATA") || p.path.join(homeDir(p) ?? "C:\\", "AppData", "Local"), "Temp");
  }
  return env("TMPDIR") || "/tmp";
}

/** Deno's cache (DENO_DIR, else the OS's cache directory + `deno`, as Deno itself decides). */
export function denoDir(p: Platform): string {
  const { env } = p;
  const d = env("DENO_DIR");
  if (d) return p.path.resolve(d);
  const home = homeDir(p) ?? p.path.resolve(".");
  if (p.os === "windows") {
    return p.path.join(env("LOCALAPPDATA") || p.path.join(home, "AppData", "Local"), "deno");
  }
  if (p.os === "darwin") return p.path.join(home, "Library", "Caches", "deno");
  return p.path.join(env("XDG_CACHE_HOME") || p.path.join(home, ".cache"), "deno");
}

/** Where `deno install -g` puts commands: `$DENO_INSTALL_ROOT/bin`, else `~/.deno/bin`. */
export function denoBinDir(p: Platform): string {
  const root = p.env("DENO_INSTALL_ROOT") || p.path.join(homeDir(p) ?? p.path.resolve("."), ".deno");
  return p.path.join(root, "bin");
}

/**
 * System paths that expose this process or the person's terminal, never to be handed to a sandboxed
 * workflow: [path, why]. Linux: /proc (memory, environment), /dev/fd, the terminals. macOS has no
 * /proc but /dev/fd and /dev/tty; Windows has neither (its consoles are not paths Deno grants).
 */
export function privateSystemPaths(p: Platform): [string, string][] {
  if (p.os === "windows") return [];
  const out: [string, string][] = [];
  if (p.os === "linux") out.push(["/proc", "the process's memory and environment"]);
  out.push(["/dev/fd", "the process's open files"]);
  // the terminal: writing to it skips kodama's stripping of control sequences, reading it sniffs keys
  out.push(["/dev/tty", "your terminal"]);
  if (p.os === "linux") out.push(["/dev/pts", "your terminals"], ["/dev/console", "the console"]);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// file URLs

/**
 * The path a `file:` URL names. `URL.pathname` is not a path: it keeps `%20` for a space and gives
 * `/C:/x` on Windows. A file URL with a host is a UNC path on Windows (`\\host\share\x`).
 */
export function fileUrlToPath(url: string | URL, p: Platform): string {
  const u = typeof url === "string" ? new URL(url) : url;
  if (u.protocol !== "file:") throw new TypeError(`not a file URL: ${u.href}`);
  const raw = u.pathname;
  if (/%2f/i.test(raw) || (p.os === "windows" && /%5c/i.test(raw))) {
    throw new TypeError(`a file URL path must not hold an encoded separator: ${u.href}`);
  }
  const path = decodeURIComponent(raw);
  if (p.os !== "windows") {
    if (u.hostname !== "" && u.hostname !== "localhost") {
      throw new TypeError(`file URL host must be empty: ${u.href}`);
    }
    return path;
  }
  const back = path.replaceAll("/", "\\");
  if (u.hostname !== "") return `\\\\${u.hostname}${back}`;
  if (!/^\\[A-Za-z]:(\\|$)/.test(back)) {
    throw new TypeError(`a Windows file URL needs a drive letter: ${u.href}`);
  }
  return back.slice(1);
}

// ---------------------------------------------------------------------------------------------------
// processes

/** The only signals kodama sends to a process; on Windows both end it at once (TerminateProcess). */
export type Signal = "SIGTERM" | "SIGKILL";

export interface SignalPolicy {
  /** ask to stop */
  stop: Signal;
  /** force */
  kill: Signal;
  /** does `stop` let the process clean up (false on Windows: no handler runs) */
  graceful: boolean;
  /**
   * what a Ctrl-C in its terminal would send, for a kodama child that cleans up on Ctrl-C (withInterrupt
   * listens to SIGINT): SIGINT on Linux and macOS; Windows has no such signal to send, so it is TERM there
   */
  interrupt: "SIGINT" | Signal;
}

export function signals(p: Platform): SignalPolicy {
  const windows = p.os === "windows";
  return { stop: "SIGTERM", kill: "SIGKILL", graceful: !windows, interrupt: windows ? "SIGTERM" : "SIGINT" };
}

/**
 * This process's full command line (the runtime's flags included, which Deno.args leaves out), or
 * undefined when it cannot be read. Linux reads /proc/self/cmdline; macOS (and Linux without procfs) asks `ps`; Windows asks
 * PowerShell for Win32_Process.CommandLine. The last two are one token list split on spaces: good
 * enough to find a flag such as `--no-prompt`, not to rebuild arguments.
 */
export function ownCommandLine(p: Platform): string[] | undefined {
  if (p.os === "linux") {
    try {
      return Deno.readTextFileSync("/proc/self/cmdline").split("\0").filter((x) => x !== "");
    } catch { /* no procfs, or not readable: ps below */ }
  }
  try {
    const [cmd, args] = p.os !== "windows" ? ["ps", ["-ww", "-o", "args=", "-p", String(Deno.pid)]] : [
      "powershell.exe",
      [
        "-NoProfile",
        "-NonInteractive",
        "-Command",
        `(Get-CimInstance Win32_Process -Filter "ProcessId=${Deno.pid}").CommandLine`,
      ],
    ] as const;
    const out = new Deno.Command(cmd, { args: [...args], stdin: "null", stdout: "piped", stderr: "null" })
      .outputSync();
    if (!out.success) return undefined;
    const text = new TextDecoder().decode(out.stdout).trim();
    return text ? text.split(/\s+/) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Was `flag` given to the runtime, that is before the main module, in this command line (from
 * ownCommandLine)? The main module is found by its file name, so a flag's own `.ts` value
 * (`--preload x.ts`) is not taken for it, and a path split at its spaces still ends in that name.
 */
export function runtimeFlagGiven(argv: string[], flag: string, mainModule: string): boolean {
  return runtimeFlags(argv, mainModule).includes(flag);
}

/**
 * The words before the main module in this command line (from ownCommandLine): the runtime's own. When
 * the main module is not found (a Windows command line's quoted words, an unusual shim), none: the words
 * after it are the user's command (`exec … -- x --no-prompt`), never taken for the runtime's.
 */
export function runtimeFlags(argv: string[], mainModule: string): string[] {
  const base = decodeURIComponent(mainModule.slice(mainModule.search(/[^\\/]*$/)));
  const isMain = (word: string) => {
    const a = word.replace(/^"(.*)"$/, "$1").replace(/"$/, "");
    return a === mainModule || a === base || a.endsWith(`/${base}`) || a.endsWith(`\\${base}`);
  };
  const main = argv.findIndex((a, i) => i > 0 && isMain(a));
  return main < 0 ? [] : argv.slice(0, main);
}

/**
 * CPU time of the calling thread in ms, for `--log-level debug` timings: Linux reads
 * /proc/thread-self/schedstat; elsewhere (or without read access) undefined.
 */
export function threadCpuMs(p: Platform): number | undefined {
  if (p.os !== "linux") return undefined;
  try {
    return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Minor page faults this process has taken so far (Linux: field 10 of /proc/self/stat); elsewhere
 * undefined. What keepFreedHeap saves is counted in these.
 */
export function minorFaults(p: Platform): number | undefined {
  if (p.os !== "linux") return undefined;
  try {
    return Number(Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ")[7]);
  } catch {
    return undefined;
  }
}

/**
 * Is this process's stdin a regular file (`kodama exec -i … < file`)? Its reads then never wait on another
 * process, so they may be synchronous (exec's stdin: an async read costs a thread hop each, ~0.1 CPU-s a GB).
 * Linux and macOS look at the descriptor (/proc/self/fd/0, /dev/fd/0); elsewhere, or when that fails, false.
 */
export function stdinIsFile(p: Platform): boolean {
  if (p.os === "windows") return false;
  try {
    return Deno.statSync(p.os === "linux" ? "/proc/self/fd/0" : "/dev/fd/0").isFile;
  } catch {
    return false;
  }
}

/** The file that is always empty and holds nothing (no directory can be made in it). */
export function devNull(p: Platform): string {
  return p.os === "windows" ? "NUL" : "/dev/null";
}

/** The environment variables a local command needs to work at all, on top of those a workflow grants. */
export function baseEnvNames(p: Platform): string[] {
  const common = ["PATH", "LANG", "LC_ALL", "TERM", "TZ"];
  if (p.os !== "windows") return [...common, "HOME", "USER", "TMPDIR"];
  // without SystemRoot many programs (and Winsock) fail; PATHEXT finds `x` as x.exe / x.cmd
  return [
    ...common,
    "SystemRoot",
    "SystemDrive",
    "windir",
    "PATHEXT",
    "COMSPEC",
    "TEMP",
    "TMP",
    "USERPROFILE",
    "USERNAME",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "ProgramData",
    "ProgramFiles",
    "HOME",
  ];
}

// ---------------------------------------------------------------------------------------------------
// file modes

/** Can kodama set Unix permission bits on local files (Windows has no such bits: Deno.chmod fails)? */
export function hasUnixModes(p: Platform): boolean {
  return p.os !== "windows";
}

export interface ModeFacts {
  /** what the local file system reports (on Windows only 0o666 or 0o444, a directory's bits mean nothing) */
  local?: number | null;
  isDir: boolean;
  /** the mode the file had in the pod when both sides last agreed (the sync's ancestor) */
  ancestor?: number;
  /** git's executable bit for the file (`git ls-files -s`: 100755) */
  gitExecutable?: boolean;
}

/**
 * The permission bits a local file gets in the pod. POSIX: its own bits. Windows has none worth
 * sending: the ancestor's mode when there is one, else 0o755 for a directory or an executable in git,
 * else 0o644. Never world-writable on Windows, whatever the source says.
 */
export function podMode(f: ModeFacts, p: Platform): number {
  if (hasUnixModes(p) && f.local !== undefined && f.local !== null) return f.local & 0o7777;
  if (f.ancestor !== undefined) return f.ancestor & 0o7777 & ~0o002;
  if (f.isDir) return 0o755;
  return f.gitExecutable ? 0o755 : 0o644;
}

/**
 * The bits to give a local file pulled from the pod, or undefined when the OS keeps none (Windows).
 * setuid, setgid and sticky never come down.
 */
export function localMode(podBits: number, p: Platform): number | undefined {
  return hasUnixModes(p) ? podBits & 0o777 : undefined;
}

// ---------------------------------------------------------------------------------------------------
// names that come from a pod

const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

/**
 * Why a name from the pod (a relative, `/`-separated path) must not be written on this machine, or
 * undefined when it may be. Everywhere: empty, absolute, `.`/`..` segments, NUL. On Windows also
 * `\` (a separator there), `:` (a drive letter, or an alternate data stream), `<>"|?*` and control
 * characters, reserved device names (CON, NUL, COM1, `con.txt` …) and names ending in a dot or a space
 * (Windows drops those, so the file would land under another name).
 */
export function pulledNameProblem(name: string, p: Platform): string | undefined {
  if (name === "") return "an empty name";
  if (name.includes("\0")) return "it holds a NUL character";
  if (name.startsWith("/")) return "it is an absolute path";
  const segments = name.split("/");
  for (const s of segments) {
    if (s === "..") return "it climbs out of the directory (`..`)";
    if (s === "." || s === "") return "it holds an empty or `.` path segment";
  }
  if (p.os !== "windows") return undefined;
  if (name.includes("\\")) return "it holds `\\`, a path separator on Windows";
  if (/^[A-Za-z]:/.test(name)) return "it starts with a drive letter";
  if (name.includes(":")) return "it holds `:`, which Windows reads as a drive or a data stream";
  // deno-lint-ignore no-control-regex
  if (/[<>"|?*\x00-\x1f]/.test(name)) {
    return 'it holds a character Windows does not allow in names (<>"|?* or a control character)';
  }
  for (const s of segments) {
    if (RESERVED.test(s) || RESERVED.test(s.replace(/[. ]+$/, ""))) {
      return `"${s}" is a reserved device name on Windows`;
    }
    if (/[. ]$/.test(s)) return `"${s}" ends in a dot or a space, which Windows drops`;
  }
  return undefined;
}

/** Code points HFS+ ignores in names (git's is_hfs_dotgit): on a Mac `.g\u200cit` is the `.git` directory. */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * Is this one path segment `.git` as some file system reads it: in any letter case, with code points
 * HFS+ ignores, with the trailing dots and spaces Windows drops, with an NTFS stream suffix
 * (`.git::$INDEX_ALLOCATION`), or as NTFS's short name `GIT~1` (git's own is_ntfs_dotgit and
 * is_hfs_dotgit). Hooks and config there run code at the next local `git` command, so nothing a pod or a
 * repository sends is written there, whatever the OS of the machine the name came from.
 */
export function isDotGit(segment: string): boolean {
  const s = foldedSegment(segment);
  return s === ".git" || s === "git~1";
}

/**
 * One path segment as the laxest file system reads it: lower case, without the code points HFS+ ignores,
 * an NTFS stream suffix, or the trailing dots and spaces Windows drops (`.Kodama.yaml.` is `.kodama.yaml`
 * there). For names that must never be written, whichever OS the name came from.
 */
export function foldedSegment(segment: string): string {
  let s = segment.replace(HFS_IGNORED, "").toLowerCase();
  const colon = s.indexOf(":");
  if (colon >= 0) s = s.slice(0, colon);
  return s.replace(/[. ]+$/, "");
}

/** A pod-relative name in the OS's own separators, for messages. */
export function nativeName(name: string, p: Platform): string {
  return p.os === "windows" ? name.replaceAll("/", "\\") : name;
}

// ---------------------------------------------------------------------------------------------------
// how the local file system folds names

export interface Folding {
  /** `Foo` and `foo` are one file (APFS and NTFS by default) */
  caseInsensitive: boolean;
  /** NFC and NFD spellings are one file (APFS, HFS+) */
  normalizing: boolean;
}

/** What the OS's usual file system does; `probeFolding` asks the real one. */
export function defaultFolding(p: Platform): Folding {
  if (p.os === "darwin") return { caseInsensitive: true, normalizing: true };
  if (p.os === "windows") return { caseInsensitive: true, normalizing: false };
  return { caseInsensitive: false, normalizing: false };
}

/** The key under which a file system with these rules stores `name`: two names with one key are one file. */
export function foldName(name: string, f: Folding): string {
  let k = f.normalizing ? name.normalize("NFC") : name;
  if (f.caseInsensitive) k = k.toLowerCase();
  return k;
}

/** Groups of two or more names that fold to one (each group in the given order). */
export function foldCollisions(names: Iterable<string>, f: Folding): string[][] {
  if (!f.caseInsensitive && !f.normalizing) return [];
  const by = new Map<string, string[]>();
  for (const n of names) {
    const k = foldName(n, f);
    const g = by.get(k);
    if (g) g.push(n);
    else by.set(k, [n]);
  }
  return [...by.values()].filter((g) => g.length > 1);
}

/**
 * How the file system holding `dir` folds names. In a git work tree: by creating one probe file (an NFC `é`
 * and an upper-case letter in its name) in its `.git` directory (the same file system) and looking it up
 * under its lower-case and NFD spellings. Anywhere else nothing is written (a `git status`, an editor's, a
 * build tool's or a test's watcher running at that moment saw an untracked `.kodama-probe-…`, in CI as
 * `session land` ran and as a sync started): names already there are looked up under another spelling
 * (`foldingFromNames`). When neither can tell, the OS's default.
 */
export async function probeFolding(dir: string, p: Platform): Promise<Folding> {
  const git = p.path.join(dir, ".git");
  const inGit = await Deno.lstat(git).then((st) => st.isDirectory, () => false);
  if (inGit) {
    const probed = await probeByFile(git, p);
    if (probed) return probed;
  }
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch {
    return defaultFolding(p);
  }
  const id = async (path: string) => {
    try {
      const st = await Deno.lstat(path);
      return st.ino === null ? "?" : `${st.dev}:${st.ino}`;
    } catch {
      return undefined;
    }
  };
  const here = await foldingFromNames(names, (n) => id(p.path.join(dir, n)));
  // an empty tree: its own name, looked up in its parent
  const full = p.path.resolve(dir), parent = p.path.dirname(full);
  const own = full.slice(parent.length).replace(/^[\\/]+/, "");
  const above = own ? await foldingFromNames([own], (n) => id(p.path.join(parent, n))) : {};
  const d = defaultFolding(p);
  return {
    caseInsensitive: here.caseInsensitive ?? above.caseInsensitive ?? d.caseInsensitive,
    normalizing: here.normalizing ?? above.normalizing ?? d.normalizing,
  };
}

/** The probe file in `at` (a directory of the same file system); undefined when it cannot be made. */
async function probeByFile(at: string, p: Platform): Promise<Folding | undefined> {
  const tag = crypto.randomUUID().slice(0, 8);
  const path = p.path.join(at, `.kodama-probe-${tag}-A\u00e9`);
  const exists = (n: string) => Deno.lstat(p.path.join(at, n)).then(() => true, () => false);
  try {
    await Deno.writeFile(path, new Uint8Array(), { createNew: true });
  } catch {
    return undefined;
  }
  try {
    return {
      caseInsensitive: await exists(`.kodama-probe-${tag}-a\u00e9`),
      normalizing: await exists(`.kodama-probe-${tag}-Ae\u0301`),
    };
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

const swapCase = (n: string) =>
  [...n].map((ch) => ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()).join("");
const otherForm = (n: string) => n.normalize("NFD") !== n ? n.normalize("NFD") : n.normalize("NFC");

/**
 * What a directory's listed `names` tell of its file system, read-only: a name whose other spelling (case
 * swapped; NFC and NFD) is not listed is looked up under that spelling; found as the same file (`id`: its
 * device and inode, "?" where the OS gives none), the file system folds that way; not found, it does not.
 * A question no listed name can answer stays undefined.
 */
export async function foldingFromNames(
  names: string[],
  id: (name: string) => Promise<string | undefined>,
): Promise<Partial<Folding>> {
  const listed = new Set(names);
  const ask = async (spell: (n: string) => string): Promise<boolean | undefined> => {
    const n = names.find((x) => spell(x) !== x && !listed.has(spell(x)));
    if (n === undefined) return undefined;
    const [a, b] = await Promise.all([id(n), id(spell(n))]);
    return a !== undefined && a === b;
  };
  const [caseInsensitive, normalizing] = await Promise.all([ask(swapCase), ask(otherForm)]);
  return {
    ...(caseInsensitive === undefined ? {} : { caseInsensitive }),
    ...(normalizing === undefined ? {} : { normalizing }),
  };
}

let heapKept = false;

/**
 * Once a command opens an exec stream (a sync, `exec -i`, `cp`, a big stdout): let the C allocator keep
 * the memory it frees. Every WebSocket frame, every stream chunk the runtime copies, is a fresh ~64 KiB
 * malloc; glibc hands memory at the heap's top back to the kernel once 128 KiB of it is free
 * (M_TRIM_THRESHOLD) and the next frames fault it in again, page by page: 5-13 K page faults per 100 MB
 * sent, much of the transfer's kernel time on a VM. glibc raises that threshold by itself (to twice the
 * size) when a big block it had mmap()ed is freed; a 16 MiB ArrayBuffer, never touched, transferred away
 * at once, is such a block (an mmap and a munmap, no page faulted). Deno cannot call mallopt; this is the
 * same effect. Linux only (glibc's rule; other systems' allocators keep their own).
 */
export function keepFreedHeap(p: Platform): void {
  if (heapKept || p.os !== "linux") return;
  heapKept = true;
  try {
    new ArrayBuffer(16 << 20).transfer(0);
  } catch {
    // no ArrayBuffer.prototype.transfer: nothing gained, nothing lost
  }
}

// ---------------------------------------------------------------------------------- the OS keychain

/** What kodama asks of the OS keychain: store, read or remove one secret (`agent keys`). */
export type KeychainOp = "set" | "get" | "rm";

/** One keychain command: its argv and what goes on its stdin (the secret is never in argv). */
export interface KeychainCommand {
  argv: string[];
  stdin: string;
}

/** The characters a stored secret may hold: an API key's (it is written inside a quoted literal). */
export const KEYCHAIN_SECRET_RE = /^[A-Za-z0-9._~+/=:-]{1,4096}$/;

/**
 * The command for `op` on this OS's keychain, for kodama's item `service`/`account`: the macOS Keychain
 * (`security -i`, the command read from stdin), the Secret Service on Linux (`secret-tool`, the secret on
 * stdin), the Windows Credential Manager through PowerShell's PasswordVault (the script on stdin). The
 * caller checks `secret` against KEYCHAIN_SECRET_RE, `service` and `account` are kodama's own words.
 */
export function keychainCommand(
  p: Platform,
  op: KeychainOp,
  item: { service: string; account: string },
  secret = "",
): KeychainCommand {
  const { service, account } = item;
  if (p.os === "darwin") {
    const id = `-s "${service}" -a "${account}"`;
    if (op === "set") {
      return { argv: ["security", "-i"], stdin: `add-generic-password -U ${id} -w "${secret}"\n` };
    }
    if (op === "get") {
      return { argv: ["security", "find-generic-password", "-s", service, "-a", account, "-w"], stdin: "" };
    }
    return { argv: ["security", "delete-generic-password", "-s", service, "-a", account], stdin: "" };
  }
  if (p.os === "windows") {
    const vault = [
      "$ErrorActionPreference='Stop'",
      "[void][Windows.Security.Credentials.PasswordVault,Windows.Security.Credentials,ContentType=WindowsRuntime]",
      "$v=New-Object Windows.Security.Credentials.PasswordVault",
    ];
    const body = op === "set"
      ? `$v.Add((New-Object Windows.Security.Credentials.PasswordCredential('${service}','${account}','${secret}')))`
      : op === "get"
      ? `$c=$v.Retrieve('${service}','${account}');$c.RetrievePassword();[Console]::Out.Write($c.Password)`
      : `$v.Remove($v.Retrieve('${service}','${account}'))`;
    return {
      argv: ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", "-"],
      stdin: [...vault, body, ""].join("\n"),
    };
  }
  const attrs = ["service", service, "account", account];
  if (op === "set") {
    return { argv: ["secret-tool", "store", `--label=${service} ${account}`, ...attrs], stdin: secret };
  }
  return { argv: ["secret-tool", op === "get" ? "lookup" : "clear", ...attrs], stdin: "" };
}

// ---------------------------------------------------------------------------------- desktop notifications

/** One desktop-notification command: its argv, its stdin, and variables added to its environment. */
export interface NotifyCommand {
  argv: string[];
  stdin: string;
  env: Record<string, string>;
}

/** AppleScript that shows its two arguments as title and text: the text is data (`argv`), never source. */
const OSASCRIPT = [
  "on run argv",
  "display notification (item 2 of argv) with title (item 1 of argv)",
  "end run",
];

/** PowerShell (read from stdin) that shows a balloon; the words come from the environment, never the script. */
const BALLOON = [
  "$ErrorActionPreference='Stop'",
  "Add-Type -AssemblyName System.Windows.Forms",
  "Add-Type -AssemblyName System.Drawing",
  "$n=New-Object System.Windows.Forms.NotifyIcon",
  "$n.Icon=[System.Drawing.SystemIcons]::Information",
  "$n.BalloonTipTitle=$env:KODAMA_NOTIFY_TITLE",
  "$n.BalloonTipText=$env:KODAMA_NOTIFY_TEXT",
  "$n.Visible=$true",
  "$n.ShowBalloonTip(10000)",
  "Start-Sleep -Seconds 6",
  "$n.Dispose()",
  "",
].join("\n");

/**
 * The command that shows a desktop notification on this OS: macOS `osascript` (an `on run argv` script,
 * the words as its arguments), Linux `notify-send` (after `--`, so no word is an option), Windows
 * PowerShell's NotifyIcon balloon (the script on stdin, the words in KODAMA_NOTIFY_TITLE/TEXT). Undefined
 * where there is no desktop: a Linux without DISPLAY or WAYLAND_DISPLAY (an SSH login, a container).
 * `title` and `text` are one line each, already made safe for a terminal by the caller.
 */
export function desktopNotifyCommand(p: Platform, title: string, text: string): NotifyCommand | undefined {
  // an argument that starts with `-` could read as an option to osascript: a space in front keeps it a word
  const word = (s: string) => s.startsWith("-") ? ` ${s}` : s;
  if (p.os === "darwin") {
    return {
      argv: ["osascript", ...OSASCRIPT.flatMap((l) => ["-e", l]), word(title), word(text)],
      stdin: "",
      env: {},
    };
  }
  if (p.os === "windows") {
    return {
      argv: ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", "-"],
      stdin: BALLOON,
      env: { KODAMA_NOTIFY_TITLE: title, KODAMA_NOTIFY_TEXT: text },
    };
  }
  if (!p.env("DISPLAY") && !p.env("WAYLAND_DISPLAY")) return undefined;
  return { argv: ["notify-send", "--app-name=kodama", "--", title, text], stdin: "", env: {} };
}
