/**
 * The local tools a run's built-in steps start (tmux), found on PATH once, before any step runs, and
 * started by that absolute path: nothing a step does afterwards (a script, a local command, a file
 * dropped into a directory on PATH) changes which program kodama runs.
 */
import { hostPlatform, type Platform, splitPathList } from "../base/platform.ts";

/** The absolute path of `name` on PATH (PATHEXT on Windows), or undefined. */
export async function resolveTool(name: string, p: Platform = hostPlatform()): Promise<string | undefined> {
  if (p.path.isAbsolute(name)) return name;
  const exts = p.os === "windows"
    ? ["", ...splitPathList(p.env("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD", p).map((e) => e.toLowerCase())]
    : [""];
  for (const dir of splitPathList(p.env("PATH"), p)) {
    if (!p.path.isAbsolute(dir)) continue; // a relative PATH entry would depend on the cwd
    for (const ext of exts) {
      const f = p.path.join(dir, name + ext);
      try {
        const st = await Deno.stat(f);
        if (st.isFile && (p.os === "windows" || ((st.mode ?? 0) & 0o111) !== 0)) return f;
      } catch { /* not here */ }
    }
  }
  return undefined;
}
