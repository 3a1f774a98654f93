/**
 * The sync's stall watch (src/session/sync/remote.ts `execWatched`) against the test server: a stream whose
 * stdin keeps moving is never given up, however long the upload takes (a big batch on a slow link), and one
 * on which nothing moves either way is, with a message that says which side went quiet.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { tempNamespace } from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { countedStdin, execWatched, SyncConnectionError } from "../../src/session/sync/remote.ts";
import { busyboxPod } from "./_helpers.ts";

const STALL_MS = 1500;

/** `n` pieces of `size` bytes, one every `everyMs`; then the end (or, `hang`, nothing more, ever). */
function trickle(n: number, size: number, everyMs: number, hang = false): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      // fixed: the trickle's pace is what is tested (a piece more often than the stall bound), not a wait
      if (i > 0) await new Promise((r) => setTimeout(r, everyMs));
      if (i++ < n) return c.enqueue(new Uint8Array(size).fill(97));
      if (hang) return await new Promise<void>(() => {});
      c.close();
    },
  }, { highWaterMark: 0 });
}

Deno.test("countedStdin hands a byte array out in pieces and reports each, then the end", async () => {
  const seen: [number, boolean][] = [];
  const s = countedStdin(new Uint8Array(1300 * 1024), (b, done) => void seen.push([b, done]));
  let total = 0;
  for await (const piece of s) {
    assert(piece.length <= 512 * 1024);
    total += piece.length;
  }
  assertEquals(total, 1300 * 1024);
  assertEquals(seen, [[512 * 1024, false], [1024 * 1024, false], [1300 * 1024, false], [1300 * 1024, true]]);
});

clusterTest("the stall watch counts what stdin sends as progress", { seed: "none" }, async (t, c) => {
  const ns = await tempNamespace(c, "sync-stall");
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
  const target = { namespace: ns.name, pod: "stall", container: "main" };
  // the stall time as an argument: an env var set here would reach other test files' kodama processes
  const watched = (command: string[], s: Parameters<typeof execWatched>[3]) =>
    execWatched(kube, target, command, s, 0, undefined, STALL_MS);
  await kube.createObject("pods", ns.name, busyboxPod("stall"));
  await waitForPods(kube, { namespace: ns.name, selector: "" }, { for: "ready", timeoutMs: 60_000 });

  await t.step("an upload that takes 3x the stall time but keeps moving is not given up", async () => {
    // the pod says nothing until stdin ends: only the pieces going out show progress
    let out = "";
    const started = Date.now();
    const r = await watched(["sh", "-c", "wc -c"], {
      stdin: trickle(10, 1024, 450),
      stdout: (b) => void (out += new TextDecoder().decode(b)),
    });
    assertEquals(r.exitCode, 0, r.error);
    assertEquals(out.trim(), "10240");
    assert(Date.now() - started > 3 * STALL_MS, "the upload was not slow enough to test anything");
  });

  await t.step("a stdin that stops moving is given up after the stall time, and says so", async () => {
    const e = await assertRejects(
      () => watched(["sh", "-c", "cat > /dev/null"], { stdin: trickle(2, 1024, 100, true) }),
    );
    assert(e instanceof SyncConnectionError, String(e));
    assertMatch(
      e.message,
      /stream to stall stalled: nothing moved for 2 s \(while sending, 2\.0 KiB taken\)/,
    );
  });

  await t.step("a pod that takes all of stdin and never answers is given up, and says so", async () => {
    const e = await assertRejects(
      () => watched(["sh", "-c", "cat > /dev/null; sleep 30"], { stdin: new Uint8Array(4096) }),
    );
    assert(e instanceof SyncConnectionError, String(e));
    assertMatch(e.message, /nothing moved for 2 s \(all 4\.0 KiB sent; no answer from the pod\)/);
  });
});
