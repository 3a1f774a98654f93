/**
 * The tar header writer (src/pods/tarformat.ts): names at the ustar field's 99-byte edge in ASCII and in
 * multi-byte UTF-8, long links and names through PAX, all read back by system tar and by our parser; a
 * header written into a dirty, reused buffer is the same bytes as one written into a fresh one.
 */
import { assertEquals } from "@kodama/test-assert";
import {
  END_OF_ARCHIVE,
  header,
  headerSize,
  type TarEntry,
  TarParser,
  writeHeader,
} from "../../../src/pods/tarformat.ts";
import { concatBytes } from "../../../src/base/text/bytes.ts";

const ENTRIES: TarEntry[] = [
  { name: "a.txt", type: "file", size: 3, mode: 0o644, mtime: 1_700_000_000 },
  { name: "x".repeat(33), type: "file", size: 0, mode: 0o600, mtime: 1 },
  { name: "y".repeat(99), type: "file", size: 1, mode: 0o644, mtime: 2 },
  { name: "z".repeat(100), type: "file", size: 2, mode: 0o644, mtime: 3 }, // PAX path
  { name: "é".repeat(49) + "a", type: "file", size: 1, mode: 0o644, mtime: 4 }, // 99 bytes: ustar
  { name: "é".repeat(50), type: "file", size: 1, mode: 0o644, mtime: 5 }, // 100 bytes: PAX path
  { name: "😀".repeat(25), type: "file", size: 1, mode: 0o755, mtime: 6 }, // 100 bytes, 50 code units
  { name: "dir", type: "directory", size: 0, mode: 0o755, mtime: 7 },
  { name: "ln", type: "symlink", size: 0, mode: 0o777, mtime: 8, linkname: "t/".repeat(60) }, // PAX linkpath
  { name: "hl", type: "hardlink", size: 0, mode: 0o644, mtime: 9, linkname: "a.txt" },
];

function archive(): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of ENTRIES) {
    parts.push(...header(e));
    if (e.type === "file" && e.size) parts.push(new Uint8Array(512).fill(0x41, 0, e.size));
  }
  parts.push(END_OF_ARCHIVE);
  return concatBytes(parts);
}

Deno.test("tar headers: names at the 99-byte edge, multi-byte names and long links read back by system tar and our parser", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-tarformat-" });
  try {
    await Deno.writeFile(`${dir}/a.tar`, archive());
    const r = await new Deno.Command("tar", {
      args: ["-tf", `${dir}/a.tar`],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const listed = new TextDecoder().decode(r.stdout).trimEnd().split("\n");
    assertEquals(listed, ENTRIES.map((e) => e.type === "directory" ? `${e.name}/` : e.name));
    const seen: TarEntry[] = [];
    const p = new TarParser((e) => {
      seen.push(e);
      return Promise.resolve(undefined);
    });
    await p.push(archive());
    assertEquals(
      seen.map((e) => [e.name, e.type, e.size, e.mode, e.mtime, e.linkname || undefined]),
      ENTRIES.map((e) => [e.name, e.type, e.size, e.mode, e.mtime, e.linkname]),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tar headers: written into a dirty reused buffer, the same bytes as into a fresh one", () => {
  for (const e of ENTRIES) {
    const fresh = header(e)[0];
    assertEquals(fresh.length, headerSize(e));
    const dirty = new Uint8Array(headerSize(e) + 700).fill(0xff);
    assertEquals(writeHeader(dirty, 300, e), fresh.length);
    assertEquals(dirty.subarray(300, 300 + fresh.length), fresh, e.name);
    assertEquals(dirty[299], 0xff);
    assertEquals(dirty[300 + fresh.length], 0xff);
  }
});

Deno.test("tar parser: system tar's PAX records with multi-byte names (their lengths count bytes)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-tarformat-" });
  try {
    const names = ["é".repeat(60), "😀".repeat(30) + ".txt", "plain"];
    for (const n of names) await Deno.writeTextFile(`${dir}/${n}`, n);
    const r = await new Deno.Command("tar", {
      args: ["--format=posix", "-cf", "-", "-C", dir, ...names],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const seen: string[] = [];
    const p = new TarParser((e) => {
      seen.push(e.name);
      return Promise.resolve(undefined);
    });
    await p.push(r.stdout);
    assertEquals(seen, names);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
