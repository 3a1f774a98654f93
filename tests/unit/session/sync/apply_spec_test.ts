/**
 * The two-way sync's apply protocol, from its one specification (tests/_apply_spec.ts), against both of
 * its programs: apply2.sh under busybox sh with busybox's applets only (the busybox image) and under dash
 * with the host's tools, and apply.js under node. Each case starts from its own tree; the tree after and
 * the lines said must be the table's, exactly.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  APPLY2_SCRIPT,
  applyBytes,
  applyStream,
  parseApplyOutput,
} from "../../../../src/session/sync/podside.ts";
import { APPLY_JS } from "../../../../src/session/sync/podapply.ts";
import { BUSYBOX, firstFile } from "../../../_sync_tree.ts";
import { APPLY_CASES, type ApplyCase, caseBatch, type Node, T0 } from "../../../_apply_spec.ts";

const dec = new TextDecoder();
const DASH = firstFile("/usr/bin/dash", "/bin/dash");
const NODE = firstFile("/usr/bin/node", "/usr/local/bin/node") ?? (dec.decode(
  new Deno.Command("sh", { args: ["-c", "command -v node || :"], stdout: "piped" }).outputSync().stdout,
).trim() || undefined);
const APPLETS = ["sh", "tar", "rm", "mkdir", "rmdir", "printf", "head", "stat", "awk", "mv", "chmod"];

interface Impl {
  name: string;
  ready: boolean;
  /** the lines said for one batch */
  run(dest: string, input: Uint8Array): Promise<string[]>;
}

async function feed(cmd: string, args: string[], input: Uint8Array, env?: Record<string, string>) {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped", env })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "");

const IMPLS: Impl[] = [
  {
    name: "apply2.sh, busybox sh and applets",
    ready: !!BUSYBOX,
    async run(dest, input) {
      const bin = await Deno.makeTempDir({ prefix: "kodama-bb-" });
      try {
        for (const a of APPLETS) await Deno.symlink(BUSYBOX!, `${bin}/${a}`);
        const r = await feed(`${bin}/sh`, ["-c", APPLY2_SCRIPT, "sh", dest], input, { PATH: bin });
        assertEquals(r.code, 0, r.stderr);
        return lines(r.stdout);
      } finally {
        await Deno.remove(bin, { recursive: true });
      }
    },
  },
  {
    name: "apply2.sh, dash",
    ready: !!DASH,
    async run(dest, input) {
      const r = await feed(DASH!, ["-c", APPLY2_SCRIPT, "sh", dest], input);
      assertEquals(r.code, 0, r.stderr);
      return lines(r.stdout);
    },
  },
  {
    name: "apply.js, node",
    ready: !!NODE,
    async run(dest, input) {
      const r = await feed(NODE!, ["-e", APPLY_JS, "--", dest], input);
      assertEquals(r.code, 0, r.stderr);
      const said = lines(r.stdout);
      assertEquals(said[0], "ready node");
      assertEquals(said.at(-1), "done 0", r.stderr);
      return said.slice(1, -1);
    },
  },
];

async function make(dest: string, tree: Record<string, Node>): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  // parents first (a directory's mode is set once what is in it is made: a 0700 one stays writable to us)
  const paths = Object.keys(tree).sort();
  for (const p of paths) {
    const n = tree[p];
    const at = `${dest}/${p}`;
    await Deno.mkdir(at.slice(0, at.lastIndexOf("/")), { recursive: true });
    if ("f" in n) {
      await Deno.writeTextFile(at, n.f);
      await Deno.chmod(at, n.mode ?? 0o644);
    } else if ("l" in n) await Deno.symlink(n.l, at);
    else await Deno.mkdir(at, { recursive: true });
  }
  for (const p of paths.reverse()) {
    const n = tree[p];
    if ("d" in n) await Deno.chmod(`${dest}/${p}`, n.d);
  }
}

/** every path under `dir` as a Node, and the mtime (s) of each file */
async function read(
  dir: string,
  rel = "",
  out: Record<string, Node> = {},
  mtimes = new Map<string, number>(),
) {
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const st = await Deno.lstat(`${dir}/${r}`);
    if (st.isSymlink) out[r] = { l: await Deno.readLink(`${dir}/${r}`) };
    else if (st.isDirectory) {
      out[r] = { d: st.mode! & 0o7777 };
      await read(dir, r, out, mtimes);
    } else {
      out[r] = { f: await Deno.readTextFile(`${dir}/${r}`), mode: st.mode! & 0o7777 };
      mtimes.set(r, Math.floor(st.mtime!.getTime() / 1000));
    }
  }
  return { tree: out, mtimes };
}

function statKey(path: string): string {
  const o = new Deno.Command("stat", { args: ["-c", "%s %Y %f", path], stdout: "piped" }).outputSync();
  return o.success ? dec.decode(o.stdout).trim() : "-";
}

/** the table's `after`, with the default mode of a file written out */
function expected(c: ApplyCase): Record<string, Node> {
  const out: Record<string, Node> = {};
  for (const [p, n] of Object.entries(c.after)) out[p] = "f" in n ? { f: n.f, mode: n.mode ?? 0o644 } : n;
  return out;
}

for (const impl of IMPLS) {
  Deno.test({
    name: `apply spec (${impl.name}): every case of the table`,
    ignore: !impl.ready,
    async fn(t) {
      for (const c of APPLY_CASES) {
        await t.step(c.name, async () => {
          const top = await Deno.makeTempDir({ prefix: "kodama-spec-" });
          const dest = `${top}/ws`;
          try {
            await make(dest, c.before);
            await Deno.writeTextFile(`${top}/dropped-source`, "xy");
            const { ops, files } = caseBatch(c, (p) => statKey(`${dest}/${p}`), `${top}/dropped-source`);
            const said = await impl.run(dest, await applyBytes(applyStream(ops, files)));
            assertEquals(new Set(said), new Set(c.said), `said: ${JSON.stringify(said)}`);
            assertEquals(said.length, c.said.length, `said twice: ${JSON.stringify(said)}`);
            const got = await read(dest);
            assertEquals(got.tree, expected(c));
            // what was put in place carries the archive's mtime
            const skipped = parseApplyOutput(said.map((l) => l + "\n").join(""));
            for (const f of c.files) {
              if ("f" in f && !skipped.has(f.path) && got.mtimes.has(f.path)) {
                assertEquals(got.mtimes.get(f.path), T0 / 1000, f.path);
              }
            }
          } finally {
            await Deno.chmod(dest, 0o755).catch(() => {});
            await Deno.remove(top, { recursive: true });
          }
        });
      }
    },
  });
}

Deno.test("apply spec: the table covers every record kind and every answer", () => {
  const kinds = new Set(APPLY_CASES.flatMap((c) => c.ops.map((o) => o.op)));
  assertEquals(kinds, new Set(["F", "D", "R"]));
  assert(APPLY_CASES.some((c) => c.files.some((f) => "dropped" in f)), "no X record");
  const said = APPLY_CASES.flatMap((c) => c.said.map((l) => l.split(" ")[0]));
  assert(said.includes("skip") && said.includes("fail"));
  for (const e of ["-", "*", "now"]) assert(APPLY_CASES.some((c) => c.ops.some((o) => o.expect === e)), e);
});
