import { createState, onKey, removeItems, type PickerItem } from "./src/picker/state.ts";
import { render } from "./src/picker/render.ts";
import { podPreview } from "./src/picker/preview.ts";
import type { V1Pod } from "@kubernetes/client-node";
const NOW = Date.parse("2026-01-02T12:00:00Z");
function pod(ns: string, name: string, extra: Partial<{ node: string; ip: string; restarts: number }> = {}): V1Pod {
  return {
    metadata: { name, namespace: ns, creationTimestamp: new Date(NOW - 3 * 3600_000) as unknown as Date, labels: { app: name.replace(/-\d+$/, ""), "statefulset.kubernetes.io/pod-name": name } },
    spec: { nodeName: extra.node ?? "node-1", containers: [{ name: "weka", image: "quay.io/weka.io/weka-in-container:4.4.2" }, { name: "sidecar", image: "busybox:1.36" }] },
    status: { phase: "Running", podIP: extra.ip ?? "10.0.0.7", containerStatuses: [
      { name: "weka", ready: true, restartCount: extra.restarts ?? 2, image: "", imageID: "", state: { running: {} } },
      { name: "sidecar", ready: false, restartCount: 0, image: "", imageID: "", state: { waiting: { reason: "CrashLoopBackOff" } } }] },
  } as V1Pod;
}
const mk = (p: V1Pod): PickerItem<V1Pod> => ({ id: `${p.metadata!.namespace}/${p.metadata!.name}`, label: p.metadata!.name!, namespace: p.metadata!.namespace, payload: p });
const pods = [pod("weka-operator-system","weka-drive-0"),pod("weka-operator-system","weka-drive-1"),pod("weka-operator-system","weka-drive-2"),pod("weka-operator-system","weka-compute-0"), pod("prod", "api-7d9f8c6b5-x2k4p")];
const preview = (it: PickerItem<V1Pod>) => podPreview(it.payload, NOW);
for (const w of [40, 80, 160]) {
  let s = createState(pods.map(mk), { multi: true, width: w, height: 12, prompt: "pod> " });
  s = onKey(s, { text: "wdr" }).state; s = onKey(s, "tab").state;
  s = removeItems(s, ["weka-operator-system/weka-drive-2"]);
  console.log(`---- ${w}`); console.log(render(s, { preview }).map(l => `|${l}|`).join("\n"));
}
