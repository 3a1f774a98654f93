import { assertEquals, assertThrows } from "@kodama/test-assert";
import {
  evalJsonPath,
  parseJsonPathCondition,
  splitJsonPathInput,
  toRfcPath,
} from "../../../src/pods/jsonpath.ts";
import type { KodamaError } from "../../../src/base/errors.ts";

const pod = {
  metadata: { name: "api-1", labels: { "app.kubernetes.io/name": "api" } },
  status: {
    phase: "Running",
    podIP: "10.0.0.7",
    conditions: [{ type: "Ready", status: "True" }, { type: "PodScheduled", status: "True" }],
    containerStatuses: [{ name: "web", ready: true, restartCount: 0 }],
  },
};

Deno.test("kubectl's relaxed expressions become RFC 9535 queries", () => {
  assertEquals(toRfcPath("status.phase"), "$.status.phase");
  assertEquals(
    toRfcPath(`status.conditions[?(@.type=="Ready")].status`),
    `$.status.conditions[?(@.type=="Ready")].status`,
  );
  assertEquals(
    toRfcPath("metadata.labels.app\\.kubernetes\\.io/name"),
    "$.metadata.labels['app.kubernetes.io/name']",
  );
  assertEquals(toRfcPath(".phase"), "$..phase");
  assertEquals(toRfcPath("status.containerStatuses[*].ready"), "$.status.containerStatuses[*].ready");
  assertEquals(splitJsonPathInput(`{.status.conditions[?(@.type=="Ready")].status}=True`), [
    `{.status.conditions[?(@.type=="Ready")].status}`,
    "True",
  ]);
});

Deno.test("--for jsonpath as kubectl accepts it; values compared as kubectl compares them", () => {
  const phase = parseJsonPathCondition("{.status.phase}=Running");
  assertEquals(evalJsonPath(pod, phase), { met: true, current: "Running" });
  assertEquals(evalJsonPath(pod, parseJsonPathCondition(".status.phase=Pending")), {
    met: false,
    current: "Running",
  });
  assertEquals(
    evalJsonPath(pod, parseJsonPathCondition("status.phase='Running'")).met,
    true,
    "quotes trimmed",
  );
  assertEquals(
    evalJsonPath(pod, parseJsonPathCondition(`{.status.conditions[?(@.type=="Ready")].status}=True`)).met,
    true,
  );
  assertEquals(
    evalJsonPath(pod, parseJsonPathCondition("{.status.containerStatuses[0].ready}=true")).met,
    true,
  );
  assertEquals(
    evalJsonPath(pod, parseJsonPathCondition("{.status.containerStatuses[0].restartCount}=0")).met,
    true,
  );
  assertEquals(
    evalJsonPath(pod, parseJsonPathCondition("{.metadata.labels.app\\.kubernetes\\.io/name}=api")).met,
    true,
  );
  // no value: the field exists
  assertEquals(evalJsonPath(pod, parseJsonPathCondition("{.status.podIP}")), {
    met: true,
    current: "10.0.0.7",
  });
  assertEquals(evalJsonPath(pod, parseJsonPathCondition("{.status.hostIP}")), { met: false });
  // several values, or an object: kubectl's errors
  assertEquals(
    evalJsonPath(pod, parseJsonPathCondition("{.status.conditions[*].status}=True")).error,
    "given jsonpath expression matches more than one value",
  );
  assertEquals(
    evalJsonPath(pod, parseJsonPathCondition("{.status}=x")).error,
    "jsonpath leads to a nested object or list which is not supported",
  );
  for (const bad of ["{.status.phase}=", "{.a}={.b}=c", "{.status[}=x", "{{.x}}=1", ""]) {
    assertEquals((assertThrows(() => parseJsonPathCondition(bad)) as KodamaError).code, 2, bad);
  }
});
