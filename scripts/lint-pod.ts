/**
 * Lint the programs kodama runs inside pods (`src/**\/pod/*.sh`, `src/**\/pod/*.js`): they are real files,
 * embedded in the binary as text (`import X from "./pod/x.sh" with { type: "text" }`), and checked here as
 * the pods run them: `shellcheck -s sh` (POSIX sh: busybox and dash run them, not bash) and `node --check`.
 * Part of `deno task check`. Exit 1 naming each file that fails; a missing linter is a failure too (CI
 * installs shellcheck from Debian), so a pod program is never shipped unlinted by accident.
 */
import { join, relative } from "node:path";

async function* podFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* podFiles(p);
    else if (e.isFile && /[\\/]pod[\\/][^\\/]+\.(sh|js)$/.test(p)) yield p;
  }
}

const root = join(import.meta.dirname!, "..");
const files = [];
for await (const f of podFiles(join(root, "src"))) files.push(f);
files.sort();
const sh = files.filter((f) => f.endsWith(".sh"));
const js = files.filter((f) => f.endsWith(".js"));
let failed = 0;

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return {
        ok: false,
        out: `${cmd} is not installed (apt-get install ${cmd === "node" ? "nodejs" : cmd})`,
      };
    }
    throw e;
  }
}

if (sh.length) {
  const r = await run("shellcheck", ["-s", "sh", "-x", ...sh]);
  if (!r.ok) {
    failed++;
    console.error(r.out.trim());
  }
}
for (const f of js) {
  const r = await run("node", ["--check", f]);
  if (!r.ok) {
    failed++;
    console.error(`${relative(root, f)}: ${r.out.trim()}`);
  }
}
if (failed) {
  console.error(`pod programs: lint failed (${sh.length} sh, ${js.length} js checked)`);
  Deno.exit(1);
}
console.log(`pod programs: ${sh.length} sh and ${js.length} js files pass shellcheck -s sh and node --check`);
