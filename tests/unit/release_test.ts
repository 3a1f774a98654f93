/**
 * What can be checked of a release without Deno's denort download: every file kodama loads by a computed
 * URL at run time is in the compile --includes; the release archives, their checksums, and the krew
 * manifest, checked against krew's own validation rules (sigs.k8s.io/krew internal/index/validation).
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { parse as parseYaml } from "yaml";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compileArgs, INCLUDES, OPTIONAL, TARGETS } from "../../scripts/compile.ts";
import { archiveName, release } from "../../scripts/release.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await sources(p));
    else if (/\.(ts|js)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Computed imports that load nothing from kodama's own files (so nothing to include). */
const COMPUTED_IMPORTS_ALLOWED: Record<string, string> = {
  "src/workflow/sandbox/worker.js": "a user's script, from its checked snapshot in KODAMA_HOME",
  "src/kube/config.ts": "client_node.ts through its URL (an OPTIONAL include)",
};

/** URLs that only probe where kodama runs from and load nothing (a compiled binary simply gets "no"). */
const PROBES: Record<string, string> = {
  'src/kube/config.ts:"../../"': "is this kodama's source tree (the `deno task demo` hint)",
  'src/config/cache.ts:"../"':
    "the config cache's code stamp: the mtimes of kodama's own config sources; a compiled one keys by its own file",
  'src/workflow/cache.ts:"../"':
    "the workflow cache's checker stamp: the mtimes of kodama's own sources; a compiled one has none, and its version decides",
  'src/workflow/sandbox/child.ts:"./relay.js"':
    "a script step's own process, started only by a `deno run` kodama (a compiled one keeps the Worker)",
};

Deno.test("every file src/ loads by a computed URL is in the compile --includes (or knowingly optional)", async () => {
  const covered = (rel: string) =>
    INCLUDES.some((i) => rel === i || rel.startsWith(i.replace(/\/?$/, "/"))) || rel in OPTIONAL;
  const problems: string[] = [];
  let urls = 0;
  for (const file of [join(ROOT, "main.ts"), ...await sources(join(ROOT, "src"))]) {
    const text = await Deno.readTextFile(file);
    const relFile = relative(ROOT, file);
    // new URL("…", import.meta.url) and new URL(`…${x}…`, import.meta.url): the file, or the directory
    // the template's fixed part names
    for (const m of text.matchAll(/new URL\(\s*(["'`])([^"'`]*)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      urls++;
      if (`${relFile}:${m[1]}${m[2]}${m[1]}` in PROBES) continue;
      const spec = m[2].split("${")[0];
      const target = relative(
        ROOT,
        resolve(dirname(file), spec.endsWith("/") || m[1] === "`" ? dirname(spec + "x") : spec),
      );
      if (!covered(target)) {
        problems.push(`${relFile}: new URL(${m[1]}${m[2]}${m[1]}) -> ${target} is not included`);
      }
    }
    // import(x) with anything but a string literal
    for (const m of text.matchAll(/\bimport\(\s*([^"'`\s)][^)]*)\)/g)) {
      if (/^\s*\/\//.test(text.slice(text.lastIndexOf("\n", m.index) + 1, m.index))) continue; // a comment
      if (!(relFile in COMPUTED_IMPORTS_ALLOWED)) problems.push(`${relFile}: computed import(${m[1]})`);
    }
  }
  assert(urls >= 4, `found only ${urls} URLs: the scan is broken`);
  assertEquals(problems, []);
  for (const i of [...INCLUDES, ...Object.keys(OPTIONAL)]) await Deno.stat(join(ROOT, i)); // they exist
});

Deno.test("compile arguments: every target's triple, the includes, no prompts, client-node only on request", () => {
  for (const [platform, t] of Object.entries(TARGETS)) {
    const args = compileArgs(platform, { output: "/tmp/x" });
    assertEquals(args[args.indexOf("--target") + 1], t.triple);
    assert(args.includes("--no-prompt"));
    for (const i of INCLUDES) assert(args.includes(join(ROOT, i)), i);
    assert(!args.some((a) => a.endsWith("client_node.ts")));
    assert(
      compileArgs(platform, { output: "/tmp/x", authProvider: true }).some((a) =>
        a.endsWith("client_node.ts")
      ),
    );
  }
  assertEquals(Object.keys(TARGETS).sort(), [
    "darwin-amd64",
    "darwin-arm64",
    "linux-amd64",
    "linux-arm64",
    "windows-amd64",
  ]);
});

// krew's rules (internal/index/validation/validate.go and its semver parser), as an independent check
// deno-lint-ignore no-explicit-any
function krewProblems(name: string, p: Record<string, any>): string[] {
  const out: string[] = [];
  if (p.apiVersion !== "krew.googlecontainertools.github.com/v1alpha2") {
    out.push(`apiVersion ${p.apiVersion}`);
  }
  if (p.kind !== "Plugin") out.push(`kind ${p.kind}`);
  if (!/^[\w-]+$/.test(name)) out.push("unsafe plugin name");
  if (p.metadata?.name !== name) out.push(`plugin should be named ${name}, not ${p.metadata?.name}`);
  const s = p.spec ?? {};
  if (!s.shortDescription) out.push("should have a short description");
  if (/[\r\n]/.test(s.shortDescription ?? "")) out.push("line breaks in short description");
  if (!/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(s.version ?? "")) {
    out.push(`version ${s.version}`);
  }
  if (!Array.isArray(s.platforms) || !s.platforms.length) out.push("should have a platform specified");
  for (const pl of s.platforms ?? []) {
    if (!pl.uri) out.push("`uri` has to be set");
    if (!/^[a-f0-9]{64}$/.test(pl.sha256 ?? "")) out.push(`sha256 ${pl.sha256}`);
    if (!pl.bin) out.push("`bin` has to be set");
    if (pl.files !== undefined) {
      if (!pl.files.length) out.push("`files` has to be unspecified or non-empty");
      for (const f of pl.files) if (!f.from || !f.to) out.push("`from`/`to` has to be set");
    }
    const labels = pl.selector?.matchLabels;
    if (!labels || !Object.keys(labels).length) out.push("empty selector");
    for (const k of Object.keys(labels ?? {})) {
      if (k !== "os" && k !== "arch") out.push(`key ${k} not supported`);
    }
  }
  return out;
}

Deno.test("release: an archive per platform with the binary and README, checksums, a valid krew manifest", async () => {
  const dist = await Deno.makeTempDir({ prefix: "kodama-release-" });
  try {
    // stand-in binaries: what is packed and summed does not depend on what the bytes are
    for (const [platform, t] of Object.entries(TARGETS)) {
      await Deno.mkdir(join(dist, platform), { recursive: true });
      await Deno.writeTextFile(
        join(dist, platform, t.os === "windows" ? "kodama.exe" : "kodama"),
        `bin ${platform}`,
      );
    }
    const r = await release({ version: "1.2.3", baseUrl: "https://example.com/dl/", dist });
    assertEquals(r.skipped, []);
    assertEquals(r.artifacts.length, 5);
    const manifestText = await Deno.readTextFile(join(dist, "krew", "kodama.yaml"));
    const m = parseYaml(manifestText);
    assertEquals(krewProblems("kodama", m), []);
    assertEquals(m.spec.version, "v1.2.3");
    const sums = await Deno.readTextFile(join(dist, "release", "SHA256SUMS"));
    for (const a of r.artifacts) {
      const file = join(dist, "release", a.file);
      assertEquals(a.file, archiveName("1.2.3", a.platform));
      // sha256sum's format, and the sum is the archive's
      assertMatch(sums, new RegExp(`^${a.sha256}  ${a.file.replaceAll(".", "\\.")}$`, "m"));
      const real = await new Deno.Command("sha256sum", { args: [file], stdout: "piped" }).output();
      assertEquals(new TextDecoder().decode(real.stdout).split(" ")[0], a.sha256);
      const pl = m.spec.platforms.find((p: { selector: { matchLabels: { os: string; arch: string } } }) =>
        p.selector.matchLabels.os === a.os && p.selector.matchLabels.arch === a.arch
      );
      assertEquals(pl.uri, `https://example.com/dl/${a.file}`);
      assertEquals(pl.sha256, a.sha256);
      // the archive holds the bin krew will link, executable, and the README
      const list = a.file.endsWith(".zip")
        ? await new Deno.Command("python3", {
          args: [
            "-c",
            "import sys,zipfile;[print(i.filename, oct(i.external_attr>>16)) for i in zipfile.ZipFile(sys.argv[1]).infolist()]",
            file,
          ],
          stdout: "piped",
        }).output()
        : await new Deno.Command("tar", { args: ["tzvf", file], stdout: "piped" }).output();
      const listing = new TextDecoder().decode(list.stdout);
      assert(listing.includes(pl.bin) && listing.includes("README.md"), listing);
      assert(
        a.file.endsWith(".zip") ? /kodama\.exe 0o755/.test(listing) : /^-rwxr-xr-x .* kodama$/m.test(listing),
        listing,
      );
      assertEquals(pl.bin, a.os === "windows" ? "kodama.exe" : "kodama");
    }
  } finally {
    await Deno.remove(dist, { recursive: true });
  }
});
