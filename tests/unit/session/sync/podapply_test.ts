/**
 * The two-way apply as a node program (podapply.ts APPLY_JS) against the shell one (APPLY2_SCRIPT), which
 * is the reference: the same batch on the same pod tree must leave the same tree (kinds, contents, modes,
 * link targets, file mtimes) and say the same skips and failures. Then what only the node program does
 * (a member it will not extract, a key a nanosecond before a second's end), and the kept-open channel:
 * batch after batch raw through node, and the shell loop where there is no node or one too old.
 */
import fs from "node:fs";
import { assert, assertEquals } from "@kodama/test-assert";
import {
  APPLY2_SCRIPT,
  applyBytes,
  applyStream,
  parseApplyOutput,
  type PodOp,
  type StagedFile,
} from "../../../../src/session/sync/podside.ts";
import { APPLY_JS, NODE_UNFIT } from "../../../../src/session/sync/podapply.ts";
import { CHANNEL_SCRIPT } from "../../../../src/session/sync/remote.ts";
import { BUSYBOX, firstFile } from "../../../_sync_tree.ts";

const dec = new TextDecoder();
const NODE = firstFile("/usr/bin/node", "/usr/local/bin/node") ?? (dec.decode(
  new Deno.Command("sh", { args: ["-c", "command -v node || :"], stdout: "piped" }).outputSync().stdout,
).trim() || undefined);

const enc = new TextEncoder();

async function runWith(cmd: string, args: string[], input: Uint8Array, env: Record<string, string> = {}) {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped", env })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** APPLY2_SCRIPT's output for one batch */
async function applySh(dest: string, input: Uint8Array): Promise<string> {
  const r = await runWith("sh", ["-c", APPLY2_SCRIPT, "sh", dest], input);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout;
}

/** APPLY_JS's output for one batch: its lines up to `done 0`, that line checked */
async function applyJs(dest: string, input: Uint8Array): Promise<string> {
  const r = await runWith(NODE!, ["-e", APPLY_JS, "--", dest], input);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assertEquals(lines[0], "ready node");
  const end = lines.indexOf("done 0");
  assert(end > 0, `no "done 0" in ${JSON.stringify(r.stdout)} (${r.stderr})`);
  return lines.slice(1, end).map((l) => l + "\n").join("");
}

function key(path: string): string {
  const o = new Deno.Command("stat", { args: ["-c", "%s %Y %f", path], stdout: "piped" }).outputSync();
  return dec.decode(o.stdout).trim();
}

/** Everything under `dir` (but its .kodama) as one comparable text: kind, mode, content or target, mtime */
async function treeOf(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  const names: string[] = [];
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) names.push(e.name);
  for (const n of names.sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await Deno.lstat(`${dir}/${r}`);
    const mode = (st.mode! & 0o7777).toString(8);
    if (st.isSymlink) out.push(`L ${JSON.stringify(r)} -> ${await Deno.readLink(`${dir}/${r}`)}`);
    else if (st.isDirectory) {
      out.push(`D ${JSON.stringify(r)} ${mode}`);
      out.push(...await treeOf(dir, r));
    } else {
      const mt = Math.floor(st.mtime!.getTime() / 1000);
      out.push(
        `F ${JSON.stringify(r)} ${mode} ${mt} ${JSON.stringify(await Deno.readTextFile(`${dir}/${r}`))}`,
      );
    }
  }
  return out;
}

const T0 = 1_700_000_000_000;
const file = (path: string, s: string, mode = 0o644): StagedFile => ({
  path,
  kind: "file",
  mode,
  data: enc.encode(s),
  mtimeMs: T0,
});
const link = (path: string, to: string): StagedFile => ({
  path,
  kind: "symlink",
  mode: 0o777,
  link: to,
  mtimeMs: T0,
});

const LONG = "deep/" + "d".repeat(60) + "/" + "e".repeat(60) + "/file-with-a-long-name.txt";

/** The pod's tree before the batch: the same in both copies */
async function podTree(dest: string): Promise<void> {
  const w = (p: string, s: string) => Deno.writeTextFile(`${dest}/${p}`, s);
  for (
    const d of ["a/b", "dir-empty", "dir-full", "rm-empty", "rm-full", LONG.slice(0, LONG.lastIndexOf("/"))]
  ) {
    await Deno.mkdir(`${dest}/${d}`, { recursive: true });
  }
  await w("a/mod.txt", "old\n");
  await w("a/raced.txt", "the pod changed it\n");
  await w("exists.txt", "the pod made this meanwhile\n");
  await w("dir-full/keep.txt", "x\n");
  await w("rm-full/keep.txt", "x\n");
  await w("gone.txt", "x\n");
  await w("a/b/gone2.txt", "x\n");
  await w("chmod-me", "a file where a directory goes\n");
  await w("back\\slash.txt", "old\n");
  await Deno.symlink("a", `${dest}/link-to-dir`);
  await Deno.symlink("a", `${dest}/d-over-link`);
  await Deno.mkdir(`${dest}/keep-dir`, { mode: 0o700 });
  // one fixed time on every file and directory: the two copies key the same even when a loaded machine
  // makes them in different seconds (an expectation holds the mtime's second)
  const made = new Date(T0 - 60_000);
  for (
    const p of ["a/mod.txt", "a/raced.txt", "exists.txt", "dir-full/keep.txt", "rm-full/keep.txt", "gone.txt"]
  ) {
    await Deno.utime(`${dest}/${p}`, made, made);
  }
  for (
    const p of [
      "a/b/gone2.txt",
      "chmod-me",
      "back\\slash.txt",
      "a/b",
      "a",
      "dir-empty",
      "dir-full",
      "rm-empty",
    ]
  ) {
    await Deno.utime(`${dest}/${p}`, made, made);
  }
  for (const p of ["rm-full", "keep-dir", LONG.slice(0, LONG.lastIndexOf("/"))]) {
    await Deno.utime(`${dest}/${p}`, made, made);
  }
  // the links' own times too (Deno.utime follows a link: lutimes sets the link's; a CI run at load made the
  // two copies' links a second apart once)
  for (const p of ["link-to-dir", "d-over-link"]) fs.lutimesSync(`${dest}/${p}`, made, made);
}

/** The batch, its expectations read from `dest` (the two copies have the same keys: podTree fixes their times) */
function batch(dest: string): { ops: PodOp[]; files: StagedFile[] } {
  const k = (p: string) => key(`${dest}/${p}`);
  const ops: PodOp[] = [
    { op: "R", path: "a/b/gone2.txt", expect: k("a/b/gone2.txt") },
    { op: "R", path: "gone.txt", expect: k("gone.txt") },
    { op: "R", path: "rm-empty", expect: k("rm-empty") },
    { op: "R", path: "rm-full", expect: "*" },
    { op: "R", path: "link-to-dir", expect: k("link-to-dir") },
    { op: "R", path: "never-there", expect: "-" },
    { op: "D", path: "n", expect: "-", mode: 0o750 },
    { op: "D", path: "n2/x/y", expect: "-", mode: 0o700 },
    { op: "D", path: "chmod-me", expect: k("chmod-me"), mode: 0o755 },
    { op: "D", path: "d-over-link", expect: k("d-over-link"), mode: 0o755 },
    { op: "D", path: "keep-dir", expect: k("keep-dir"), mode: 0o751 },
    { op: "F", path: "a/mod.txt", expect: k("a/mod.txt") },
    { op: "F", path: "a/raced.txt", expect: "1 1 81a4" },
    { op: "F", path: "exists.txt", expect: "-" },
    { op: "F", path: "n/new.txt", expect: "-" },
    { op: "F", path: "n/run.sh", expect: "-" },
    { op: "F", path: "n/secret", expect: "-" },
    { op: "F", path: "n/link", expect: "-" },
    { op: "F", path: "dir-empty", expect: "*" },
    { op: "F", path: "dir-full", expect: "*" },
    { op: "F", path: "no-parent/x.txt", expect: "-" },
    { op: "F", path: "dropped.txt", expect: "-" },
    { op: "F", path: "sp ace\\tab", expect: "-" },
    { op: "F", path: "new\nline", expect: "-" },
    { op: "F", path: "back\\slash.txt", expect: k("back\\slash.txt") },
    { op: "F", path: LONG, expect: "-" },
    { op: "F", path: "deep/long-link", expect: "-" },
  ];
  const files: StagedFile[] = [
    file("a/mod.txt", "new\n"),
    file("a/raced.txt", "local\n"),
    file("exists.txt", "local\n"),
    file("n/new.txt", "hello\n"),
    file("n/run.sh", "#!/bin/sh\n", 0o755),
    file("n/secret", "s\n", 0o600),
    link("n/link", "../a/mod.txt"),
    file("dir-empty", "a file now\n"),
    file("dir-full", "cannot replace a full directory\n"),
    file("no-parent/x.txt", "nowhere to go\n"),
    // read while the archive streams, and not what the plan hashed: sent as X, which the pod skips
    {
      path: "dropped.txt",
      kind: "file",
      mode: 0o644,
      abs: `${dest}/a/mod.txt`,
      size: 4,
      hash: "0".repeat(32),
      mtimeMs: T0,
    },
    file("sp ace\\tab", "odd name\n"),
    file("new\nline", "a newline in the name\n"),
    file("back\\slash.txt", "new\n"),
    file(LONG, "long\n"),
    link("deep/long-link", "../" + "t".repeat(120)),
  ];
  return { ops, files };
}

Deno.test({
  name: "podapply: node's apply leaves what the shell's leaves, and says the same",
  ignore: !NODE,
  async fn() {
    const a = await Deno.makeTempDir({ prefix: "kodama-sh-" });
    const b = await Deno.makeTempDir({ prefix: "kodama-js-" });
    try {
      await podTree(a);
      await podTree(b);
      const { ops, files } = batch(a);
      assertEquals(batch(b).ops, ops, "both trees key the same");
      const input = await applyBytes(applyStream(ops, files));
      const sh = await applySh(a, input);
      const js = await applyJs(b, input);
      const said = parseApplyOutput(js);
      assertEquals(said, parseApplyOutput(sh), `sh said:\n${sh}\nnode said:\n${js}`);
      assertEquals(
        said,
        new Set(["a/raced.txt", "exists.txt", "dir-full", "no-parent/x.txt", "dropped.txt", "rm-full"]),
      );
      const ta = await treeOf(a);
      assertEquals(await treeOf(b), ta);
      // a few cells by hand, so the two cannot agree on something wrong
      assert(ta.includes(`F "a/mod.txt" 644 ${T0 / 1000} "new\\n"`), ta.join("\n"));
      assert(ta.includes(`F "n/secret" 600 ${T0 / 1000} "s\\n"`), ta.join("\n"));
      assert(ta.includes(`D "n" 750`) && ta.includes(`D "n2/x/y" 700`) && ta.includes(`D "keep-dir" 751`));
      assert(ta.includes(`D "chmod-me" 755`) && ta.includes(`D "d-over-link" 755`));
      assert(ta.includes(`F "new\\nline" 644 ${T0 / 1000} "a newline in the name\\n"`));
      assert(ta.some((l) => l.startsWith(`F ${JSON.stringify(LONG)}`)));
      assert(
        !ta.some((l) => l.includes('"gone.txt"') || l.includes('"rm-empty"') || l.includes('"link-to-dir"')),
      );
      for (const d of [a, b]) {
        assert(!(await Deno.lstat(`${d}/.kodama`).catch(() => undefined)), "stage left");
      }
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
});

Deno.test({
  name: "podapply: a member named out of the tree is not extracted, and its operation fails",
  ignore: !NODE,
  async fn() {
    const top = await Deno.makeTempDir();
    const dest = `${top}/ws`;
    try {
      const ops: PodOp[] = [
        { op: "F", path: "../escaped.txt", expect: "-" },
        { op: "F", path: "/abs.txt", expect: "-" },
        { op: "R", path: "../outside.txt", expect: "*" },
        { op: "F", path: "fine.txt", expect: "-" },
      ];
      await Deno.writeTextFile(`${top}/outside.txt`, "not the sync's\n");
      const files = [file("../escaped.txt", "x\n"), file("/abs.txt", "x\n"), file("fine.txt", "ok\n")];
      const out = await applyJs(dest, await applyBytes(applyStream(ops, files)));
      assertEquals(parseApplyOutput(out), new Set(["../escaped.txt", "/abs.txt", "../outside.txt"]));
      assertEquals(await Deno.readTextFile(`${dest}/fine.txt`), "ok\n");
      assertEquals(await Deno.readTextFile(`${top}/outside.txt`), "not the sync's\n");
      assert(!(await Deno.lstat(`${top}/escaped.txt`).catch(() => undefined)));
    } finally {
      await Deno.remove(top, { recursive: true });
    }
  },
});

Deno.test({
  name: "podapply: a mtime a nanosecond before a second's end keys as that second, as stat says",
  ignore: !NODE,
  async fn() {
    const dest = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dest}/edge.txt`, "old\n");
      const t = new Deno.Command("touch", { args: ["-d", "@1700000000.999999999", `${dest}/edge.txt`] });
      assertEquals((await t.output()).code, 0);
      const k = key(`${dest}/edge.txt`);
      assert(k.includes(" 1700000000 "), k);
      const ops: PodOp[] = [{ op: "F", path: "edge.txt", expect: k }];
      const out = await applyJs(dest, await applyBytes(applyStream(ops, [file("edge.txt", "new\n")])));
      assertEquals(out, "");
      assertEquals(await Deno.readTextFile(`${dest}/edge.txt`), "new\n");
    } finally {
      await Deno.remove(dest, { recursive: true });
    }
  },
});

/** CHANNEL_SCRIPT with APPLY_JS as $3: its first line, then each batch's answer */
async function channel(pathDirs: string[], more: Record<string, string> = {}, sh = "/bin/sh") {
  const dest = await Deno.makeTempDir({ prefix: "kodama-ch-" });
  const child = new Deno.Command(sh, {
    args: ["-c", CHANNEL_SCRIPT, "sh", dest, APPLY2_SCRIPT, APPLY_JS],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PATH: pathDirs.join(":"), ...more },
  }).spawn();
  const w = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const line = async () => {
    while (!buf.includes("\n")) {
      const r = await reader.read();
      if (r.done) throw new Error(`the channel ended: ${JSON.stringify(buf)}`);
      buf += r.value;
    }
    const i = buf.indexOf("\n");
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return l;
  };
  const ready = await line();
  const send = async (ops: PodOp[], files: StagedFile[]) => {
    const data = await applyBytes(applyStream(ops, files));
    if (ready === "ready node") await w.write(data);
    else {
      let bin = "";
      for (const b of data) bin += String.fromCharCode(b);
      const lines = btoa(bin).match(/.{1,76}/g)!;
      await w.write(enc.encode(`${lines.length}\n${lines.join("\n")}\n`));
    }
    const said: string[] = [];
    let l = await line();
    for (; !l.startsWith("done "); l = await line()) said.push(l);
    assertEquals(l, "done 0");
    return said;
  };
  const close = async () => {
    await w.close().catch(() => {});
    await reader.cancel().catch(() => {});
    const st = await child.status;
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(dest, { recursive: true });
    return st.code;
  };
  return { dest, ready, send, close };
}

/** A PATH directory with the host's tools the shell loop needs, and maybe a `node` */
async function toolDir(node: "host" | "none" | "old"): Promise<string> {
  const bin = await Deno.makeTempDir({ prefix: "kodama-bin-" });
  const tools = [
    "sh",
    "mktemp",
    "base64",
    "tar",
    "rm",
    "mkdir",
    "rmdir",
    "head",
    "stat",
    "awk",
    "mv",
    "chmod",
    "cat",
  ];
  for (const t of tools) {
    const p = firstFile(`/usr/bin/${t}`, `/bin/${t}`) ?? BUSYBOX;
    if (p) await Deno.symlink(p, `${bin}/${t}`);
  }
  if (node === "host") await Deno.symlink(NODE!, `${bin}/node`);
  if (node === "old") {
    // a node this program cannot run on: it exits NODE_UNFIT before reading stdin
    await Deno.writeTextFile(`${bin}/node`, `#!/bin/sh\nexit ${NODE_UNFIT}\n`);
    await Deno.chmod(`${bin}/node`, 0o755);
  }
  return bin;
}

for (const node of ["host", "none", "old"] as const) {
  Deno.test({
    name: `podapply: the kept-open channel applies batch after batch (node: ${node})`,
    ignore: node === "host" && !NODE,
    async fn() {
      const bin = await toolDir(node);
      const ch = await channel([bin]);
      try {
        assertEquals(ch.ready, node === "host" ? "ready node" : "ready");
        for (let i = 0; i < 3; i++) {
          const ops: PodOp[] = [{ op: "F", path: `f${i}.txt`, expect: "-" }];
          if (i > 0) ops.push({ op: "R", path: `f${i - 1}.txt`, expect: "*" });
          const said = await ch.send(ops, [file(`f${i}.txt`, `save ${i}\n`.repeat(i * 3000 + 1))]);
          assertEquals(said, []);
          assertEquals(await Deno.readTextFile(`${ch.dest}/f${i}.txt`), `save ${i}\n`.repeat(i * 3000 + 1));
          if (i > 0) assert(!(await Deno.lstat(`${ch.dest}/f${i - 1}.txt`).catch(() => undefined)));
        }
        // a skip is said before `done`, and the channel goes on
        const said = await ch.send([{ op: "F", path: "f2.txt", expect: "-" }], [file("f2.txt", "no\n")]);
        assertEquals(said, ["skip f2.txt"]);
      } finally {
        assertEquals(await ch.close(), 0, "the channel ends when its stdin does");
        await Deno.remove(bin, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "podapply: an image's NODE_OPTIONS (a --require that prints) does not reach the program",
  ignore: !NODE,
  async fn() {
    const bin = await toolDir("host");
    await Deno.writeTextFile(`${bin}/apm.js`, 'console.log("apm agent started");\n');
    const ch = await channel([bin], { NODE_OPTIONS: `--require ${bin}/apm.js` });
    try {
      assertEquals(ch.ready, "ready node");
      assertEquals(await ch.send([{ op: "F", path: "x.txt", expect: "-" }], [file("x.txt", "x\n")]), []);
      assertEquals(await Deno.readTextFile(`${ch.dest}/x.txt`), "x\n");
    } finally {
      await ch.close();
      await Deno.remove(bin, { recursive: true });
    }
  },
});
