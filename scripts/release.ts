/**
 * `deno task release --base-url URL [--version V] [--dist DIR]`: pack the binaries `deno task compile` left
 * in DIR/<platform>/ (default dist/) into one archive per platform — kodama-vV-<os>-<arch>.tar.gz, .zip for
 * Windows, each holding the binary and README.md — write their SHA-256 sums (SHA256SUMS and one .sha256 per
 * archive, in sha256sum's format) and the krew manifest DIR/krew/kodama.yaml from scripts/krew/kodama.yaml,
 * pointing at URL/<archive>. Platforms without a binary are skipped with a warning.
 */
import { zipSync } from "fflate";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { END_OF_ARCHIVE, header } from "../src/pods/tar.ts";
import { concatBytes } from "../src/base/text/bytes.ts";
import { VERSION } from "../src/base/version.ts";
import { binaryName, TARGETS } from "./compile.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface ReleaseOptions {
  version: string;
  baseUrl: string;
  dist: string;
  homepage?: string;
  /** where the README comes from (default: the project's) */
  readme?: string;
}

export interface Artifact {
  platform: string;
  os: string;
  arch: string;
  file: string;
  sha256: string;
  bin: string;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function tar(files: { name: string; bytes: Uint8Array; mode: number }[], mtime: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    parts.push(...header({ name: f.name, type: "file", size: f.bytes.length, mode: f.mode, mtime }), f.bytes);
    const pad = (512 - (f.bytes.length % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(END_OF_ARCHIVE);
  return concatBytes(parts);
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The archive name of a platform: kodama-v0.1.0-linux-amd64.tar.gz, …-windows-amd64.zip. */
export function archiveName(version: string, platform: string): string {
  return `kodama-v${version.replace(/^v/, "")}-${platform}${
    TARGETS[platform].os === "windows" ? ".zip" : ".tar.gz"
  }`;
}

/** Fill the manifest template: one platform block per artifact. */
export function krewManifest(template: string, o: ReleaseOptions, artifacts: Artifact[]): string {
  const lines = template.split("\n");
  const start = lines.findIndex((l) => /^\s*# platform\s*$/.test(l));
  const end = lines.findIndex((l) => /^\s*# end platform\s*$/.test(l));
  if (start < 0 || end < start) {
    throw new Error("scripts/krew/kodama.yaml: the '# platform' … '# end platform' block is missing");
  }
  const block = lines.slice(start + 1, end).join("\n") + "\n";
  const fill = (text: string, values: Record<string, string>) =>
    text.replace(/\{\{(\w+)\}\}/g, (_m, k) => {
      if (values[k] === undefined) throw new Error(`scripts/krew/kodama.yaml: no value for {{${k}}}`);
      return values[k];
    });
  const common = { version: `v${o.version.replace(/^v/, "")}`, homepage: o.homepage ?? o.baseUrl };
  const platforms = artifacts.map((a) =>
    fill(block, {
      ...common,
      os: a.os,
      arch: a.arch,
      uri: `${o.baseUrl.replace(/\/+$/, "")}/${a.file}`,
      sha256: a.sha256,
      bin: a.bin,
    })
  ).join("");
  const head = lines.slice(0, start).join("\n") + "\n";
  const tail = lines.slice(end + 1).join("\n");
  return (fill(head, common) + platforms + tail).replace(/\n*$/, "\n");
}

/** Pack every platform that has a binary; returns what was written. */
export async function release(
  o: ReleaseOptions,
): Promise<{ artifacts: Artifact[]; manifest: string; skipped: string[] }> {
  const readme = await Deno.readFile(o.readme ?? join(ROOT, "README.md"));
  const out = join(o.dist, "release");
  await Deno.mkdir(out, { recursive: true });
  const artifacts: Artifact[] = [];
  const skipped: string[] = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const [platform, t] of Object.entries(TARGETS)) {
    const bin = binaryName(platform);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(o.dist, platform, bin));
    } catch {
      skipped.push(platform);
      continue;
    }
    const file = archiveName(o.version, platform);
    const data = t.os === "windows"
      ? zipSync({ [bin]: [bytes, { attrs: 0o755 << 16 }], "README.md": readme }, { level: 9 })
      : await gzip(
        tar([{ name: bin, bytes, mode: 0o755 }, { name: "README.md", bytes: readme, mode: 0o644 }], mtime),
      );
    await Deno.writeFile(join(out, file), data);
    const sum = await sha256(data);
    await Deno.writeTextFile(join(out, `${file}.sha256`), `${sum}  ${file}\n`);
    artifacts.push({ platform, os: t.os, arch: t.arch, file, sha256: sum, bin });
  }
  if (!artifacts.length) {
    throw new Error(`no binaries in ${o.dist}/<platform>/: run deno task compile first`);
  }
  await Deno.writeTextFile(
    join(out, "SHA256SUMS"),
    artifacts.map((a) => `${a.sha256}  ${a.file}\n`).join(""),
  );
  const manifest = krewManifest(
    await Deno.readTextFile(join(ROOT, "scripts", "krew", "kodama.yaml")),
    o,
    artifacts,
  );
  parseYaml(manifest); // the filled template must still be YAML
  await Deno.mkdir(join(o.dist, "krew"), { recursive: true });
  await Deno.writeTextFile(join(o.dist, "krew", "kodama.yaml"), manifest);
  return { artifacts, manifest, skipped };
}

if (import.meta.main) {
  const args = Deno.args;
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  };
  const baseUrl = flag("--base-url") ?? Deno.env.get("KODAMA_RELEASE_BASE_URL");
  if (!baseUrl) {
    console.error(
      "release: give --base-url URL (where the archives will be downloaded from, e.g. https://github.com/OWNER/kodama/releases/download/v" +
        VERSION + ")",
    );
    Deno.exit(2);
  }
  try {
    const r = await release({
      version: flag("--version") ?? VERSION,
      baseUrl,
      dist: flag("--dist") ?? join(ROOT, "dist"),
      homepage: flag("--homepage"),
    });
    for (const a of r.artifacts) console.log(`${a.file}  sha256 ${a.sha256}`);
    for (const s of r.skipped) console.error(`warning: no binary for ${s} (deno task compile --target ${s})`);
    console.log(`krew manifest: ${join(flag("--dist") ?? join(ROOT, "dist"), "krew", "kodama.yaml")}`);
  } catch (e) {
    console.error(`release: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
