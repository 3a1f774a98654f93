/**
 * The OS-matrix harness (#36): the tests that touch process liveness, permission prompts, workflows, cp
 * and sync, run again "as darwin" — in a subprocess whose `Deno.build.os` is "darwin" before any module
 * loads (`--preload tests/os_matrix/preload.ts`), with `--deny-read=/proc` (macOS has no procfs), on a
 * pseudo-terminal made by util-linux `script` (so prompt checks see a terminal). The preload carries the
 * same OS, preload and /proc denial into every kodama process those tests start (a background sync,
 * `pf --detach`, a CLI run, a `script -c` terminal).
 *
 * A step whose subject is the same on every OS (sync_test's 10,000-file burst and its cut and stalled streams)
 * is marked `ignore: AGAIN_AS_OTHER_OS` (tests/os_matrix/again.ts) and runs once, in the plain pass: they were
 * ~37 of this pass's ~80 CPU-seconds.
 *
 * Windows cannot be faked this way (its path flavour would meet this machine's POSIX files); the table
 * tests with `platformFor("windows")` cover it (tests/unit/platform*, tests/unit/platform/). `.ci/run`
 * runs this file as part of `deno task test`.
 */
import { assert } from "../_assert.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { shellQuote } from "../../src/base/text/escape.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** What runs as darwin, by what it touches. */
export const AS_DARWIN = [
  // liveness: background sync and --detach port-forwards, pid reuse
  "tests/unit/base/proc/liveness_test.ts",
  "tests/cli/liveness_test.ts",
  "tests/integration/portforward_bg_test.ts",
  // prompts: the --no-prompt check without /proc, on a terminal
  "tests/cli/workflow_tty_test.ts",
  // workflows: discovery (file URLs), local steps' environment, the sandbox's grants
  "tests/cli/workflow_test.ts",
  "tests/integration/workflow_run_test.ts",
  "tests/integration/workflow_sandbox_test.ts",
  // cp (the folding probe at the destination) and sync
  "tests/integration/cp_test.ts",
  "tests/cli/sync_test.ts",
  // the platform module with the host's defaults
  "tests/unit/platform/platform_test.ts",
  "tests/unit/platform/hostile_names_test.ts",
  "tests/unit/platform/folding_sync_test.ts",
  "tests/unit/platform/pull_links_test.ts",
  "tests/cli/sync_pull_safety_test.ts",
];

const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "OS matrix: liveness, prompt, workflow, cp and sync tests pass as darwin, with /proc denied, on a terminal",
  ignore: !hasScript,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const q = (s: string) => shellQuote(s, { always: true });
    const cmd = [
      Deno.execPath(),
      "test",
      "--allow-all",
      "--no-check",
      // two files at a time (DENO_JOBS below): one after another the pass held its slot of the suite for
      // ~75 s; side by side they run as in the suite's own pass. The preload reaches every worker.
      "--parallel",
      "--preload",
      join(ROOT, "tests", "os_matrix", "preload.ts"),
      "--deny-read=/proc",
      ...AS_DARWIN,
    ].map(q).join(" ");
    const env: Record<string, string> = { KODAMA_TEST_AS_OS: "darwin", NO_COLOR: "1", DENO_JOBS: "2" };
    const r = await new Deno.Command("script", {
      args: ["-qfec", cmd, "/dev/null"],
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout).replaceAll("\r", "") + new TextDecoder().decode(r.stderr);
    // the summary line, and every failure with its reason, for whoever reads a red run
    assert(r.code === 0, `as darwin, these failed (exit ${r.code}):\n${out.slice(-12_000)}`);
    assert(/ok \| \d+ passed/.test(out), out.slice(-2000));
  },
});
