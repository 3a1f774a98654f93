/** The test server's quota arithmetic: quantities as kube-apiserver prints them in its quota errors. */
import { assertEquals } from "@kodama/test-assert";
import { claimUsage, formatAmount, parseAmount, podUsage } from "./quota.ts";

Deno.test("quota quantities: parsed and printed as a Quantity's canonical text", () => {
  for (
    const [text, want] of [["100m", "100m"], ["0.25", "250m"], ["2", "2"], ["1000", "1k"], ["100Mi", "100Mi"]]
  ) {
    assertEquals(formatAmount(parseAmount(text)), want, text);
  }
  assertEquals(parseAmount("1Gi").milli, 1024n ** 3n * 1000n);
  assertEquals(parseAmount("1e3").milli, 1_000_000n);
});

Deno.test("quota usage: a pod's is the larger of its containers' sum and any init container; terminal pods only count", () => {
  const pod = {
    spec: {
      initContainers: [{ name: "i", resources: { requests: { cpu: "2" } } }],
      containers: [
        { name: "a", resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "2Gi" } } },
        { name: "b", resources: { requests: { cpu: "500m", memory: "1Gi" } } },
      ],
    },
    status: { phase: "Running" },
  };
  const u = podUsage(pod);
  assertEquals(formatAmount(u.get("requests.cpu")!), "2");
  assertEquals(formatAmount(u.get("requests.memory")!), "2Gi");
  assertEquals(formatAmount(u.get("limits.memory")!), "2Gi");
  assertEquals([...podUsage({ ...pod, status: { phase: "Succeeded" } }).keys()], ["count/pods"]);
  const c = claimUsage({ spec: { storageClassName: "fast", resources: { requests: { storage: "10Gi" } } } });
  assertEquals(formatAmount(c.get("fast.storageclass.storage.k8s.io/requests.storage")!), "10Gi");
});
