/**
 * The DESIGN's reference peer for fan-out: a bare in-process client-node loop, 32 at a time, that lists
 * the pods of a namespace and runs `true` in each through client-node's Exec. No CLI, no output
 * handling, no summary — the floor that kodama must stay within 1.2x of.
 *   deno run -A bench/_bare_loop.ts KUBECONFIG NAMESPACE
 */
import { CoreV1Api, Exec, KubeConfig } from "@kubernetes/client-node";
import { Writable } from "node:stream";

const [kubeconfig, namespace] = Deno.args;
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const pods = (await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata!.name!);
const exec = new Exec(kc);
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
let failed = 0;
let next = 0;
async function worker() {
  while (next < pods.length) {
    const name = pods[next++];
    await new Promise<void>((resolve) => {
      exec.exec(namespace, name, "", ["true"], sink(), sink(), null, false, (s) => {
        if (s.status !== "Success") failed++;
        resolve();
      }).then((ws) => ws.on("close", () => resolve()), () => {
        failed++;
        resolve();
      });
    });
  }
}
await Promise.all(Array.from({ length: 32 }, worker));
if (failed) {
  console.error(`${failed} execs failed`);
  Deno.exit(1);
}
Deno.exit(0);
