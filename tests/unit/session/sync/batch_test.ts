/**
 * The batch wire format end to end without a cluster: the stream `batchStream` makes is fed to the
 * pod-side script, run locally by sh + GNU tar and by busybox's sh/tar/rm (the real cluster's and the
 * test images' tools), and both sides' checksum-and-mode listings are compared.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  APPLY_SCRIPT,
  type Batch,
  batchStream,
  encodeDeletes,
  GzipChunker,
  shardBatch,
  type Zlib,
} from "../../../../src/session/sync/batch.ts";
import { CHANNEL_SCRIPT, GZIP_APPLY_SCRIPT } from "../../../../src/session/sync/remote.ts";
import zlib from "node:zlib";
import { IgnoreRules } from "../../../../src/session/sync/ignore.ts";
import { diffTrees, scanTree } from "../../../../src/session/sync/scan.ts";
import { BUSYBOX, EXCLUDE_PATTERNS, localListing, makeTree, withoutIgnored } from "../../../_sync_tree.ts";

/** A PATH holding only busybox applets (sh, tar, rm, mkdir, printf). */
async function busyboxPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-bb-" });
  for (const a of ["sh", "tar", "rm", "mkdir", "printf", "head"]) await Deno.symlink(BUSYBOX!, `${dir}/${a}`);
  return dir;
}

async function apply(root: string, batch: Batch, dest: string, shell: "host" | "busybox"): Promise<void> {
  const env: Record<string, string> = {};
  let sh = "sh";
  if (shell === "busybox") {
    const bin = await busyboxPath();
    env.PATH = bin;
    sh = `${bin}/sh`;
  }
  const child = new Deno.Command(sh, {
    args: ["-c", APPLY_SCRIPT, "sh", dest],
    stdin: "piped",
    stderr: "piped",
    stdout: "null",
    env,
  }).spawn();
  const w = child.stdin.getWriter();
  let total = 0;
  for await (const chunk of batchStream(root, batch, { files: 0, bytes: 0 })) {
    total += chunk.length;
    await w.write(chunk);
  }
  // the script must finish without stdin's EOF (pre-1.30 WebSocket exec cannot send one): close only after
  const st = await Promise.race([child.status, new Promise((r) => setTimeout(() => r("stuck"), 20_000))]);
  await w.close().catch(() => {});
  const err = new TextDecoder().decode(
    (await child.output().catch(() => ({ stderr: new Uint8Array() }))).stderr,
  );
  assert(st !== "stuck", `the apply script waited for stdin's EOF (${shell})`);
  assertEquals((st as Deno.CommandStatus).code, 0, err);
  assert(total > 0);
}

for (const shell of ["host", "busybox"] as const) {
  Deno.test({
    name: `batch: a full tree arrives identical except ignored paths (${shell} sh + tar)`,
    ignore: shell === "busybox" && !BUSYBOX,
    async fn() {
      const src = await Deno.makeTempDir({ prefix: "kodama-src-" });
      const dest = await Deno.makeTempDir({ prefix: "kodama-dest-" });
      try {
        await makeTree(src);
        const rules = new IgnoreRules(src, {
          useGitignore: true,
          excludePatterns: EXCLUDE_PATTERNS,
          syncGit: true,
        });
        const now = await scanTree(src, rules);
        const d = diffTrees(new Map(), now);
        await apply(src, { deletes: [], sends: d.changed.map((p) => [p, now.get(p)!]) }, `${dest}/ws`, shell);
        assertEquals(await localListing(`${dest}/ws`), withoutIgnored(await localListing(src)));
        // the link pointing out stays a link (not the target's content)
        assertEquals(await Deno.readLink(`${dest}/ws/sub/link-out`), "../../../etc/hostname");
        // the hard link is one inode again
        const a = await Deno.lstat(`${dest}/ws/a.txt`), h = await Deno.lstat(`${dest}/ws/hard.txt`);
        assertEquals(a.ino, h.ino);

        // a second batch: deletes (odd names too), a file that became a directory, a modify
        await Deno.writeTextFile(`${dest}/ws/odd\\name`, "x");
        await Deno.writeTextFile(`${dest}/ws/new\nline`, "x");
        await Deno.remove(`${src}/run.sh`);
        await Deno.remove(`${src}/private.txt`);
        await Deno.mkdir(`${src}/private.txt`);
        await Deno.writeTextFile(`${src}/private.txt/inner`, "now a dir\n");
        await Deno.writeTextFile(`${src}/a.txt`, "changed\n");
        const next = await scanTree(src, rules);
        const d2 = diffTrees(now, next);
        assertEquals(d2.deleted, ["private.txt", "run.sh"]);
        const batch: Batch = {
          deletes: [...d2.deleted, "odd\\name", "new\nline"],
          sends: d2.changed.map((p) => [p, next.get(p)!]),
        };
        await apply(src, batch, `${dest}/ws`, shell);
        assertEquals(await localListing(`${dest}/ws`), withoutIgnored(await localListing(src)));
      } finally {
        await Deno.remove(src, { recursive: true });
        await Deno.remove(dest, { recursive: true });
      }
    },
  });
}

for (const shell of ["host", "busybox"] as const) {
  Deno.test({
    name: `batch: a tree sharded over 4 parallel streams arrives identical (${shell} sh + tar)`,
    ignore: shell === "busybox" && !BUSYBOX,
    async fn() {
      const src = await Deno.makeTempDir({ prefix: "kodama-src-" });
      const dest = await Deno.makeTempDir({ prefix: "kodama-dest-" });
      try {
        await makeTree(src);
        for (let i = 0; i < 40; i++) {
          await Deno.mkdir(`${src}/many/d${i % 5}`, { recursive: true });
          await Deno.writeTextFile(`${src}/many/d${i % 5}/f${i}.txt`, "y".repeat(i * 300));
        }
        const rules = new IgnoreRules(src, {
          useGitignore: true,
          excludePatterns: EXCLUDE_PATTERNS,
          syncGit: true,
        });
        const now = await scanTree(src, rules);
        const d = diffTrees(new Map(), now);
        const whole: Batch = { deletes: [], sends: d.changed.map((p) => [p, now.get(p)!]) };
        const shards = shardBatch(whole, 4);
        assertEquals(shards.length, 4);
        // every file once, every directory in every shard, hard links of one inode in one shard
        const files = shards.flatMap((b) => b.sends.filter(([, e]) => e.kind !== "dir").map(([p]) => p))
          .sort();
        assertEquals(files, whole.sends.filter(([, e]) => e.kind !== "dir").map(([p]) => p).sort());
        const dirs = whole.sends.filter(([, e]) => e.kind === "dir").map(([p]) => p);
        for (const b of shards) {
          assertEquals(b.sends.filter(([, e]) => e.kind === "dir").map(([p]) => p), dirs);
        }
        const holder = (p: string) => shards.findIndex((b) => b.sends.some(([q]) => q === p));
        assertEquals(holder("a.txt"), holder("hard.txt"));
        await Promise.all(shards.map((b) => apply(src, b, `${dest}/ws`, shell)));
        assertEquals(await localListing(`${dest}/ws`), withoutIgnored(await localListing(src)));
        const a = await Deno.lstat(`${dest}/ws/a.txt`), h = await Deno.lstat(`${dest}/ws/hard.txt`);
        assertEquals(a.ino, h.ino);
      } finally {
        await Deno.remove(src, { recursive: true });
        await Deno.remove(dest, { recursive: true });
      }
    },
  });
}

Deno.test("batch: delete lines escape backslash and newline; the archive is exactly as long as announced", async () => {
  assertEquals(new TextDecoder().decode(encodeDeletes(["a", "b\\c", "d\ne"])), "a\nb\\\\c\nd\\ne\n\n");
  const src = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${src}/f`, "x".repeat(700));
    const e =
      (await scanTree(src, new IgnoreRules(src, { useGitignore: true, excludePatterns: [], syncGit: false })))
        .get("f")!;
    let n = 0;
    const del = encodeDeletes(["gone"]).length + "2560\n".length;
    for await (
      const c of batchStream(src, { deletes: ["gone"], sends: [["f", e]] }, { files: 0, bytes: 0 })
    ) {
      n += c.length;
    }
    // the announced length, 512-byte header, 700 bytes padded to 1024, two end blocks
    assertEquals(n - del, 512 + 1024 + 1024);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

for (const shell of ["host", "busybox"] as const) {
  Deno.test({
    name: `channel: one kept-open script applies batch after batch (${shell} sh)`,
    ignore: shell === "busybox" && !BUSYBOX,
    async fn() {
      const src = await Deno.makeTempDir({ prefix: "kodama-src-" });
      const dest = await Deno.makeTempDir({ prefix: "kodama-dest-" });
      const env: Record<string, string> = {};
      let sh = "sh";
      if (shell === "busybox") {
        const bin = await busyboxPath();
        for (const a of ["mktemp", "base64"]) await Deno.symlink(BUSYBOX!, `${bin}/${a}`);
        env.PATH = bin;
        sh = `${bin}/sh`;
      }
      const child = new Deno.Command(sh, {
        args: ["-c", CHANNEL_SCRIPT, "sh", dest, APPLY_SCRIPT],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env,
      }).spawn();
      const w = child.stdin.getWriter();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      const line = async () => {
        while (!buf.includes("\n")) buf += (await reader.read()).value ?? "";
        const i = buf.indexOf("\n");
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return l;
      };
      const rules = new IgnoreRules(src, { useGitignore: true, excludePatterns: [], syncGit: false });
      try {
        assertEquals(await line(), "ready");
        for (let i = 0; i < 3; i++) {
          await Deno.writeTextFile(`${src}/f${i}.txt`, `save ${i}\n`.repeat(i * 1000 + 1));
          const now = await scanTree(src, rules);
          const batch: Batch = {
            deletes: i > 0 ? [`f${i - 1}.txt`] : [],
            sends: [[`f${i}.txt`, now.get(`f${i}.txt`)!]],
          };
          const parts: Uint8Array[] = [];
          for await (const c of batchStream(src, batch, { files: 0, bytes: 0 })) parts.push(c);
          let bin = "";
          for (const p of parts) for (const b of p) bin += String.fromCharCode(b);
          const lines = btoa(bin).match(/.{1,76}/g)!;
          await w.write(new TextEncoder().encode(`${lines.length}\n${lines.join("\n")}\n`));
          assertEquals(await line(), "done 0");
          assertEquals(
            await Deno.readTextFile(`${dest}/f${i}.txt`),
            await Deno.readTextFile(`${src}/f${i}.txt`),
          );
          if (i > 0) assert(!(await Deno.stat(`${dest}/f${i - 1}.txt`).catch(() => false)));
        }
      } finally {
        await w.close().catch(() => {});
        await reader.cancel().catch(() => {});
        await child.status;
        await child.stderr.cancel().catch(() => {});
        await Deno.remove(src, { recursive: true });
        await Deno.remove(dest, { recursive: true });
      }
    },
  });
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536));
  return b;
}

/** What the pod's tools make of a stream of gzip members (`gzip -dc`, as the pod runs it). */
async function gunzipped(parts: Uint8Array[]): Promise<Uint8Array> {
  const child = new Deno.Command("gzip", { args: ["-dc"], stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  const out = child.output();
  for (const p of parts) await w.write(p);
  await w.close();
  const o = await out;
  assert(o.success);
  return o.stdout;
}

Deno.test("batch: gzip members: text shrinks at a fast level, random bytes go stored, gzip -dc gives the stream back", async () => {
  const z = zlib as unknown as Zlib;
  const text = new TextEncoder().encode("export const value = index + result;\n".repeat(40_000));
  const random = crypto.getRandomValues(new Uint8Array(60_000));
  const ch = new GzipChunker(z, 256 * 1024);
  const parts: Uint8Array[] = [];
  const feed = (b: Uint8Array, raw: boolean) => {
    for (let i = 0; i < b.length; i += 50_000) parts.push(...ch.add(b.subarray(i, i + 50_000), raw));
  };
  feed(text, false);
  feed(random, true); // a probed incompressible file: its own stored members
  feed(text.subarray(0, 100_000), false);
  parts.push(...ch.flush());
  const wire = parts.reduce((n, p) => n + p.length, 0);
  assertEquals(wire, ch.wireBytes);
  assertEquals(ch.rawBytes, text.length + random.length + 100_000);
  // the text shrank a lot; the random bytes cost their size (stored) and little more
  assert(wire < random.length + (text.length + 100_000) / 5, `wire ${wire}`);
  assert(wire > random.length, `wire ${wire}`);
  const back = await gunzipped(parts);
  assertEquals(back.length, ch.rawBytes);
  assertEquals(back.subarray(text.length, text.length + random.length), random);
  assertEquals(back.subarray(0, 1000), text.subarray(0, 1000));
  // probing: random data is not worth compressing, text is
  const { compressible } = await import("../../../../src/session/sync/batch.ts");
  assert(!compressible(z, random));
  assert(compressible(z, text));
});

Deno.test("batch: a chunk of small files that does not shrink turns compression off for the next ones", () => {
  const z = zlib as unknown as Zlib;
  const deflates: number[] = [];
  const real = z.gzipSync;
  const spy: Zlib = {
    deflateRawSync: z.deflateRawSync,
    gzipSync: (b, o) => {
      deflates.push(o.level);
      return real(b, o);
    },
  };
  const c2 = new GzipChunker(spy, 64 * 1024);
  for (let i = 0; i < 6; i++) c2.add(crypto.getRandomValues(new Uint8Array(64 * 1024)), false);
  c2.flush();
  // the first chunk was tried (level 2), then the rest went stored (level 0)
  assertEquals(deflates[0] > 0, true);
  assertEquals(deflates.slice(1).every((l) => l === 0), true, String(deflates));
  assertEquals(deflates.length, 6);
});

for (const shell of ["host", "busybox"] as const) {
  for (const gzip of [true, false]) {
    Deno.test({
      name: `batch: a compressed push arrives identical (${shell} sh + tar, ${
        gzip ? "gzip -dc" : "no gzip: raw, no error"
      })`,
      // busybox's sh runs its own gzip applet whatever PATH says: an image without gzip is the host case
      ignore: shell === "busybox" && (!BUSYBOX || !gzip),
      async fn() {
        const src = await Deno.makeTempDir({ prefix: "kodama-src-" });
        const dest = await Deno.makeTempDir({ prefix: "kodama-dest-" });
        const env: Record<string, string> = {};
        let sh = "sh";
        if (shell === "busybox") {
          const bin = await busyboxPath();
          if (gzip) await Deno.symlink(BUSYBOX!, `${bin}/gzip`);
          env.PATH = bin;
          sh = `${bin}/sh`;
        } else if (!gzip) {
          // the host's tools, but no gzip
          const bin = await Deno.makeTempDir({ prefix: "kodama-nogz-" });
          for (const a of ["sh", "tar", "rm", "mkdir", "printf", "head"]) {
            const real = new TextDecoder().decode(
              (await new Deno.Command("sh", { args: ["-c", `command -v ${a}`], stdout: "piped" }).output())
                .stdout,
            ).trim();
            if (real.startsWith("/")) await Deno.symlink(real, `${bin}/${a}`);
          }
          env.PATH = bin;
          sh = `${bin}/sh`;
        }
        try {
          await makeTree(src);
          await Deno.writeFile(`${src}/blob.bin`, randomBytes(300_000));
          await Deno.writeTextFile(`${src}/big.txt`, "let x = 1;\n".repeat(50_000));
          const rules = new IgnoreRules(src, {
            useGitignore: true,
            excludePatterns: EXCLUDE_PATTERNS,
            syncGit: true,
          });
          const now = await scanTree(src, rules);
          const d = diffTrees(new Map(), now);
          const batch: Batch = { deletes: [], sends: d.changed.map((p) => [p, now.get(p)!]) };
          const child = new Deno.Command(sh, {
            args: ["-c", GZIP_APPLY_SCRIPT, "sh", `${dest}/ws`, APPLY_SCRIPT],
            stdin: "piped",
            stdout: "piped",
            stderr: "piped",
            env,
          }).spawn();
          const reader = child.stdout.getReader();
          const first = new TextDecoder().decode((await reader.read()).value);
          assertEquals(first, gzip ? "z\n" : "r\n");
          const w = child.stdin.getWriter();
          const stats = { files: 0, bytes: 0, wire: undefined as number | undefined };
          let total = 0;
          for await (
            const c of batchStream(src, batch, stats, undefined, gzip ? zlib as unknown as Zlib : undefined)
          ) {
            total += c.length;
            await w.write(c);
          }
          await w.close();
          reader.releaseLock();
          const o = await child.output();
          assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
          assertEquals(await localListing(`${dest}/ws`), withoutIgnored(await localListing(src)));
          if (gzip) {
            assertEquals(stats.wire, total);
            // big.txt shrank; blob.bin went stored
            assert(total < stats.bytes - 400_000 && total > 300_000, `${total} of ${stats.bytes}`);
          } else assertEquals(stats.wire, undefined);
        } finally {
          await Deno.remove(src, { recursive: true });
          await Deno.remove(dest, { recursive: true });
        }
      },
    });
  }
}

Deno.test("batch: big files are read into the outgoing chunks; every chunk handed out stays as it was", async () => {
  const src = await Deno.makeTempDir({ prefix: "kodama-src-" });
  const dest = await Deno.makeTempDir({ prefix: "kodama-dest-" });
  try {
    // sizes around the one-read limit (256 KiB), the chunk size (512 KiB) and several chunks, between
    // small files, so files start and end at every offset of a chunk
    const sizes = [100, 256 * 1024, 256 * 1024 + 1, 300_001, 512 * 1024, 7, 1536 * 1024 + 7, 3 << 20, 511];
    const want = new Map<string, Uint8Array>();
    for (const [i, n] of sizes.entries()) {
      const b = new Uint8Array(n);
      for (let off = 0; off < n; off += 65536) {
        crypto.getRandomValues(b.subarray(off, Math.min(n, off + 65536)));
      }
      await Deno.writeFile(`${src}/f${i}`, b);
      want.set(`f${i}`, b);
    }
    const rules = new IgnoreRules(src, { useGitignore: false, excludePatterns: [], syncGit: true });
    const now = await scanTree(src, rules);
    const batch: Batch = {
      deletes: [],
      sends: diffTrees(new Map(), now).changed.map((p) => [p, now.get(p)!]),
    };
    // hold every chunk as handed out (a socket may still be writing them) and only then join them
    const held: Uint8Array[] = [];
    const hashes = new Map<string, string>();
    const stats = { files: 0, bytes: 0 };
    for await (const c of batchStream(src, batch, stats, undefined, undefined, hashes)) held.push(c);
    assert(held.length > 10, `${held.length} chunks`);
    assertEquals(new Set(held.map((c) => c.buffer)).size, held.length, "no buffer is used twice");
    assertEquals(stats, { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0) });
    const child = new Deno.Command("sh", {
      args: ["-c", APPLY_SCRIPT, "sh", `${dest}/ws`],
      stdin: "piped",
      stderr: "piped",
      stdout: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    for (const c of held) await w.write(c);
    await w.close();
    const out = await child.output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    for (const [rel, b] of want) {
      const got = await Deno.readFile(`${dest}/ws/${rel}`);
      assertEquals(got.length, b.length, rel);
      assert(got.every((x, i) => x === b[i]), `${rel} arrived unchanged`);
      const md5 = new TextDecoder().decode(
        (await new Deno.Command("md5sum", { args: [`${src}/${rel}`], stdout: "piped" }).output()).stdout,
      ).split(" ")[0];
      assertEquals(hashes.get(rel), md5, `the md5 of ${rel} as sent`);
    }
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(dest, { recursive: true });
  }
});

for (const shell of ["host", "busybox"] as const) {
  Deno.test({
    name:
      `batch: a push's script (tar on stdin to its end, no head -c) gives the tree when stdin ends (${shell})`,
    ignore: shell === "busybox" && !BUSYBOX,
    async fn() {
      const src = await Deno.makeTempDir({ prefix: "kodama-src-" });
      const dest = await Deno.makeTempDir({ prefix: "kodama-dest-" });
      try {
        await makeTree(src);
        await Deno.writeFile(`${src}/big.bin`, new Uint8Array(700_001).fill(7));
        const rules = new IgnoreRules(src, {
          useGitignore: true,
          excludePatterns: EXCLUDE_PATTERNS,
          syncGit: true,
        });
        const now = await scanTree(src, rules);
        const batch: Batch = {
          deletes: [],
          sends: diffTrees(new Map(), now).changed.map((p) => [p, now.get(p)!]),
        };
        const bin = shell === "busybox" ? await busyboxPath() : undefined;
        const child = new Deno.Command(bin ? `${bin}/sh` : "sh", {
          args: ["-c", APPLY_SCRIPT, "sh", `${dest}/ws`, "eof"],
          stdin: "piped",
          stderr: "piped",
          stdout: "null",
          env: bin ? { PATH: bin } : {},
        }).spawn();
        const w = child.stdin.getWriter();
        for await (const c of batchStream(src, batch, { files: 0, bytes: 0 })) await w.write(c);
        await w.close();
        const out = await child.output();
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        assertEquals(await localListing(`${dest}/ws`), withoutIgnored(await localListing(src)));
      } finally {
        await Deno.remove(src, { recursive: true });
        await Deno.remove(dest, { recursive: true });
      }
    },
  });
}
