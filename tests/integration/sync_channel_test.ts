/**
 * The two-way sync's kept-open apply channel against a pod (the test server, or a real cluster): where
 * the pod has `node` the channel is podapply.ts's program and takes batch after batch raw; an image whose
 * node speaks before the program does (here: a program that prints and exits, as a `node` wrapper or a
 * broken install would) leaves the sync on the shell loop, which applies the same batches.
 */
import { assertEquals } from "@kodama/test-assert";
import { tempNamespace } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { Kube } from "../../src/kube/client.ts";
import { execInPod } from "../../src/kube/exec.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { BatchChannel } from "../../src/session/sync/remote.ts";
import { APPLY2_SCRIPT, applyInput, parseApplyOutput } from "../../src/session/sync/podside.ts";
import { APPLY_JS } from "../../src/session/sync/podapply.ts";
import { busyboxPod } from "./_helpers.ts";

clusterTest("sync channel: node applies batch after batch; a node that speaks first leaves the shell loop", {
  seed: "none",
  timeoutMs: 180_000,
}, async (t, c) => {
  const ns = await tempNamespace(c, "sync-channel");
  try {
    await channelSteps(t, await Kube.connect({ kubeconfig: c.kubeconfig }), ns.name);
  } finally {
    await ns.remove();
  }
});

async function channelSteps(t: Deno.TestContext, kube: Kube, namespace: string): Promise<void> {
  const ns = { name: namespace };
  await kube.createObject("pods", ns.name, busyboxPod("ch", { labels: { app: "ch" }, dir: "/ws" }));
  await waitForPods(kube, { namespace: ns.name, selector: "app=ch" }, { for: "ready", timeoutMs: 60_000 });
  const target = { namespace: ns.name, pod: "ch", container: "main", workdir: "/ws/w" };
  const inPod = async (script: string) => {
    let out = "";
    const dec = new TextDecoder();
    const r = await execInPod(kube, ns.name, "ch", "main", ["sh", "-c", script], {
      stdout: (b) => void (out += dec.decode(b, { stream: true })),
    });
    assertEquals(r.exitCode, 0, r.error);
    return out;
  };
  const hasNode = !(await inPod("command -v node || echo @@none")).includes("@@none");
  const text = (s: string) => new TextEncoder().encode(s);
  const save = (path: string, s: string) =>
    applyInput([{ op: "F", path, expect: "-" }], [{
      path,
      kind: "file",
      mode: 0o644,
      data: text(s),
      mtimeMs: 0,
    }]);

  for (
    const [dir, what, program, node] of [
      ["a", "the pod's node runs podapply.ts", APPLY_JS, hasNode],
      [
        "b",
        "a node that prints before the program: the shell loop",
        'console.log("an agent says hi")',
        false,
      ],
    ] as const
  ) {
    await t.step(what, async () => {
      const ch = await BatchChannel.open(kube, target, APPLY2_SCRIPT, program);
      try {
        assertEquals(ch.node, node);
        const mkdir = await applyInput([{ op: "D", path: dir, expect: "-", mode: 0o755 }], []);
        assertEquals(await ch.apply(mkdir, "ch"), []);
        for (let i = 0; i < 3; i++) {
          const said = await ch.apply(await save(`${dir}/f${i}.txt`, `save ${i}\n`), "ch");
          assertEquals(said, []);
        }
        // a second save of a path the pod has now: the plan expected it absent, so it is skipped, not written
        const said = await ch.apply(await save(`${dir}/f0.txt`, "overwrite?\n"), "ch");
        assertEquals(parseApplyOutput(said.join("\n")), new Set([`${dir}/f0.txt`]));
      } finally {
        ch.close();
      }
      // the saves, and nothing else: no stage, no .kodama left behind
      assertEquals(
        await inPod(`cd /ws/w/${dir} && cat f0.txt f1.txt f2.txt && ls -a . && ls -a /ws/w`),
        `save 0\nsave 1\nsave 2\n.\n..\nf0.txt\nf1.txt\nf2.txt\n.\n..\n${dir === "a" ? "a" : "a\nb"}\n`,
      );
    });
  }
}
