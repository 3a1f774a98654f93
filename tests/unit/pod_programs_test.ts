/**
 * Every program kodama runs inside a pod is a file under a `pod/` folder (`src/**\/pod/*.sh|*.js`). Pods run
 * the shell ones with busybox sh or dash, not bash: each must parse under both (`sh -n`), so a bashism fails
 * here even where shellcheck (scripts/lint-pod.ts) would let it by. Each opens with a comment saying what it
 * is, and nothing in one is a `%{` placeholder standing for `${` (values come as arguments).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { join, relative } from "node:path";
import { BUSYBOX } from "../_sync_tree.ts";

const ROOT = join(import.meta.dirname!, "../..");

function podFiles(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) podFiles(p, out);
    else if (/[\\/]pod[\\/][^\\/]+\.(sh|js)$/.test(p)) out.push(p);
  }
  return out.sort();
}

const FILES = podFiles(join(ROOT, "src"));
const DASH = ["/usr/bin/dash", "/bin/dash"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

function parses(cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).outputSync();
  return { ok: r.success, err: new TextDecoder().decode(r.stderr).trim() };
}

Deno.test("pod programs: there are some, under src/session/pod and src/session/sync/pod", () => {
  const rel = FILES.map((f) => relative(ROOT, f).replaceAll("\\", "/"));
  for (
    const f of [
      "src/session/sync/pod/watch.sh",
      "src/session/sync/pod/apply2.sh",
      "src/session/pod/attach.sh",
    ]
  ) {
    assert(rel.includes(f), `${f} is not among ${rel.join(", ")}`);
  }
});

Deno.test({
  name: "pod programs: every shell one parses under busybox sh -n and dash -n",
  ignore: !BUSYBOX || !DASH,
  fn() {
    const bad: string[] = [];
    for (const f of FILES.filter((f) => f.endsWith(".sh"))) {
      for (const [cmd, args] of [[BUSYBOX!, ["sh", "-n", f]], [DASH!, ["-n", f]]] as const) {
        const r = parses(cmd, [...args]);
        if (!r.ok) bad.push(`${relative(ROOT, f)} (${cmd} ${args[0]}): ${r.err}`);
      }
    }
    assertEquals(bad, []);
  },
});

Deno.test("pod programs: the parse check catches a bashism", { ignore: !BUSYBOX || !DASH }, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/x.sh`;
    await Deno.writeTextFile(f, "if [[ -n $1 ]]; then a=(1 2); fi\n");
    assert(!parses(DASH!, ["-n", f]).ok || !parses(BUSYBOX!, ["sh", "-n", f]).ok);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pod programs: each opens with a comment and has no %{ placeholder", () => {
  for (const f of FILES) {
    const text = Deno.readTextFileSync(f);
    const name = relative(ROOT, f);
    assert(
      f.endsWith(".sh") ? text.startsWith("#") : /^(\/\*|\/\/)/.test(text),
      `${name} opens without a comment`,
    );
    assert(!text.includes("%{"), `${name}: a %{ placeholder`);
  }
});
