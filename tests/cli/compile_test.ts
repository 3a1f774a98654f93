/**
 * `deno task compile` for real, without downloading denort: the running deno stands in for the base
 * binary (DENORT_BIN), which makes deno compile embed kodama's payload exactly as it would, and list it.
 * The binary is not run (it is deno plus a payload, not denort plus a payload); what is checked is what
 * goes in: the built-in workflows, the sandbox worker, the completion scripts — and not client-node.
 */
import { assert, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import {
  compileArgs,
  hostPlatform,
  INCLUDES,
  payloadBudget,
  withBuildConfig,
} from "../../scripts/compile.ts";

/** The payload deno compile appended to the base binary, as text (for markers of what is in it). */
async function build(authProvider: boolean): Promise<{ log: string; payload: number; text: string }> {
  const dir = await Deno.makeTempDir({ prefix: "kodama-compile-" });
  try {
    const output = join(dir, "kodama");
    const out = await withBuildConfig(authProvider, (excludes) =>
      new Deno.Command(Deno.execPath(), {
        args: compileArgs(hostPlatform(), { output, authProvider, excludes }),
        env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output());
    const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert(out.success, log);
    const base = Deno.statSync(Deno.execPath()).size;
    const bytes = await Deno.readFile(output);
    return { log, payload: bytes.length - base, text: new TextDecoder().decode(bytes.subarray(base)) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "deno compile embeds the workflows, the worker and the completion scripts, and no client-node",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lean = await build(false);
    // a line of each file kodama reads at run time
    const markers = {
      "workflows/kwekash.yaml": "name: kwekash",
      "workflows/health.yaml": "name: health",
      "src/workflow/sandbox/worker.js": "Runs INSIDE a sandbox Worker",
      "src/complete/kodama.bash": "complete -o bashdefault -F __kodama_complete",
      "src/complete/kodama.zsh": "compdef _kodama kodama kpod kwekash",
      "src/complete/kodama.fish": "complete -c $c -f -a '(__kodama_complete)'",
      "src/complete/kodama.ps1": "Register-ArgumentCompleter -Native",
    };
    for (const [file, line] of Object.entries(markers)) {
      assert(INCLUDES.some((i) => file.startsWith(i)), `${file} is not an include`);
      assert(lean.text.includes(line), `${file} is not in the binary`);
    }
    assertStringIncludes(lean.log, "workflows/");
    const clientNode = '"name": "@kubernetes/client-node"';
    assert(!lean.text.includes(clientNode), "client-node is embedded");
    const full = await build(true);
    assert(full.text.includes(clientNode), "--auth-provider embeds client-node");
    // the auth-provider fallback is most of the payload: leaving it out must show
    assert(full.payload > lean.payload + 20 * 1024 * 1024, `${full.payload} vs ${lean.payload}`);
    // the budget written in the repo: build and test tools (esbuild, puppeteer-core, the UI's browser
    // packages) or a package's types, maps and sources in the binary would break it
    for (const [b, authProvider] of [[lean, false], [full, true]] as const) {
      const mib = b.payload / 1024 / 1024;
      assert(
        mib <= payloadBudget(authProvider),
        `payload ${mib.toFixed(1)} MiB > budget ${payloadBudget(authProvider)}`,
      );
    }
    for (const tool of ["puppeteer-core", "esbuild", "web-tree-sitter", "preact", "@xterm/xterm", "wabt"]) {
      assert(!lean.text.includes(`"name": "${tool}"`), `${tool} is embedded`);
    }
  },
});
