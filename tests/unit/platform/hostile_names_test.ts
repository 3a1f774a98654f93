/**
 * Hostile names from a pod (#36) for `kodama cp` and tar extraction, judged with Windows' path
 * operations and naming rules from this Linux machine: `a\b`, `..\..\x`, `CON`, `x:y`, a trailing dot,
 * `Foo`/`foo` and NFC/NFD pairs on a folding file system, and a hard link out of the tree.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { entryProblem, extractTo, header, localPathFor, packPath } from "../../../src/pods/tar.ts";
import { parseCpSpec } from "../../../src/pods/cp.ts";
import { pathOps } from "../../../src/base/fs/fspath.ts";
import { defaultFolding, type OS, type Platform, platformFor } from "../../../src/base/platform.ts";

const win = platformFor("windows", () => undefined, () => "C:\\work");
const linux = platformFor("linux", () => undefined, () => "/work");
const mac = platformFor("darwin", () => undefined, () => "/work");

const NFC = "caf\u00e9";
const NFD = "cafe\u0301";

Deno.test("tar entries: hostile names are refused with Windows rules, kept on Linux where legal", () => {
  // [entry, lands on linux at, refused on windows]
  const table: [string, string | undefined, boolean][] = [
    ["data/ok.txt", "/out/d/ok.txt", false],
    ["data/a\\b", "/out/d/a\\b", true],
    ["data/..\\..\\x", "/out/d/..\\..\\x", true],
    [
      "data/..\\..\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.cmd",
      undefined,
      true,
    ],
    ["data/CON", "/out/d/CON", true],
    ["data/sub/nul.txt", "/out/d/sub/nul.txt", true],
    ["data/x:y", "/out/d/x:y", true],
    ["data/C:\\evil", "/out/d/C:\\evil", true],
    ["data/trailing.", "/out/d/trailing.", true],
    ["data/space ", "/out/d/space ", true],
    ["data/../../etc/passwd", undefined, true],
    ["/etc/passwd", undefined, true],
  ];
  for (const [entry, onLinux, winRefused] of table) {
    if (onLinux !== undefined || !entry.includes("Startup")) {
      assertEquals(localPathFor(entry, "data", "/out/d", linux), onLinux, `linux ${entry}`);
    }
    const w = localPathFor(entry, "data", "C:\\out\\d", win);
    assertEquals(w === undefined, winRefused, `windows ${entry} -> ${w}`);
    if (winRefused) assert(entryProblem(entry, "data", win), `a reason for ${entry}`);
  }
  assertEquals(localPathFor("data/sub/ok.txt", "data", "C:\\out\\d", win), "C:\\out\\d\\sub\\ok.txt");
  assertEquals(entryProblem("data/CON", "data", win), '"CON" is a reserved device name on Windows');
  // a hard link's target is judged like a name: out of the tree is refused everywhere
  for (const p of [linux, mac, win]) {
    assertEquals(localPathFor("data/../../home/me/.ssh/id_ed25519", "data", "/out/d", p), undefined, p.os);
    assertEquals(localPathFor("etc/passwd", "data", "/out/d", p), undefined, p.os);
  }
});

/** Windows' naming rules over this machine's real (POSIX) paths: extraction runs for real. */
function windowsRulesHere(): Platform {
  return { ...win, path: pathOps("linux") };
}

function archive(entries: { name: string; type?: "file" | "hardlink"; data?: string; linkname?: string }[]) {
  const enc = new TextEncoder();
  const now = Date.now() / 1000;
  const parts: Uint8Array[] = [
    ...header({ name: "data", type: "directory", size: 0, mode: 0o755, mtime: now }),
  ];
  for (const e of entries) {
    const data = enc.encode(e.data ?? "");
    const type = e.type ?? "file";
    const size = type === "file" ? data.length : 0;
    parts.push(...header({ name: e.name, type, size, mode: 0o644, mtime: now, linkname: e.linkname }));
    if (size) parts.push(data, new Uint8Array((512 - (size % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return parts;
}

async function extract(parts: Uint8Array[], o: Parameters<typeof extractTo>[3]) {
  const base = await Deno.makeTempDir();
  const dest = `${base}/out/d`;
  await Deno.mkdir(`${base}/out`);
  const warnings: string[] = [];
  const p = extractTo(dest, "data", (m) => warnings.push(m), o);
  for (const c of parts) await p.push(c);
  await p.idle();
  const files: string[] = [];
  const walk = (d: string, pre: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(`${d}/${e.name}`, `${pre}${e.name}/`);
      else files.push(`${pre}${e.name}`);
    }
  };
  walk(base, "");
  await Deno.remove(base, { recursive: true });
  return { files: files.sort(), warnings };
}

Deno.test("extract with Windows rules: every hostile entry skipped with its reason, the good one written", async () => {
  const hostile = ["data/a\\b", "data/..\\..\\x", "data/CON", "data/x:y", "data/trailing.", "data/aux.txt"];
  const parts = archive([...hostile.map((name) => ({ name, data: "bad" })), {
    name: "data/good",
    data: "ok",
  }]);
  const { files, warnings } = await extract(parts, { platform: windowsRulesHere() });
  assertEquals(files, ["out/d/good"]);
  assertEquals(warnings.length, hostile.length, warnings.join("\n"));
  for (const h of hostile) assert(warnings.some((w) => w.startsWith(`skipping ${h}: `)), h);
});

Deno.test("extract on a folding file system: Foo then foo, NFC then NFD — the second is skipped, nothing overwritten", async () => {
  const parts = archive([
    { name: "data/Foo.ts", data: "upper" },
    { name: "data/foo.ts", data: "lower" },
    { name: `data/${NFC}`, data: "nfc" },
    { name: `data/${NFD}`, data: "nfd" },
  ]);
  const table: [OS, number][] = [["linux", 0], ["windows", 1], ["darwin", 2]];
  for (const [os, skipped] of table) {
    const { warnings } = await extract(parts, { folding: defaultFolding(platformFor(os)) });
    assertEquals(warnings.length, skipped, `${os}: ${warnings.join("\n")}`);
    if (skipped) {
      assertEquals(
        warnings[0],
        "skipping data/foo.ts: this file system stores it as the same file as data/Foo.ts",
      );
    }
  }
});

Deno.test("extract: a hard link whose target is out of the tree is never made", async () => {
  const parts = archive([
    { name: "data/in", data: "inside" },
    { name: "data/h1", type: "hardlink", linkname: "etc/passwd" },
    { name: "data/h2", type: "hardlink", linkname: "data/../../../etc/passwd" },
    { name: "data/h3", type: "hardlink", linkname: "data/in" },
  ]);
  const { files, warnings } = await extract(parts, {});
  assertEquals(files, ["out/d/h3", "out/d/in"]);
  assertEquals(warnings.filter((w) => w.includes("outside the destination")).length, 2, warnings.join("\n"));
});

Deno.test("pack on Windows: modes are 0644/0755, never Windows' world-writable 0666", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/src/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/src/f`, "x");
    await Deno.chmod(`${dir}/src/f`, 0o666);
    await Deno.chmod(`${dir}/src/sub`, 0o777);
    const modes = async (p: Platform) => {
      const chunks: Uint8Array[] = [];
      for await (const c of packPath(`${dir}/src`, "src", { platform: p })) chunks.push(c.slice());
      const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of chunks) all.set(c, o), o += c.length;
      const out: Record<string, string> = {};
      for (let i = 0; i + 512 <= all.length; i += 512) {
        const name = new TextDecoder().decode(all.subarray(i, i + 100)).replace(/\0.*$/s, "");
        if (!name.startsWith("src")) continue;
        out[name] = new TextDecoder().decode(all.subarray(i + 100, i + 107));
      }
      return out;
    };
    await Deno.chmod(`${dir}/src`, 0o777);
    assertEquals(await modes(linux), { "src/": "0000777", "src/f": "0000666", "src/sub/": "0000777" });
    assertEquals(await modes(windowsRulesHere()), {
      "src/": "0000755",
      "src/f": "0000644",
      "src/sub/": "0000755",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cp specs per OS: C:\\x is a local path on Windows, never pod C", () => {
  const table: [OS, string, ReturnType<typeof parseCpSpec>][] = [
    ["windows", "C:\\Users\\me\\x", { kind: "local", path: "C:\\Users\\me\\x" }],
    ["windows", "c:x", { kind: "local", path: "c:x" }],
    ["windows", "D:/data", { kind: "local", path: "D:/data" }],
    ["windows", "\\\\server\\share\\f", { kind: "local", path: "\\\\server\\share\\f" }],
    ["windows", ".\\a:b", { kind: "local", path: ".\\a:b" }],
    ["windows", "..\\a:b", { kind: "local", path: "..\\a:b" }],
    ["windows", "~\\x", { kind: "local", path: "~\\x" }],
    ["windows", "api-1:/tmp/x", { kind: "pod", pod: "api-1", path: "/tmp/x" }],
    ["windows", "prod/api-1:C:\\x", { kind: "pod", namespace: "prod", pod: "api-1", path: "C:\\x" }],
    ["linux", "c:/tmp/x", { kind: "pod", pod: "c", path: "/tmp/x" }],
    ["darwin", "./a:b", { kind: "local", path: "./a:b" }],
    ["darwin", "api-1:/tmp/x", { kind: "pod", pod: "api-1", path: "/tmp/x" }],
  ];
  for (const [os, spec, want] of table) {
    assertEquals(parseCpSpec(spec, platformFor(os)), want, `${os} ${spec}`);
  }
});
