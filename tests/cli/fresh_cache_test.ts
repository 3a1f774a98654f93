/**
 * A newcomer's first steps on a fresh Deno cache: `deno task demo`, then kodama commands. Deno installs
 * every locked npm tarball on the first run, but stores the registry metadata only for the packages that
 * run's own module graph resolves; when a later entry point (main.ts) uses others, Deno fetched their
 * metadata again on every module-graph build and never stored it ("Download https://registry.npmjs.org/zod"
 * on each `pods -A`). The demo and cluster tasks therefore cache the CLI's graph in their first install.
 * This test runs that flow against an empty DENO_DIR (it downloads the npm packages once).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { CONFIG, MAIN } from "./_run.ts";
import { dirname } from "node:path";

const ROOT = dirname(CONFIG);

Deno.test({
  name: "after deno task demo on a fresh Deno cache, kodama commands download nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-fresh-" });
    const env = {
      DENO_DIR: `${tmp}/deno`,
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      KODAMA_HOME: `${tmp}/home`,
    };
    const kubeconfig = `${tmp}/kubeconfig`;
    const demo = new Deno.Command(Deno.execPath(), {
      args: ["task", "demo", "--port", "0", "--kubeconfig", kubeconfig],
      cwd: ROOT,
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const errText = new Response(demo.stderr).text();
    try {
      // the banner means the demo world is up
      let out = "";
      const reader = demo.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!out.includes("Press Ctrl-C to stop")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the demo ended early:\n${out}\n${await errText}`);
        out += value;
      }
      reader.cancel().catch(() => {});
      for (
        const args of [["pods", "-A"], ["pods", "-A"], [
          "exec",
          "-n",
          "weka-operator-system",
          "-m",
          "drive-1",
          "--",
          "weka",
          "version",
        ]]
      ) {
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", MAIN, "--kubeconfig", kubeconfig, ...args],
          cwd: ROOT,
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(r.stderr);
        assertEquals(r.code, 0, stderr);
        assert(!stderr.includes("Download"), `kodama ${args.join(" ")} downloaded:\n${stderr}`);
      }
    } finally {
      demo.kill("SIGINT");
      await demo.status;
      await errText;
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
