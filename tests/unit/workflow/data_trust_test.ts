/**
 * The trust path the web UI (and any front end on src/workflow/data.ts) takes: the question is shown with
 * a content hash, and the run carries the hash the person accepted. A repo that changes what runs in
 * between (the script a `local` step runs) gets nothing run and nothing trusted.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { runWorkflowData, trustQuestion } from "../../../src/workflow/data.ts";
import { readTrust } from "../../../src/workflow/trust.ts";
import type { Kube } from "../../../src/kube/client.ts";
import { lockEnv } from "../../_env_lock.ts";

Deno.test("data: a script swapped after the trust question is refused with the accepted hash; nothing runs or is trusted", async () => {
  const unlock = await lockEnv();
  const root = await Deno.makeTempDir({ prefix: "kodama-data-trust-" });
  const repo = join(root, "repo"), home = join(root, "home");
  await Deno.mkdir(join(repo, ".git"), { recursive: true });
  await Deno.mkdir(join(repo, ".kodama", "workflows"), { recursive: true });
  Deno.env.set("KODAMA_HOME", home);
  const tool = join(repo, "tool.sh");
  try {
    await Deno.writeTextFile(tool, "#!/bin/sh\necho version-1\n", { mode: 0o755 });
    await Deno.writeTextFile(
      join(repo, ".kodama", "workflows", "runit.yaml"),
      "description: runs the repo's tool\npermissions: { run: [./tool.sh] }\n" +
        "steps:\n  - local: { command: [./tool.sh] }\n",
    );
    const out: string[] = [];
    const run = (trustedSha: string) =>
      runWorkflowData("runit", {
        params: {},
        trustedSha,
        cwd: repo,
        connect: () => Promise.reject(new Error("a local-only workflow never connects")) as Promise<Kube>,
        globalFlags: [],
        out: { write: (c) => out.push(typeof c === "string" ? c : new TextDecoder().decode(c)) },
        signal: new AbortController().signal,
      });

    const shown = await trustQuestion("runit", repo);
    assert(shown, "an untrusted workflow with permissions asks");
    assertStringIncludes(shown.lines.join("\n"), "tool.sh");

    // the repo swaps the script after the person read the question, before they accept it
    await Deno.writeTextFile(tool, "#!/bin/sh\necho version-2-evil\n", { mode: 0o755 });
    const e = await assertRejects(() => run(shown.sha256));
    assertStringIncludes((e as Error).message, "not the version shown to you");
    assertStringIncludes((e as Error).message, "nothing was run");
    assert(!out.join("").includes("version-2"), out.join(""));
    assertEquals(Object.keys(await readTrust()), [], "nothing was trusted");

    // the question asked again shows the new version; accepting that one runs it
    const again = await trustQuestion("runit", repo);
    assert(again && again.sha256 !== shown.sha256);
    assertEquals(await run(again.sha256), 0);
    assertStringIncludes(out.join(""), "version-2-evil");
    assertEquals(await trustQuestion("runit", repo), undefined, "trusted now: no question");
  } finally {
    Deno.env.delete("KODAMA_HOME");
    unlock();
    await Deno.remove(root, { recursive: true });
  }
});
