/**
 * The places under a sync root that sync never writes or deletes locally (docs/security.md, "What a pod
 * can and cannot cause locally"), worked out **at the moment sync is about to write**, not when it
 * started: the `workflows.paths` directories `kodama run` in the tree reads (the tree's config and yours,
 * as src/config/workflowpaths.ts resolves them), `$KODAMA_HOME`, and the real place of any `.kodama` link
 * in the tree. Each is compared as a real place: both the path as written and its real path (the longest
 * existing prefix with every link followed, src/base/fs/realpath.ts) against both spellings of the root, so a
 * directory the config names through a symlink, or one added to the config after the sync started, is
 * protected from the next write batch on.
 *
 * The config is read again only when one of its files changed (their lstat: size, mtime, inode) or a
 * `.kodama.yaml` appeared or went on the way up from the root; the real paths are taken every batch.
 */
import { dirname, join, resolve } from "../../base/fs/fspath.ts";
import { realLanding, relativeInside } from "../../base/fs/realpath.ts";
import { globalConfigPath, kodamaHome } from "../../config/paths.ts";
import type { ProtectedPlaces } from "./safety.ts";

interface Cached {
  sig: string;
  dirs: string[];
}
const cache = new Map<string, Cached>();

function statSig(p: string): string {
  try {
    const st = Deno.lstatSync(p);
    return `${st.size}:${st.mtime?.getTime()}:${st.ino ?? ""}`;
  } catch {
    return "-";
  }
}

/** What decides the configured directories: the global config and every `.kodama.yaml` up from the root. */
function configSignature(root: string, home: string): string {
  const out = [statSig(globalConfigPath(home))];
  for (let d = resolve(root);; d = dirname(d)) {
    out.push(statSig(join(d, ".kodama.yaml")), statSig(join(d, ".git")));
    if (dirname(d) === d) break;
  }
  return out.join("|");
}

/** The absolute `workflows.paths` directories `kodama run` in `root` reads (the config as it is now). */
async function configuredDirs(root: string, home: string): Promise<string[]> {
  const sig = configSignature(root, home);
  const hit = cache.get(root);
  if (hit?.sig === sig) return hit.dirs;
  const { loadConfig } = await import("../../config/load.ts");
  const { workflowPathDirs } = await import("../../config/workflowpaths.ts");
  const cfg = await loadConfig({ cwd: root, home }).catch(() => undefined);
  const dirs = cfg ? workflowPathDirs(cfg, root).dirs : [];
  if (cache.size > 64) cache.clear();
  cache.set(root, { sig, dirs });
  return dirs;
}

/** Those of `dirs` (absolute) that lie under the root, as written and as real, root-relative, sorted. */
export async function placesUnder(root: string, dirs: readonly string[]): Promise<string[]> {
  const rootText = resolve(root);
  const rootReal = await realLanding(root);
  const out = new Set<string>();
  for (const d of dirs) {
    const text = resolve(rootText, d);
    const real = await realLanding(text);
    for (const r of [rootText, rootReal]) {
      for (const p of [text, real]) {
        const rel = relativeInside(r, p);
        if (rel !== undefined) out.add(rel);
      }
    }
  }
  return [...out].sort();
}

/**
 * The protected places under `root` now. `links`: root-relative paths of the symlinks in the local tree
 * with a `.kodama` part (a `.kodama -> cfg` link makes `cfg/` kodama's configuration).
 */
export async function protectedPlaces(
  root: string,
  links: Iterable<string> = [],
  home: string = kodamaHome(),
): Promise<ProtectedPlaces> {
  const kodamaLinks = [...links].filter((p) => p.split("/").some((s) => s.toLowerCase() === ".kodama"))
    .map((p) => join(resolve(root), p));
  const [workflows, state] = await Promise.all([
    configuredDirs(root, home).then((d) => placesUnder(root, d)),
    placesUnder(root, [home, ...kodamaLinks]),
  ]);
  return { workflows, state };
}
