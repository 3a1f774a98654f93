/**
 * A watch aborted while it connects ends then (Ctrl-C just as `kodama pods -w` printed its table): its abort
 * listener was added once the connection was made, so an abort during the connect was missed and the watch
 * ran until the server ended it, 5 minutes later. The test server answers slowly here, so the abort always
 * comes during the connect; both transports.
 */
import { assertEquals } from "@kodama/test-assert";
import { Kube } from "../../src/kube/client.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** How the watch ended: by itself, or still running after `ms` (it is aborted either way). */
async function watchAbortedWhileConnecting(kube: Kube, native: boolean, ms: number): Promise<string> {
  const ac = new AbortController();
  const watch = kube.watchObjects("pods", "default", {}, () => {}, { signal: ac.signal, native })
    .then(() => "ended");
  setTimeout(() => ac.abort(), 300);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const still = new Promise<string>((r) => timer = setTimeout(() => r("still running"), ms));
  try {
    return await Promise.race([watch, still]);
  } finally {
    clearTimeout(timer);
  }
}

clusterTest(
  "a watch aborted while it connects ends (node and native transports)",
  { seed: "sessions" },
  async (_t, c) => {
    if (c.real) return; // the slow answer is the test server's fault injection
    const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
    c.faults.delay(1_500);
    try {
      for (const native of [false, true]) {
        assertEquals(await watchAbortedWhileConnecting(kube, native, 20_000), "ended", `native: ${native}`);
      }
    } finally {
      c.faults.delay(0);
    }
  },
);
