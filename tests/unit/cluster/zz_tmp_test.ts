import { randomBytes } from "node:crypto";
import { makePod, isReady, startRig, wsExec } from "/work/main/tests/unit/cluster/_runtime_helpers.ts";
Deno.test({ name: "x", sanitizeOps: false, sanitizeResources: false }, async () => {
  const rig = await startRig();
  rig.host.add(makePod("web", { containers: [{ name: "main", image: "b" }] }));
  rig.runtime.startPod(rig.host.getPod("default", "web")!);
  await rig.host.waitFor("default", "web", isReady);
  let t = Date.now();
  const bin = randomBytes(300_000);
  const r = await wsExec(rig, "web", { command: ["cat"], stdin: "true", stdout: "true" }, { stdin: [bin.subarray(0, 100000), bin.subarray(100000)], closeStdin: true });
  console.log("cat", Date.now() - t, r.stdout.equals(bin));
  t = Date.now();
  const big = await wsExec(rig, "web", { command: ["sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' 'k'"], stdout: "true" });
  console.log("big", Date.now() - t, big.stdout.length);
  await rig.stop();
});
