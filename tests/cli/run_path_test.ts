/**
 * What `kodama run` of a built-in or home workflow loads (issue 24, bench/README.md "the everyday path"):
 * each module is the main thread's work before the step runs, so what a run of kwekash never uses stays
 * off its path. tests/unit/hot_path_test.ts checks the static imports; this checks what a real run loads,
 * dynamic imports included, from Deno's own debug log (`deno run -L debug` names every module it fetches
 * and every code cache it reads). The checks of the other side (a first run, a repo workflow) prove that
 * the log is read right: a module that is loaded is seen.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { CONFIG, MAIN } from "./_run.ts";
import { trackChild } from "../_timeout.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { onRealCluster } from "../cluster/harness.ts";

const SRC = new URL("../../src/", import.meta.url).href;

/** Off the path of a run of a trusted workflow whose validated form is cached. */
const OFF_PATH = [
  "workflow/trust.ts", // home and built-in workflows are trusted: nothing to ask
  "workflow/load.ts", // the validated form comes from the cache: no YAML parse, no zod
  "workflow/schema.ts",
  "workflow/plan.ts", // only a dry run prints a plan
  "workflow/sandbox/", // no script step
  "config/load.ts", // no config file
  "picker/", // select: one
  "ui/progress.ts", // one pod, not a terminal
];

/** The modules under src/ that `kodama ARGS` loads, as paths relative to src/. */
async function loaded(args: string[], env: Record<string, string>, cwd: string): Promise<Set<string>> {
  const out = await trackChild(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-L", "debug", "-A", "--no-prompt", "--config", CONFIG, MAIN, ...args],
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  ).output();
  const log = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, log.slice(-2000));
  const mods = new Set<string>();
  for (
    const m of log.matchAll(/(?:fetch_no_follow - specifier: |code cache \w+ for ES module: )(file:[^\s,]+)/g)
  ) {
    if (m[1].startsWith(SRC)) mods.add(m[1].slice(SRC.length));
  }
  return mods;
}

const offPath = (mods: Set<string>) => [...mods].filter((m) => OFF_PATH.some((p) => m.startsWith(p)));

clusterTest("run kwekash (built-in and home) loads no trust, no YAML loader, no planner, no sandbox", {
  seed: "demo",
  ignore: onRealCluster, // what a run loads is the same on any cluster; the demo world has the drive pods
}, async (t, cluster) => {
  const tmp = await Deno.makeTempDir({ prefix: "kodama-run-path-" });
  const env = { KUBECONFIG: cluster.kubeconfig, KODAMA_HOME: join(tmp, "home") };
  try {
    await t.step("the built-in kwekash: its first run checks the file, the next one does not", async () => {
      const first = await loaded(["run", "kwekash"], env, tmp);
      assert(first.has("workflow/load.ts"), "a first run checks the file (the log is read right)");
      const next = await loaded(["run", "kwekash"], env, tmp);
      assert(next.has("workflow/engine.ts") && next.has("kube/exec.ts"), [...next].join(" "));
      assertEquals(offPath(next), []);
    });

    await t.step("a home kwekash (the benchmark's) loads the same", async () => {
      const kw = await Deno.readTextFile(new URL("../../workflows/kwekash.yaml", import.meta.url));
      await Deno.mkdir(join(tmp, "home", "workflows"), { recursive: true });
      await Deno.writeTextFile(
        join(tmp, "home", "workflows", "kwekash.yaml"),
        kw.replace("default: weka version", "default: 'true'"),
      );
      await loaded(["run", "kwekash"], env, tmp); // checked and cached
      const next = await loaded(["run", "kwekash"], env, tmp);
      assert(next.has("workflow/engine.ts"), [...next].join(" "));
      assertEquals(offPath(next), []);
    });

    await t.step("a repo workflow that asks for nothing still loads trust (it may shadow one)", async () => {
      const repo = join(tmp, "repo");
      await Deno.mkdir(join(repo, ".git"), { recursive: true });
      await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
      // kwekash under another name: a repo workflow that asks for no permissions runs without a question
      const kw = await Deno.readTextFile(new URL("../../workflows/kwekash.yaml", import.meta.url));
      await Deno.writeTextFile(
        join(repo, ".kodama", "workflows", "hello.yaml"),
        kw.replace("name: kwekash", "name: hello"),
      );
      await loaded(["run", "hello"], env, repo);
      const next = await loaded(["run", "hello"], env, repo);
      assert(next.has("workflow/trust.ts"), [...next].join(" "));
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
