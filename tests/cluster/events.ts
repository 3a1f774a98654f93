/** core/v1 Events: recorded like the kubelet's event correlator (same object+reason+message -> count++). */
import type { Obj, Store } from "./store.ts";
import { NODE_NAME, now } from "./defaults.ts";

const MAX_EVENTS = 5000;
let eventSeq = 0;

export function recordEvent(
  store: Store,
  namespace: string,
  involvedObject: Obj,
  type: string,
  reason: string,
  message: string,
  component: string,
): void {
  const ts = now();
  // Deduplicate like the kubelet's event correlator: same object, reason and message -> count++.
  let same: Obj | undefined;
  for (const e of store.peek("events", namespace)) {
    if (
      e.involvedObject?.uid === involvedObject.uid && e.involvedObject?.name === involvedObject.name &&
      e.reason === reason && e.message === message
    ) {
      same = store.get("events", namespace, e.metadata.name);
      break;
    }
  }
  if (same) {
    same.count = (same.count ?? 1) + 1;
    same.lastTimestamp = ts;
    store.replace("events", same);
    return;
  }
  // like kube: NAME.<UnixNano in hex>; the sequence keeps events in the same millisecond apart
  const nano = BigInt(Date.now()) * 1_000_000n + BigInt(eventSeq++ % 1_000_000);
  const name = `${involvedObject.name}.${nano.toString(16)}`;
  store.insert("events", {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace, uid: crypto.randomUUID(), creationTimestamp: ts },
    involvedObject: Object.fromEntries(Object.entries(involvedObject).filter(([, v]) => v !== undefined)),
    reason,
    message,
    source: { component, ...(component === "kubelet" ? { host: NODE_NAME } : {}) },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    type,
    eventTime: null,
    reportingComponent: component,
    reportingInstance: component === "kubelet" ? NODE_NAME : "",
  });
  if (store.count("events") > MAX_EVENTS) {
    let oldest: Readonly<Obj> | undefined;
    for (const e of store.peek("events")) {
      if (!oldest || Number(e.metadata.resourceVersion) < Number(oldest.metadata.resourceVersion)) {
        oldest = e;
      }
    }
    if (oldest) store.remove("events", oldest.metadata.namespace, oldest.metadata.name);
  }
}
