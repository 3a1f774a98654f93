/**
 * The few path operations the everyday commands need before they reach the cluster (config lookup,
 * kubeconfig paths): join, dirname, resolve, isAbsolute and the PATH-list delimiter, for POSIX and
 * Windows. node:path does the same, but importing it starts Deno's Node layer, ~10 ms of CPU in every
 * `kodama exec` or `pods` that nothing else on that path needs. Everything else keeps using node:path.
 * tests/unit/base/fs/fspath_test.ts checks these against node:path's posix and win32 forms on a corpus.
 */

export interface PathOps {
  sep: string;
  delimiter: string;
  isAbsolute(p: string): boolean;
  join(...parts: string[]): string;
  dirname(p: string): string;
  /** node's resolve: right to left until a path is absolute, then normalized; `cwd` for what is left */
  resolve(...parts: string[]): string;
}

/** Path segments with empty ones, `.` and `..` worked out (a `..` above an absolute root is dropped). */
function withoutDots(segments: string[], absolute: boolean): string[] {
  const out: string[] = [];
  for (const seg of segments) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(seg);
  }
  return out;
}

function posixNormalize(p: string): string {
  if (p === "") return ".";
  const abs = p.startsWith("/");
  const body = withoutDots(p.split("/"), abs).join("/");
  const trailing = p.endsWith("/");
  if (abs) return `/${body}${trailing && body ? "/" : ""}`;
  return (body || ".") + (trailing ? "/" : "");
}

const posix = (cwd: () => string): PathOps => ({
  sep: "/",
  delimiter: ":",
  isAbsolute: (p) => p.startsWith("/"),
  join: (...parts) => {
    const joined = parts.filter((x) => x !== "").join("/");
    return joined === "" ? "." : posixNormalize(joined);
  },
  // node's algorithm: the text before the last separator run, not normalized
  dirname: (p) => {
    if (p === "") return ".";
    const hasRoot = p[0] === "/";
    let end = -1;
    let matchedSlash = true;
    for (let i = p.length - 1; i >= 1; i--) {
      if (p[i] === "/") {
        if (!matchedSlash) {
          end = i;
          break;
        }
      } else matchedSlash = false;
    }
    if (end === -1) return hasRoot ? "/" : ".";
    if (hasRoot && end === 1) return "//";
    return p.slice(0, end);
  },
  resolve: (...parts) => {
    let path = "";
    for (let i = parts.length - 1; i >= -1 && !path.startsWith("/"); i--) {
      const part = i >= 0 ? parts[i] : cwd();
      if (part === "") continue;
      path = path ? `${part}/${path}` : part;
    }
    const n = posixNormalize(path);
    return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
  },
});

/** `C:`, `\\server\share` or nothing, and whether a separator follows it (an absolute path). */
function winRoot(p: string): { device: string; absolute: boolean; rest: string } {
  const unc = /^[\\/]{2}([^\\/]+)[\\/]+([^\\/]+)/.exec(p);
  if (unc) return { device: `\\\\${unc[1]}\\${unc[2]}`, absolute: true, rest: p.slice(unc[0].length) };
  const drive = /^([a-zA-Z]:)/.exec(p);
  const device = drive ? drive[1] : "";
  const rest = p.slice(device.length);
  return { device, absolute: /^[\\/]/.test(rest), rest };
}

function winNormalize(p: string): string {
  const { device, absolute, rest } = winRoot(p);
  let body = withoutDots(rest.split(/[\\/]/), absolute).join("\\");
  // a first segment that reads as a drive is kept relative, as node does
  if (!device && !absolute && /^[a-zA-Z]:/.test(body)) body = `.\\${body}`;
  if (!body && !absolute) body = ".";
  if (/[\\/]$/.test(rest) && !(absolute && !body)) body += "\\";
  return device + (absolute ? "\\" : "") + body;
}

const win32 = (cwd: () => string): PathOps => ({
  sep: "\\",
  delimiter: ";",
  isAbsolute: (p) => winRoot(p).absolute,
  join: (...parts) => {
    const joined = parts.filter((x) => x !== "").join("\\");
    return joined === "" ? "." : winNormalize(joined);
  },
  // node's algorithm (the root as written: `C:/` stays `C:/`)
  dirname: (p) => {
    const isSep = (c: string | undefined) => c === "\\" || c === "/";
    const len = p.length;
    if (len === 0) return ".";
    if (len === 1) return isSep(p[0]) ? p : ".";
    let rootEnd = -1;
    let offset = 0;
    if (isSep(p[0])) {
      rootEnd = offset = 1;
      if (isSep(p[1])) {
        let j = 2;
        let last = j;
        while (j < len && !isSep(p[j])) j++;
        if (j < len && j !== last) {
          last = j;
          while (j < len && isSep(p[j])) j++;
          if (j < len && j !== last) {
            last = j;
            while (j < len && !isSep(p[j])) j++;
            if (j === len) return p;
            if (j !== last) rootEnd = offset = j + 1;
          }
        }
      }
    } else if (/^[a-zA-Z]:/.test(p)) {
      rootEnd = offset = len > 2 && isSep(p[2]) ? 3 : 2;
    }
    let end = -1;
    let matchedSlash = true;
    for (let i = len - 1; i >= offset; i--) {
      if (isSep(p[i])) {
        if (!matchedSlash) {
          end = i;
          break;
        }
      } else matchedSlash = false;
    }
    if (end === -1) {
      if (rootEnd === -1) return ".";
      end = rootEnd;
    }
    return p.slice(0, end);
  },
  resolve: (...parts) => {
    let device = "";
    let tail = "";
    let absolute = false;
    for (let i = parts.length - 1; i >= -1; i--) {
      const part = i >= 0 ? parts[i] : cwd();
      if (part === "") continue;
      const r = winRoot(part);
      if (r.device && device && r.device.toLowerCase() !== device.toLowerCase()) continue;
      if (!device) device = r.device;
      if (!absolute) {
        tail = tail ? `${r.rest}\\${tail}` : r.rest;
        absolute = r.absolute;
      }
      if (absolute && device) break;
    }
    const root = device + (absolute ? "\\" : "");
    const n = winNormalize(root + tail);
    return n !== root && n.endsWith("\\") ? n.slice(0, -1) : n;
  },
});

/** The operations for an OS (tests use both). */
export function pathOps(os: string, cwd: () => string = () => Deno.cwd()): PathOps {
  return os === "windows" ? win32(cwd) : posix(cwd);
}

const ops = pathOps(Deno.build.os);
export const { delimiter } = ops;
export const isAbsolute = ops.isAbsolute;
export const join = ops.join;
export const dirname = ops.dirname;
export const resolve = ops.resolve;
