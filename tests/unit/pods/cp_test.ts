import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { allDestination, parseCpSpec } from "../../../src/pods/cp.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { extractTo, header, localPathFor, packPath } from "../../../src/pods/tar.ts";

Deno.test("cp paths: [ns/]pod:path vs local", () => {
  assertEquals(parseCpSpec("api-1:/tmp/x"), { kind: "pod", pod: "api-1", path: "/tmp/x" });
  assertEquals(parseCpSpec("prod/api-1:rel/x"), {
    kind: "pod",
    namespace: "prod",
    pod: "api-1",
    path: "rel/x",
  });
  assertEquals(parseCpSpec(":/tmp/"), { kind: "pod", path: "/tmp/" });
  assertEquals(parseCpSpec("./a:b"), { kind: "local", path: "./a:b" });
  assertEquals(parseCpSpec("/abs/a:b"), { kind: "local", path: "/abs/a:b" });
  assertEquals(parseCpSpec("file.txt"), { kind: "local", path: "file.txt" });
  assertThrows(() => parseCpSpec("a/b/c:/x"), "[namespace/]pod:path");
  assertThrows(() => parseCpSpec("api-1:"), "no path");
});

Deno.test("cp --all: a pod-prefixed destination is refused, saying what to write (issue 52.10)", () => {
  assertEquals(allDestination("/tmp/f"), "/tmp/f");
  assertEquals(allDestination(":/tmp/f"), "/tmp/f");
  assertEquals(allDestination("deploy/api:/tmp/"), "/tmp/");
  for (
    const [dst, names, write] of [
      ["load:/tmp/f", "pod load", "write /tmp/f "],
      ["prod/api-1:/etc/x", "namespace prod, pod api-1", "write /etc/x "],
    ]
  ) {
    let e: KodamaError | undefined;
    try {
      allDestination(dst);
    } catch (x) {
      e = x as KodamaError;
    }
    assert(e instanceof KodamaError, dst);
    assertEquals(e.code, 2);
    assert(e.message.includes(`"${dst}" names ${names}`), e.message);
    assert(e.hint?.startsWith(write), e.hint);
  }
});

Deno.test("extraction never escapes the destination", () => {
  assertEquals(localPathFor("data/a/b.txt", "data", "/out/d"), "/out/d/a/b.txt");
  assertEquals(localPathFor("data", "data", "/out/d"), "/out/d");
  assertEquals(localPathFor("data/../../etc/passwd", "data", "/out/d"), undefined);
  assertEquals(localPathFor("/etc/passwd", "etc", "/out/d"), undefined);
  assertEquals(localPathFor("other/x", "data", "/out/d"), undefined);
});

async function collect(gen: AsyncGenerator<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of gen) parts.push(p.slice());
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("tar: our archive is read by system tar, system tar's archive by our parser (long names, binary)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = `${dir}/src`;
    const long = "d".repeat(60) + "/" + "f".repeat(70);
    await Deno.mkdir(`${src}/sub/${"d".repeat(60)}`, { recursive: true });
    const bin = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    await Deno.writeFile(`${src}/sub/bin.dat`, bin);
    await Deno.writeTextFile(`${src}/sub/${long}`, "long name\n");
    await Deno.writeTextFile(`${src}/empty`, "");
    await Deno.symlink("sub/bin.dat", `${src}/link`);
    // ours -> system tar
    const archive = await collect(packPath(src, "renamed"));
    await Deno.writeFile(`${dir}/a.tar`, archive);
    await Deno.mkdir(`${dir}/x1`);
    const r = await new Deno.Command("tar", { args: ["-xf", `${dir}/a.tar`, "-C", `${dir}/x1`] }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    assertEquals(await Deno.readFile(`${dir}/x1/renamed/sub/bin.dat`), bin);
    assertEquals(await Deno.readTextFile(`${dir}/x1/renamed/sub/${long}`), "long name\n");
    assertEquals(await Deno.readLink(`${dir}/x1/renamed/link`), "sub/bin.dat");
    // system tar (GNU long names) -> ours, fed in odd-sized chunks
    const t = await new Deno.Command("tar", { args: ["-cf", "-", "-C", dir, "src"], stdout: "piped" })
      .output();
    const warnings: string[] = [];
    const parser = extractTo(`${dir}/x2`, "src", (m) => warnings.push(m));
    for (let i = 0; i < t.stdout.length; i += 777) await parser.push(t.stdout.subarray(i, i + 777));
    assert(parser.done);
    assertEquals(await Deno.readFile(`${dir}/x2/sub/bin.dat`), bin);
    assertEquals(await Deno.readTextFile(`${dir}/x2/sub/${long}`), "long name\n");
    assertEquals(await Deno.readTextFile(`${dir}/x2/empty`), "");
    assertEquals(warnings, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract refuses paths through symlinks (chained links cannot escape the destination)", async () => {
  const base = await Deno.makeTempDir();
  const dest = `${base}/out/dest`;
  await Deno.mkdir(`${base}/out`, { recursive: true });
  const now = Date.now() / 1000;
  const parts: Uint8Array[] = [];
  parts.push(...header({ name: "src", type: "directory", size: 0, mode: 0o755, mtime: now }));
  parts.push(...header({ name: "src/x", type: "directory", size: 0, mode: 0o755, mtime: now }));
  parts.push(
    ...header({ name: "src/x/y", type: "symlink", size: 0, mode: 0o777, mtime: now, linkname: ".." }),
  );
  parts.push(
    ...header({ name: "src/x/y/z", type: "symlink", size: 0, mode: 0o777, mtime: now, linkname: ".." }),
  );
  const data = new TextEncoder().encode("pwned\n");
  parts.push(...header({ name: "src/x/y/z/evil", type: "file", size: data.length, mode: 0o644, mtime: now }));
  parts.push(data, new Uint8Array(512 - data.length), new Uint8Array(1024));
  const warnings: string[] = [];
  const p = extractTo(dest, "src", (m) => warnings.push(m));
  for (const c of parts) await p.push(c);
  await p.idle();
  for (const f of [`${base}/out/evil`, `${base}/evil`, `${dest}/evil`]) {
    assert(!(await Deno.stat(f).then(() => true, () => false)), `${f} must not be written`);
  }
  assert(warnings.some((w) => w.includes("goes through a symlink")), warnings.join("\n"));
  await Deno.remove(base, { recursive: true });
});

Deno.test("tar: hard links survive both ways (ours -> system tar, system tar -> ours); a FIFO is named, not copied", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/sub`, { recursive: true });
    await Deno.writeTextFile(`${src}/a`, "one inode, two names\n");
    await Deno.link(`${src}/a`, `${src}/sub/b`);
    const mk = await new Deno.Command("mkfifo", { args: [`${src}/pipe`] }).output();
    assertEquals(mk.code, 0);
    // ours -> system tar: `b` arrives as a link to `a`, and the FIFO is reported
    const packWarnings: string[] = [];
    const archive = await collect(packPath(src, "src", { warn: (m) => packWarnings.push(m) }));
    assertEquals(packWarnings, [`skipping ${src}/pipe: it is a FIFO, which is not copied`]);
    await Deno.writeFile(`${dir}/a.tar`, archive);
    const list = await new Deno.Command("tar", { args: ["-tvf", `${dir}/a.tar`], stdout: "piped" }).output();
    assert(
      /src\/sub\/b link to src\/a/.test(new TextDecoder().decode(list.stdout)),
      "b is a hard-link entry",
    );
    await Deno.mkdir(`${dir}/x1`);
    const r = await new Deno.Command("tar", { args: ["-xf", `${dir}/a.tar`, "-C", `${dir}/x1`] }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const [s1, s2] = [await Deno.stat(`${dir}/x1/src/a`), await Deno.stat(`${dir}/x1/src/sub/b`)];
    assertEquals([s1.ino, s1.nlink], [s2.ino, 2]);
    // system tar (hard link + FIFO entries) -> ours
    const t = await new Deno.Command("tar", { args: ["-cf", "-", "-C", dir, "src"], stdout: "piped" })
      .output();
    const warnings: string[] = [];
    const parser = extractTo(`${dir}/x2`, "src", (m) => warnings.push(m));
    for (let i = 0; i < t.stdout.length; i += 333) await parser.push(t.stdout.subarray(i, i + 333));
    assert(parser.done);
    const [a, b] = [await Deno.stat(`${dir}/x2/a`), await Deno.stat(`${dir}/x2/sub/b`)];
    assertEquals(a.ino, b.ino);
    assertEquals(await Deno.readTextFile(`${dir}/x2/sub/b`), "one inode, two names\n");
    assertEquals(warnings, ["skipping src/pipe: it is a FIFO, which is not copied"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: a hard link to a file outside the destination is refused with a warning", async () => {
  const base = await Deno.makeTempDir();
  const dest = `${base}/dest`;
  await Deno.writeTextFile(`${base}/secret`, "host file\n");
  const now = Date.now() / 1000;
  const parts: Uint8Array[] = [];
  parts.push(...header({ name: "src", type: "directory", size: 0, mode: 0o755, mtime: now }));
  parts.push(
    ...header({ name: "src/ln", type: "hardlink", size: 0, mode: 0o644, mtime: now, linkname: "../secret" }),
  );
  parts.push(
    ...header({
      name: "src/ln2",
      type: "hardlink",
      size: 0,
      mode: 0o644,
      mtime: now,
      linkname: "/etc/passwd",
    }),
  );
  parts.push(new Uint8Array(1024));
  const warnings: string[] = [];
  const p = extractTo(dest, "src", (m) => warnings.push(m));
  for (const c of parts) await p.push(c);
  await p.idle();
  assert(!(await Deno.stat(`${dest}/ln`).then(() => true, () => false)));
  assert(!(await Deno.stat(`${dest}/ln2`).then(() => true, () => false)));
  assertEquals(warnings.length, 2, warnings.join("\n"));
  assert(warnings.every((w) => w.includes("outside the destination")), warnings.join("\n"));
  await Deno.remove(base, { recursive: true });
});

Deno.test("extract: link chains, absolute links, links into .git and a link planted mid-archive never lead out (#50)", async () => {
  const base = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${base}/.ssh`);
    await Deno.writeTextFile(`${base}/.ssh/authorized_keys`, "mine\n");
    const dest = `${base}/out/src`;
    await Deno.mkdir(`${base}/out/src/.git/hooks`, { recursive: true });
    const now = Date.now() / 1000;
    const parts: Uint8Array[] = [];
    const dir = (name: string) =>
      parts.push(...header({ name, type: "directory", size: 0, mode: 0o755, mtime: now }));
    const ln = (name: string, linkname: string) =>
      parts.push(...header({ name, type: "symlink", size: 0, mode: 0o777, mtime: now, linkname }));
    const file = (name: string, text: string) => {
      const data = new TextEncoder().encode(text);
      parts.push(...header({ name, type: "file", size: data.length, mode: 0o644, mtime: now }));
      parts.push(data, new Uint8Array(512 - data.length));
    };
    dir("src");
    dir("src/d");
    ln("src/d/a", ".."); // the destination itself: kept
    ln("src/d/b", "a/..");
    ln("src/d/c", "b/..");
    ln("src/notes.md", "d/c/../../.ssh/authorized_keys");
    ln("src/abs", `${base}/.ssh/authorized_keys`);
    ln("src/hookslink", ".git/hooks");
    ln("src/up", "..");
    file("src/up/x", "through a link to the parent\n"); // a file through a link made by this archive
    ln("src/in", "d");
    file("src/in/y", "through a link inside\n");
    file("src/d/a/z", "through d/a\n");
    file("src/ok.txt", "kept\n");
    parts.push(new Uint8Array(1024));
    const warnings: string[] = [];
    const refused: string[] = [];
    const p = extractTo(dest, "src", (m) => warnings.push(m), { onRefused: (n) => refused.push(n) });
    for (const c of parts) await p.push(c);
    await p.idle();
    assertEquals(await Deno.readTextFile(`${base}/.ssh/authorized_keys`), "mine\n");
    for (const f of ["d/b", "d/c", "notes.md", "abs", "hookslink"]) {
      assert(!(await Deno.lstat(`${dest}/${f}`).catch(() => false)), `${f} was made: ${warnings.join("\n")}`);
    }
    for (const f of [`${base}/out/x`, `${dest}/y`, `${dest}/z`, `${dest}/d/y`]) {
      assert(!(await Deno.lstat(f).catch(() => false)), `${f} was written through a link`);
    }
    // the refused link `up` is not there: its file lands in a directory of that name, inside
    assert((await Deno.lstat(`${dest}/up`)).isDirectory);
    assertEquals(await Deno.readTextFile(`${dest}/up/x`), "through a link to the parent\n");
    assertEquals(await Deno.readLink(`${dest}/d/a`), "..");
    assertEquals(await Deno.readLink(`${dest}/in`), "d");
    assertEquals(await Deno.readTextFile(`${dest}/ok.txt`), "kept\n");
    assertEquals(
      refused.sort(),
      [
        "src/abs",
        "src/d/a/z",
        "src/d/b",
        "src/d/c",
        "src/hookslink",
        "src/in/y",
        "src/notes.md",
        "src/up",
      ],
      warnings.join("\n"),
    );
    assert(warnings.some((w) => /hookslink.*\.git/.test(w)), warnings.join("\n"));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

/**
 * The root every link is measured against comes from the destination, never from an entry: the archive's
 * top entry is the destination itself, everything below it lands inside it, and a top entry that is not a
 * directory (a file, a link, a FIFO that is skipped, a link that is refused) makes a one-entry archive, so
 * nothing after it is written. Before, a skipped or refused top entry let the root become the destination's
 * parent, and a later `cfg/` entry made the destination with every link check below it measured there.
 */
Deno.test("extract: the root comes from the destination, never from the archive's first entry", async (t) => {
  const now = Date.now() / 1000;
  type E = {
    name: string;
    type: "directory" | "file" | "symlink" | "fifo" | "hardlink";
    to?: string;
    text?: string;
  };
  const tarOf = (entries: E[]): Uint8Array[] => {
    const parts: Uint8Array[] = [];
    for (const e of entries) {
      const data = new TextEncoder().encode(e.text ?? "");
      const size = e.type === "file" ? data.length : 0;
      parts.push(
        ...header({
          name: e.name,
          type: e.type,
          size,
          mode: e.type === "directory" ? 0o755 : 0o644,
          mtime: now,
          linkname: e.to,
        }),
      );
      if (size) parts.push(data, new Uint8Array((512 - (size % 512)) % 512));
    }
    parts.push(new Uint8Array(1024));
    return parts;
  };
  const run = async (entries: E[]) => {
    const base = await Deno.realPath(await Deno.makeTempDir());
    await Deno.mkdir(`${base}/.ssh`);
    await Deno.writeTextFile(`${base}/.ssh/authorized_keys`, "mine\n");
    await Deno.writeTextFile(`${base}/sibling`, "a file beside the destination\n");
    const dest = `${base}/cfg`;
    const warnings: string[] = [];
    const refused: string[] = [];
    const p = extractTo(dest, "cfg", (m) => warnings.push(m), { onRefused: (n) => refused.push(n) });
    for (const c of tarOf(entries)) await p.push(c);
    await p.idle();
    assert(p.done);
    return { base, dest, warnings, refused };
  };
  const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);
  const out = "../.ssh/authorized_keys";

  for (
    const [label, top] of [
      ["a FIFO first (skipped)", { name: "cfg", type: "fifo" }],
      ["a refused symlink first", { name: "cfg", type: "symlink", to: "/etc" }],
      ["a symlink out of the parent first", { name: "cfg", type: "symlink", to: "../../x" }],
    ] as [string, E][]
  ) {
    await t.step(`${label}, then cfg/ and cfg/keys -> ${out}: nothing after it is written`, async () => {
      const r = await run([top, { name: "cfg/", type: "directory" }, {
        name: "cfg/keys",
        type: "symlink",
        to: out,
      }]);
      try {
        assertEquals(await Deno.readTextFile(`${r.base}/.ssh/authorized_keys`), "mine\n");
        assert(!(await exists(`${r.dest}/keys`)), `cfg/keys was made: ${r.warnings.join("\n")}`);
        assert(!(await exists(r.dest)), `the destination was made: ${r.warnings.join("\n")}`);
        // the parser names a directory entry without its slash
        assert(r.refused.includes("cfg") && r.refused.includes("cfg/keys"), r.refused.join(", "));
        assert(
          r.warnings.some((w) => /skipping cfg\/keys: .*not a directory/.test(w)),
          r.warnings.join("\n"),
        );
      } finally {
        await Deno.remove(r.base, { recursive: true });
      }
    });
  }

  await t.step(
    "a file first, then a directory of the same name and a file in it: only the file",
    async () => {
      const r = await run([
        { name: "cfg", type: "file", text: "one file\n" },
        { name: "cfg/", type: "directory" },
        { name: "cfg/x", type: "file", text: "below a file\n" },
        { name: "cfg", type: "symlink", to: "sibling" },
      ]);
      try {
        assertEquals(await Deno.readTextFile(r.dest), "one file\n");
        assertEquals(r.refused, ["cfg", "cfg/x", "cfg"], r.warnings.join("\n"));
      } finally {
        await Deno.remove(r.base, { recursive: true });
      }
    },
  );

  await t.step("a single link may point beside the destination (its own directory), not above", async () => {
    const ok = await run([{ name: "cfg", type: "symlink", to: "sibling" }]);
    const up = await run([{ name: "cfg", type: "symlink", to: out }]);
    try {
      assertEquals(await Deno.readLink(ok.dest), "sibling");
      assertEquals(ok.warnings, []);
      assert(!(await exists(up.dest)));
      assertEquals(up.refused, ["cfg"]);
    } finally {
      await Deno.remove(ok.base, { recursive: true });
      await Deno.remove(up.base, { recursive: true });
    }
  });

  await t.step(
    "a directory's entries are measured against the destination, whatever comes first",
    async () => {
      for (
        const entries of [
          // the usual order
          [{ name: "cfg/", type: "directory" }, { name: "cfg/keys", type: "symlink", to: out }],
          // no top entry at all: the children still land inside the destination, checked against it
          [{ name: "cfg/keys", type: "symlink", to: out }],
          // a child before the top entry: the top entry may not come later and turn the destination into a link
          [
            { name: "cfg/a", type: "file", text: "a\n" },
            { name: "cfg", type: "symlink", to: "sibling" },
            { name: "cfg/keys", type: "symlink", to: out },
          ],
          // the top entry twice: the second is refused (it could swap the destination for a link)
          [
            { name: "cfg/", type: "directory" },
            { name: "cfg", type: "symlink", to: "sibling" },
            { name: "cfg/keys", type: "symlink", to: out },
          ],
        ] as E[][]
      ) {
        const r = await run(entries);
        try {
          assertEquals(await Deno.readTextFile(`${r.base}/.ssh/authorized_keys`), "mine\n");
          assert(!(await exists(`${r.dest}/keys`)), `cfg/keys was made: ${JSON.stringify(entries)}`);
          assert(
            !(await Deno.lstat(r.dest).then((s) => s.isSymlink, () => false)),
            `the destination became a link: ${JSON.stringify(entries)}`,
          );
          assert(!(await exists(`${r.base}/a`)));
          assert(r.refused.includes("cfg/keys"), `${JSON.stringify(entries)}: ${r.warnings.join("\n")}`);
          assert(r.warnings.some((w) => /symlink out of the tree/.test(w)), r.warnings.join("\n"));
        } finally {
          await Deno.remove(r.base, { recursive: true });
        }
      }
    },
  );

  await t.step("a link inside the tree still works, and a FIFO below the top is only skipped", async () => {
    const r = await run([
      { name: "cfg/", type: "directory" },
      { name: "cfg/p", type: "fifo" },
      { name: "cfg/a", type: "file", text: "a\n" },
      { name: "cfg/b", type: "symlink", to: "a" },
    ]);
    try {
      assertEquals(await Deno.readTextFile(`${r.dest}/b`), "a\n");
      assertEquals(r.refused, []);
      assertEquals(r.warnings, ["skipping cfg/p: it is a FIFO, which is not copied"]);
    } finally {
      await Deno.remove(r.base, { recursive: true });
    }
  });
});
