/**
 * `deno task compile [--target NAME…] [--auth-provider] [--measure]`: kodama as one self-contained binary
 * per platform, with `deno compile --target`, into dist/<platform>/kodama[.exe].
 *
 * deno compile glues kodama onto `denort`, Deno's runtime binary for the target. It takes it from
 *   1. DENORT_BIN (a denort for the one target being built: give one --target), else
 *   2. $DENO_DIR/dl/release/v<deno version>/denort-<target>.zip (pre-seeded, or downloaded by deno from
 *      https://dl.deno.land — which needs the internet).
 * Nothing else is fetched. `--measure` builds the host's binary on the running deno itself (a stand-in
 * for denort, never run) only to report the size of kodama's payload; it needs no download.
 *
 * The payload: main.ts's module graph (static and literal dynamic imports) plus INCLUDES — files kodama
 * reads or loads by a computed URL at run time (tests/unit/release_test.ts checks that every such URL in
 * src/ is covered). deno compile embeds every npm package of the config's import map, used or not, so the
 * build runs on a copy of deno.json (and of deno.lock) without @kubernetes/client-node, which only the
 * legacy auth-provider fallback loads (by a computed URL: OPTIONAL below); --auth-provider keeps it.
 * Type checking is `deno task check`'s job: the build itself uses --no-check (type-only imports of
 * client-node's types then need no package).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { excludes } from "./npm_prune.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** kodama's platform names (also the release archives') and Rust target triples. */
export const TARGETS: Record<
  string,
  { triple: string; os: "linux" | "darwin" | "windows"; arch: "amd64" | "arm64" }
> = {
  "linux-amd64": { triple: "x86_64-unknown-linux-gnu", os: "linux", arch: "amd64" },
  "linux-arm64": { triple: "aarch64-unknown-linux-gnu", os: "linux", arch: "arm64" },
  "darwin-amd64": { triple: "x86_64-apple-darwin", os: "darwin", arch: "amd64" },
  "darwin-arm64": { triple: "aarch64-apple-darwin", os: "darwin", arch: "arm64" },
  "windows-amd64": { triple: "x86_64-pc-windows-msvc", os: "windows", arch: "amd64" },
};

/** Files kodama reads, or loads by a computed URL, at run time: always in the binary. */
export const INCLUDES = [
  "workflows", // built-in workflows (src/workflow/discovery.ts)
  "src/workflow/sandbox/worker.js", // the sandbox worker's bootstrap (src/workflow/sandbox/host.ts)
  "src/complete/kodama.bash", // completion scripts (src/complete/scripts.ts)
  "src/complete/kodama.zsh",
  "src/complete/kodama.fish",
  "src/complete/kodama.ps1",
];

/** Computed-URL modules left out on purpose, with what adding them costs. */
export const OPTIONAL: Record<string, { flag: string; why: string }> = {
  "src/kube/client_node.ts": {
    flag: "--auth-provider",
    why: "legacy auth-provider users (oidc, gcp, azure); embeds @kubernetes/client-node, about 53 MB more",
  },
};

export function binaryName(platform: string): string {
  return TARGETS[platform].os === "windows" ? "kodama.exe" : "kodama";
}

/** npm packages only the OPTIONAL modules use: left out of the build config's import map without them. */
export const OPTIONAL_PACKAGES = ["@kubernetes/client-node"];

/** The payload budget (MiB) --measure and tests/cli/compile_test.ts hold the build to. */
export function payloadBudget(authProvider: boolean): number {
  const b = JSON.parse(Deno.readTextFileSync(join(ROOT, "scripts", "payload-budget.json")));
  return authProvider ? b.authProviderPayloadMiB : b.payloadMiB;
}

export const BUILD_CONFIG = join(ROOT, ".deno.compile.json");
export const BUILD_LOCK = join(ROOT, ".deno.compile.lock");

type Info = {
  modules: { specifier: string }[];
  npmPackages: Record<string, { name: string; version: string }>;
};

async function denoInfo(args: string[]): Promise<Info & { npmCache?: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * The npm packages kodama's module graph loads: the package names of the `npm:` modules `deno info` finds
 * from `roots` (main.ts, and the OPTIONAL modules with --auth-provider), static and literal dynamic
 * imports alike. deno compile embeds every npm package of the config's import map, used or not; the build
 * config's import map is cut down to these, so build, test and bench tools (esbuild, puppeteer-core, the
 * UI's browser packages, tree-sitter, …) cannot reach the binary whatever deno.json lists.
 */
export async function graphPackages(roots: string[], lock: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const root of roots) {
    // on the build's copy of the lock: deno info may add to the lock it reads
    const info = await denoInfo(["--config", join(ROOT, "deno.json"), "--lock", lock, join(ROOT, root)]);
    for (const m of info.modules) {
      const name = m.specifier.startsWith("npm:") ? npmName(m.specifier) : undefined;
      if (name) names.add(name);
    }
  }
  return names;
}

/** The directories (in deno's npm cache) of every npm package the build config's graph from `roots` has. */
async function packageDirs(roots: string[]): Promise<string[]> {
  const { npmCache } = await denoInfo([]);
  const dirs = new Set<string>();
  for (const root of roots) {
    const info = await denoInfo(["--config", BUILD_CONFIG, "--lock", BUILD_LOCK, join(ROOT, root)]);
    for (const p of Object.values(info.npmPackages)) {
      dirs.add(join(npmCache!, "registry.npmjs.org", p.name, p.version));
    }
  }
  return [...dirs];
}

/** `@scope/name` or `name` of "@scope/name@1.2.3/sub/path" or "npm:name@1.2.3". */
export function npmName(spec: string): string | undefined {
  return spec.replace(/^npm:\/?/, "").match(/^(@[^/@]+\/[^/@]+|[^/@]+)/)?.[1];
}

/** The import map of the build: deno.json's entries that are not npm packages, or npm packages in `used`. */
export function buildImports(imports: Record<string, string>, used: Set<string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(imports).filter(([, v]) => !v.startsWith("npm:") || used.has(npmName(v) ?? "")),
  );
}

/**
 * Write the build's copy of deno.json (and deno.lock) with only the npm packages kodama's graph loads; run
 * `fn` with the --exclude paths of their files the binary never loads (scripts/npm_prune.ts); remove them.
 */
export async function withBuildConfig<T>(
  authProvider: boolean,
  fn: (excludes: string[]) => Promise<T>,
): Promise<T> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const roots = ["main.ts", ...(authProvider ? Object.keys(OPTIONAL) : [])];
  await Deno.copyFile(join(ROOT, "deno.lock"), BUILD_LOCK);
  try {
    const used = await graphPackages(roots, BUILD_LOCK);
    if (!authProvider) { for (const p of OPTIONAL_PACKAGES) used.delete(p); }
    config.imports = buildImports(config.imports, used);
    delete config.tasks;
    // `deno run` loads kodama's dynamic imports only when they run (start-up: bench/README.md); a binary
    // must embed every one of them, so the build walks them all, as before
    config.unstable = (config.unstable ?? []).filter((f: string) => f !== "lazy-dynamic-imports");
    await Deno.writeTextFile(BUILD_CONFIG, JSON.stringify(config, null, 2));
    return await fn(excludes(await packageDirs(roots)));
  } finally {
    await Deno.remove(BUILD_CONFIG).catch(() => {});
    await Deno.remove(BUILD_LOCK).catch(() => {});
  }
}

/** The `deno compile` arguments for one platform (run inside withBuildConfig). */
export function compileArgs(
  platform: string,
  o: { authProvider?: boolean; output: string; excludes?: string[] },
): string[] {
  const includes = [...INCLUDES, ...(o.authProvider ? Object.keys(OPTIONAL) : [])];
  return [
    "compile",
    "-A",
    "--no-prompt", // the sandbox needs Deno's prompts off (src/workflow/sandbox/host.ts)
    "--no-check",
    "--config",
    BUILD_CONFIG,
    "--lock",
    BUILD_LOCK,
    "--target",
    TARGETS[platform].triple,
    // only the npm packages the module graph reaches (the build config's import map is cut down to those
    // too), without their types, maps, docs and sources
    "--exclude-unused-npm",
    ...includes.flatMap((i) => ["--include", join(ROOT, i)]),
    ...(o.excludes ?? []).flatMap((e) => ["--exclude", e]),
    "--output",
    o.output,
    join(ROOT, "main.ts"),
  ];
}

/** Where deno keeps (or looks for) the denort zip of a target. */
export async function denortZip(triple: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  const denoDir = JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  return join(denoDir, "dl", "release", `v${Deno.version.deno}`, `denort-${triple}.zip`);
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

async function compile(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ok: boolean; log: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  return { ok: out.success, log };
}

function parseArgs(argv: string[]): { targets: string[]; authProvider: boolean; measure: boolean } {
  const targets: string[] = [];
  let authProvider = false, measure = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--target") targets.push(argv[++i] ?? "");
    else if (a.startsWith("--target=")) targets.push(a.slice(9));
    else if (a === "--auth-provider") authProvider = true;
    else if (a === "--measure") measure = true;
    else {
      console.error(
        `compile: unknown argument ${a}\n  usage: deno task compile [--target ${
          Object.keys(TARGETS).join("|")
        }]… [--auth-provider] [--measure]`,
      );
      Deno.exit(2);
    }
  }
  for (const t of targets) {
    if (!TARGETS[t]) {
      console.error(`compile: unknown target "${t}"; one of: ${Object.keys(TARGETS).join(", ")}`);
      Deno.exit(2);
    }
  }
  return { targets: targets.length ? targets : Object.keys(TARGETS), authProvider, measure };
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The host platform's name, e.g. linux-amd64. */
export function hostPlatform(): string {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  return `${Deno.build.os}-${arch}`;
}

/** Build the host's payload and print its size; whether it is within the budget. */
async function measure(authProvider: boolean): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-measure-" });
  try {
    const base = Deno.execPath();
    const output = join(dir, "kodama");
    const r = await withBuildConfig(
      authProvider,
      (excludes) =>
        compile(compileArgs(hostPlatform(), { authProvider, output, excludes }), { DENORT_BIN: base }),
    );
    if (!r.ok) throw new Error(r.log);
    const payload = Deno.statSync(output).size - Deno.statSync(base).size;
    const budget = payloadBudget(authProvider);
    console.log(
      `payload (${authProvider ? "with" : "without"} client-node): ${mib(payload)} — ${
        r.log.match(/Files:\S*\s+(\S+)/)?.[1] ?? "?"
      } of files; budget ${budget} MiB (scripts/payload-budget.json)`,
    );
    return payload / 1024 / 1024 <= budget;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const o = parseArgs(Deno.args);
  if (o.measure) {
    const ok = [await measure(false), await measure(true)];
    if (ok.includes(false)) {
      console.error("compile: the payload is over its budget (scripts/payload-budget.json)");
    }
    Deno.exit(ok.includes(false) ? 1 : 0);
  }
  const denortBin = Deno.env.get("DENORT_BIN");
  if (denortBin && o.targets.length !== 1) {
    console.error(
      "compile: DENORT_BIN is one denort, for one target: give exactly one --target (or pre-seed the zips in $DENO_DIR/dl)",
    );
    Deno.exit(2);
  }
  let failed = 0;
  for (const platform of o.targets) {
    const { triple } = TARGETS[platform];
    const output = join(ROOT, "dist", platform, binaryName(platform));
    if (!denortBin) {
      const zip = await denortZip(triple);
      if (!exists(zip)) {
        console.error(
          `${platform}: ${zip} is not there; deno will download it from https://dl.deno.land (needs the internet)`,
        );
      }
    }
    const r = await withBuildConfig(
      o.authProvider,
      (excludes) => compile(compileArgs(platform, { authProvider: o.authProvider, output, excludes })),
    );
    if (!r.ok) {
      failed++;
      await Deno.remove(dirname(output)).catch(() => {}); // only when deno left it empty
      // deno's own words: the error and what caused it (the last lines of its output)
      // deno-lint-ignore no-control-regex
      const lines = r.log.replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n").filter((l) => l.trim());
      const from = lines.findIndex((l) => /^error/i.test(l));
      console.error(`${platform}: FAILED:\n  ${lines.slice(from >= 0 ? from : -3).slice(0, 6).join("\n  ")}`);
      if (/download|denort|dl\.deno\.land|dns|connect/i.test(r.log)) {
        console.error(
          `  no denort for ${triple}: with internet, run this once (deno fetches it); offline, copy denort-${triple}.zip\n` +
            `  from https://dl.deno.land/release/v${Deno.version.deno}/denort-${triple}.zip into ${
              dirname(await denortZip(triple))
            }/,\n` +
            `  or set DENORT_BIN to an unzipped denort and build this --target alone`,
        );
      }
      continue;
    }
    console.log(`${platform}: ${output} (${mib(Deno.statSync(output).size)})`);
  }
  Deno.exit(failed ? 1 : 0);
}
