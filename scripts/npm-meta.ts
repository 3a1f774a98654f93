/**
 * Make sure Deno's cache holds the npm registry metadata of kodama's direct dependencies (run by the demo,
 * cluster and test tasks before anything else).
 *
 * Why: `deno task` installs every npm package of deno.json from the lockfile before it runs a task (to find
 * npm binaries), fetching the tarballs but not the registry metadata (`registry.json`). A later
 * `deno run main.ts` then fetches the metadata of its direct dependencies on every module-graph build and
 * never stores it, so after `deno task demo` on a fresh cache each kodama command printed
 * `Download https://registry.npmjs.org/zod` and its like. Running kodama first never showed it: its own
 * install stores the metadata. When any is missing, this asks Deno to fetch those packages again for
 * main.ts, which stores it; otherwise it only reads the cache (a few ms). It imports nothing from npm.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** `npm:@scope/name@1.2.3` -> `@scope/name` */
export function npmPackages(imports: Record<string, string>): string[] {
  const names = Object.values(imports)
    .filter((v) => v.startsWith("npm:") && !v.startsWith("npm:/"))
    .map((v) => v.slice(4).replace(/^(@?[^@]+)@.*$/, "$1"));
  return [...new Set(names)].sort();
}

/** The packages whose registry metadata is not in the npm cache at `npmCache`. */
export function missingMetadata(npmCache: string, packages: string[]): string[] {
  return packages.filter((p) => {
    try {
      Deno.statSync(join(npmCache, "registry.npmjs.org", p, "registry.json"));
      return false;
    } catch {
      return true;
    }
  });
}

async function deno(args: string[], quiet: boolean): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdout: quiet ? "piped" : "inherit",
    stderr: quiet ? "piped" : "inherit",
  }).output();
}

if (import.meta.main) {
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  const info = await deno(["info", "--json"], true);
  const npmCache = JSON.parse(new TextDecoder().decode(info.stdout)).npmCache as string | undefined;
  const missing = npmCache ? missingMetadata(npmCache, npmPackages(config.imports ?? {})) : [];
  if (missing.length) {
    const r = await deno(["cache", `--reload=${missing.map((p) => `npm:${p}`).join(",")}`, "main.ts"], false);
    if (!r.success) Deno.exit(r.code);
  }
}
