/**
 * src/base/fs/realpath.ts landingOf, the one "real path of the longest existing prefix" walk (realLanding and
 * config/confine.ts whereTo are it): links, dangling links, loops, `..`, and Windows drive and UNC paths
 * (another OS's paths through platform.ts, with a file system that answers for them).
 */
import { assertEquals, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { type LandingFs, landingOf, realLanding } from "../../../../src/base/fs/realpath.ts";
import { whereTo } from "../../../../src/config/confine.ts";
import { platformFor } from "../../../../src/base/platform.ts";

async function tmp(): Promise<string> {
  return await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-realpath-" }));
}

Deno.test("landingOf: an existing path is its real path; a missing rest is kept as written", async () => {
  const d = await tmp();
  try {
    await Deno.mkdir(join(d, "real"));
    await Deno.symlink(join(d, "real"), join(d, "link"));
    assertEquals(await landingOf(join(d, "link")), { real: join(d, "real"), dangling: false });
    assertEquals(await landingOf(join(d, "link", "new", "f")), {
      real: join(d, "real", "new", "f"),
      dangling: false,
    });
    // `..` is worked out on the path as written, before any link is followed
    assertEquals((await landingOf(join(d, "link", "..", "x"))).real, join(d, "x"));
    // a file on the way: the rest is kept (NotADirectory is "not there")
    await Deno.writeTextFile(join(d, "file"), "");
    assertEquals((await landingOf(join(d, "file", "x"))).real, join(d, "file", "x"));
  } finally {
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("landingOf: a dangling link is followed to where it lands, and reported", async () => {
  const d = await tmp();
  const out = await tmp();
  try {
    await Deno.symlink(join(out, "not-yet"), join(d, "dangling"));
    assertEquals(await landingOf(join(d, "dangling", "f")), {
      real: join(out, "not-yet", "f"),
      dangling: true,
    });
    assertEquals(await realLanding(join(d, "dangling")), join(out, "not-yet"));
    // whereTo: the strict answer, the path as resolved and "leads out"
    assertEquals(await whereTo(join(d, "dangling", "f")), { real: join(d, "dangling", "f"), dangling: true });
  } finally {
    await Deno.remove(d, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("landingOf: a symlink loop ends (dangling, the path as resolved), never hangs or throws", async () => {
  const d = await tmp();
  try {
    await Deno.symlink(join(d, "b"), join(d, "a"));
    await Deno.symlink(join(d, "a"), join(d, "b"));
    await Deno.symlink("self", join(d, "self"));
    for (const p of [join(d, "a"), join(d, "a", "x"), join(d, "self", "y")]) {
      assertEquals(await landingOf(p), { real: p, dangling: true }, p);
      assertEquals((await whereTo(p)).dangling, true, p);
    }
  } finally {
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("landingOf: an error other than 'not there' is thrown, not taken for a missing path", async () => {
  const fs: LandingFs = {
    realPath: () => Promise.reject(new Deno.errors.PermissionDenied("denied")),
    readLink: () => Promise.resolve(undefined),
  };
  const e = await assertRejects(
    () => landingOf("/locked/x", { platform: platformFor("linux"), fs }),
    "denied",
  );
  assertEquals(e instanceof Deno.errors.PermissionDenied, true);
});

/** A file system of another OS: `exists` are real paths (no links among them), `links` dangling links. */
function fakeFs(exists: string[], links: Record<string, string>): LandingFs {
  const there = new Set(exists);
  return {
    realPath: (p) => there.has(p) ? Promise.resolve(p) : Promise.reject(new Deno.errors.NotFound(p)),
    readLink: (p) => Promise.resolve(links[p]),
  };
}

Deno.test("landingOf on Windows: drive letters, a link to another drive, UNC shares, `..`", async () => {
  const platform = platformFor("windows", () => undefined, () => "C:\\work");
  const fs = fakeFs(["C:\\", "C:\\Users", "C:\\Users\\me", "D:\\", "\\\\srv\\share\\", "\\\\srv\\share\\a"], {
    "C:\\Users\\me\\link": "D:\\data",
    "C:\\Users\\me\\rel": "..\\other",
  });
  const at = (p: string) => landingOf(p, { platform, fs });
  assertEquals(await at("C:\\Users\\me\\new\\f.txt"), { real: "C:\\Users\\me\\new\\f.txt", dangling: false });
  assertEquals(await at("C:\\Users\\me\\link\\f.txt"), { real: "D:\\data\\f.txt", dangling: true });
  assertEquals(await at("C:\\Users\\me\\rel\\f"), { real: "C:\\Users\\other\\f", dangling: true });
  assertEquals(await at("C:\\Users\\me\\..\\x"), { real: "C:\\Users\\x", dangling: false });
  assertEquals(await at("\\\\srv\\share\\a\\new\\x"), { real: "\\\\srv\\share\\a\\new\\x", dangling: false });
  // nothing exists, not even the drive: the path as resolved
  assertEquals(await at("E:\\x\\y"), { real: "E:\\x\\y", dangling: false });
  assertEquals(await at("\\\\other\\share\\x"), { real: "\\\\other\\share\\x", dangling: false });
  // a relative path resolves against the platform's cwd
  assertEquals((await at("sub\\f")).real, "C:\\work\\sub\\f");
});

Deno.test("landingOf: dangling links that point at each other stop after 40 hops", async () => {
  const platform = platformFor("linux", () => undefined, () => "/");
  let asked = 0;
  const fs = fakeFs(["/", "/d"], { "/d/a": "/d/b", "/d/b": "/d/a" });
  const counting: LandingFs = { ...fs, readLink: (p) => (asked++, fs.readLink(p)) };
  assertEquals(await landingOf("/d/a/x", { platform, fs: counting }), { real: "/d/a/x", dangling: true });
  assertEquals(asked <= 42, true, `${asked} links read`);
});
