/**
 * The two-way apply (APPLY2_SCRIPT) without a cluster, run by the host's sh and tools and by busybox's
 * applets only (the busybox image's): each operation runs only when its path is still what the plan saw,
 * files are renamed into place (grouped per directory), a file that changed while the archive streamed is
 * skipped, the stage is 0700 while it exists, and a 10,000-file batch is applied whole.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  APPLY2_SCRIPT,
  applyBytes,
  applyStream,
  parseApplyOutput,
  type PodOp,
  type StagedFile,
} from "../../../../src/session/sync/podside.ts";
import { hashBytes } from "../../../../src/session/sync/ancestor.ts";
import { BUSYBOX } from "../../../_sync_tree.ts";

const APPLETS = ["sh", "tar", "rm", "mkdir", "rmdir", "printf", "head", "stat", "awk", "mv", "chmod"];

async function busyboxPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-bb-" });
  for (const a of APPLETS) await Deno.symlink(BUSYBOX!, `${dir}/${a}`);
  return dir;
}

type Shell = "host" | "busybox";
const SHELLS: Shell[] = BUSYBOX ? ["host", "busybox"] : ["host"];

async function shellOf(shell: Shell): Promise<{ sh: string; env: Record<string, string> }> {
  if (shell === "host") return { sh: "sh", env: {} };
  const bin = await busyboxPath();
  return { sh: `${bin}/sh`, env: { PATH: bin } };
}

async function run(dest: string, input: Uint8Array, shell: Shell): Promise<string> {
  const { sh, env } = await shellOf(shell);
  const child = new Deno.Command(sh, {
    args: ["-c", APPLY2_SCRIPT, "sh", dest],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  const err = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, err);
  return new TextDecoder().decode(out.stdout);
}

function key(path: string): string {
  const o = new Deno.Command("stat", { args: ["-c", "%s %Y %f", path], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(o.stdout).trim();
}

const text = (s: string) => new TextEncoder().encode(s);
const file = (path: string, s: string, mode = 0o644): StagedFile => ({
  path,
  kind: "file",
  mode,
  data: text(s),
  mtimeMs: Date.now(),
});
const read = (p: string) => Deno.readTextFile(p).catch(() => undefined);

for (const shell of SHELLS) {
  Deno.test(`apply2 (${shell}): operations run only on the state the plan saw`, async () => {
    const dest = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dest}/a/b`, { recursive: true });
      await Deno.writeTextFile(`${dest}/a/mod.txt`, "old\n");
      await Deno.writeTextFile(`${dest}/a/raced.txt`, "pod changed it\n");
      await Deno.writeTextFile(`${dest}/gone.txt`, "x\n");
      await Deno.writeTextFile(`${dest}/a/b/gone2.txt`, "x\n");
      await Deno.writeTextFile(`${dest}/exists.txt`, "the pod made this meanwhile\n");
      await Deno.mkdir(`${dest}/was-dir`);
      const local = await Deno.makeTempDir();
      await Deno.writeTextFile(`${local}/streamed.txt`, "read while streaming\n");
      await Deno.writeTextFile(`${local}/changed.txt`, "changed after the plan\n");
      const ops: PodOp[] = [
        { op: "R", path: "a/b/gone2.txt", expect: key(`${dest}/a/b/gone2.txt`) },
        { op: "R", path: "gone.txt", expect: key(`${dest}/gone.txt`) },
        { op: "D", path: "n", expect: "-", mode: 0o750 },
        { op: "F", path: "a/mod.txt", expect: key(`${dest}/a/mod.txt`) },
        { op: "F", path: "a/raced.txt", expect: "1 1 81a4" },
        { op: "F", path: "exists.txt", expect: "-" },
        { op: "F", path: "n/new.txt", expect: "-" },
        { op: "F", path: "n/run.sh", expect: "-" },
        { op: "F", path: "n/link", expect: "-" },
        { op: "F", path: "was-dir", expect: "*" },
        { op: "F", path: "streamed.txt", expect: "-" },
        { op: "F", path: "changed.txt", expect: "-" },
        { op: "F", path: "sp ace\\tab", expect: "-" },
      ];
      const files: StagedFile[] = [
        file("a/mod.txt", "new\n"),
        file("a/raced.txt", "local\n"),
        file("exists.txt", "local\n"),
        file("n/new.txt", "hello\n"),
        file("n/run.sh", "#!/bin/sh\n", 0o755),
        { path: "n/link", kind: "symlink", mode: 0o777, link: "../a/mod.txt", mtimeMs: Date.now() },
        file("was-dir", "a file now\n"),
        {
          path: "streamed.txt",
          kind: "file",
          mode: 0o644,
          abs: `${local}/streamed.txt`,
          size: 21,
          hash: await hashBytes(text("read while streaming\n")),
          mtimeMs: Date.now(),
        },
        {
          path: "changed.txt",
          kind: "file",
          mode: 0o644,
          abs: `${local}/changed.txt`,
          size: 9,
          hash: await hashBytes(text("planned\n\n")),
          mtimeMs: Date.now(),
        },
        file("sp ace\\tab", "odd name\n"),
      ];
      const s = applyStream(ops, files);
      const input = await applyBytes(s);
      assertEquals(input.length - input.indexOf(10) - 1, s.length, "the announced length is the archive's");
      const out = await run(dest, input, shell);
      assertEquals(parseApplyOutput(out), new Set(["a/raced.txt", "exists.txt", "changed.txt"]));
      assertEquals(await read(`${dest}/a/mod.txt`), "new\n");
      assertEquals(await read(`${dest}/a/raced.txt`), "pod changed it\n");
      assertEquals(await read(`${dest}/exists.txt`), "the pod made this meanwhile\n");
      assertEquals(await read(`${dest}/n/new.txt`), "hello\n");
      assertEquals((await Deno.stat(`${dest}/n/run.sh`)).mode! & 0o777, 0o755);
      assertEquals((await Deno.stat(`${dest}/n`)).mode! & 0o777, 0o750);
      assertEquals(await Deno.readLink(`${dest}/n/link`), "../a/mod.txt");
      assertEquals(await read(`${dest}/was-dir`), "a file now\n");
      assertEquals(await read(`${dest}/streamed.txt`), "read while streaming\n");
      assertEquals(await read(`${dest}/changed.txt`), undefined);
      assertEquals(await read(`${dest}/sp ace\\tab`), "odd name\n");
      assertEquals(await read(`${dest}/gone.txt`), undefined);
      assertEquals(await read(`${dest}/a/b/gone2.txt`), undefined);
      // nothing is left behind: no stage, and no .kodama the sync made
      assert(!(await Deno.lstat(`${dest}/.kodama`).catch(() => undefined)), "the stage was left behind");
      await Deno.remove(local, { recursive: true });
    } finally {
      await Deno.remove(dest, { recursive: true });
    }
  });

  Deno.test(`apply2 (${shell}): the stage is 0700 while the archive arrives`, async () => {
    const dest = await Deno.makeTempDir();
    const { sh, env } = await shellOf(shell);
    const child = new Deno.Command(sh, {
      args: ["-c", APPLY2_SCRIPT, "sh", dest],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
      env,
    }).spawn();
    const w = child.stdin.getWriter();
    try {
      const input = await applyBytes(applyStream([{ op: "F", path: "x", expect: "-" }], [file("x", "x\n")]));
      // everything but the last blocks: the script waits in tar, with the stage made
      await w.write(input.subarray(0, input.length - 1024));
      const stage = `${dest}/.kodama/sync-stage`;
      const end = Date.now() + 60_000;
      while (!(await Deno.lstat(stage).catch(() => undefined)) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assertEquals((await Deno.lstat(stage)).mode! & 0o777, 0o700);
      assertEquals((await Deno.lstat(`${dest}/.kodama`)).mode! & 0o777, 0o700);
      assertEquals((await Deno.lstat(`${dest}/.kodama/.made-by-sync`)).mode! & 0o777, 0o600);
    } finally {
      await w.close().catch(() => {});
      await child.status;
      await Deno.remove(dest, { recursive: true });
    }
  });

  Deno.test({
    name: `apply2 (${shell}): 10,000 new files in 100 directories arrive whole`,
    sanitizeResources: false,
    async fn() {
      const dest = await Deno.makeTempDir();
      try {
        const ops: PodOp[] = [];
        const files: StagedFile[] = [];
        for (let d = 0; d < 100; d++) ops.push({ op: "D", path: `d${d}`, expect: "-", mode: 0o755 });
        for (let d = 0; d < 100; d++) {
          for (let i = 0; i < 100; i++) {
            ops.push({ op: "F", path: `d${d}/f${i}.txt`, expect: "-" });
            files.push(file(`d${d}/f${i}.txt`, `${d}/${i}\n`));
          }
        }
        const out = await run(dest, await applyBytes(applyStream(ops, files)), shell);
        assertEquals(parseApplyOutput(out).size, 0, out);
        let n = 0;
        for (let d = 0; d < 100; d++) for await (const _ of Deno.readDir(`${dest}/d${d}`)) n++;
        assertEquals(n, 10_000);
        assertEquals(await read(`${dest}/d42/f7.txt`), "42/7\n");
      } finally {
        await Deno.remove(dest, { recursive: true });
      }
    },
  });
}
