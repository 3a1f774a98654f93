import { assertEquals, assertThrows } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { chooseContainer, describeTarget, filterPods } from "../../../src/pods/target.ts";
import { podColumns, podRestarts, podStatus } from "../../../src/pods/display.ts";
import { renderPods } from "../../../src/pods/list.ts";

/** One clock for every fixture, so ages never straddle a millisecond tick. */
const NOW = Date.now();

function pod(name: string, ns = "prod", phase = "Running", extra: Partial<V1Pod> = {}): V1Pod {
  return {
    metadata: { name, namespace: ns, creationTimestamp: new Date(NOW - 3600_000) },
    spec: { containers: [{ name: "main" }, { name: "side" }], nodeName: "n1" },
    status: {
      phase,
      podIP: "10.0.0.1",
      containerStatuses: [
        {
          name: "main",
          ready: phase === "Running",
          restartCount: 0,
          image: "",
          imageID: "",
          state: { running: {} },
        },
        {
          name: "side",
          ready: phase === "Running",
          restartCount: 2,
          image: "",
          imageID: "",
          state: { running: {} },
        },
      ],
    },
    ...extra,
  } as V1Pod;
}

Deno.test("all -m substrings must match; regex and exact pod narrow further; sorted", () => {
  const pods = [
    pod("weka-drive-1"),
    pod("weka-drive-0"),
    pod("weka-compute-0"),
    pod("api-1", "prod", "Pending"),
  ];
  assertEquals(filterPods(pods, { match: ["drive"] }).map((p) => p.metadata!.name), [
    "weka-drive-0",
    "weka-drive-1",
  ]);
  assertEquals(filterPods(pods, { match: ["weka", "0"] }).map((p) => p.metadata!.name), [
    "weka-compute-0",
    "weka-drive-0",
  ]);
  assertEquals(filterPods(pods, { regex: "^weka-(drive|compute)-0$" }).length, 2);
  assertEquals(filterPods(pods, { pod: "weka-drive-1", match: ["drive"] }).length, 1);
  assertEquals(filterPods(pods, { match: ["api"], includeNotReady: false }).length, 0);
  assertEquals(filterPods(pods, { match: ["api"] }).length, 1);
  assertThrows(() => filterPods(pods, { regex: "(" }), "invalid --regex");
});

Deno.test("describeTarget names namespace and filters", () => {
  assertEquals(
    describeTarget({ namespace: "prod", match: ["api"], selector: "app=api", includeNotReady: false }),
    'namespace prod, name contains "api", labels app=api, Running only',
  );
  assertEquals(describeTarget({ allNamespaces: true }), "all namespaces");
});

Deno.test("container: flag, else default-container annotation, else first; unknown lists real ones", () => {
  const p = pod("x");
  assertEquals(chooseContainer(p), "main");
  p.metadata!.annotations = { "kubectl.kubernetes.io/default-container": "side" };
  assertEquals(chooseContainer(p), "side");
  assertEquals(chooseContainer(p, "main"), "main");
  const e = assertThrows(() => chooseContainer(p, "nope")) as unknown as { code: number; hint: string };
  assertEquals(e.code, 3);
  assertEquals(e.hint, "containers: main, side");
});

Deno.test("status and restarts look like kubectl", () => {
  const p = pod("x");
  assertEquals(podStatus(p), "Running");
  p.status!.containerStatuses![0].state = { waiting: { reason: "CrashLoopBackOff" } };
  assertEquals(podStatus(p), "CrashLoopBackOff");
  p.metadata!.deletionTimestamp = new Date();
  assertEquals(podStatus(p), "Terminating");
  const q = pod("y");
  q.status!.containerStatuses![1].lastState = {
    terminated: { exitCode: 1, finishedAt: new Date(Date.now() - 300_000) },
  };
  assertEquals(podRestarts(q), "2 (5m ago)");
  const init = pod("z", "prod", "Pending");
  init.spec!.initContainers = [{ name: "i1" }, { name: "i2" }];
  init.status!.initContainerStatuses = [
    {
      name: "i1",
      ready: false,
      restartCount: 0,
      image: "",
      imageID: "",
      state: { terminated: { exitCode: 0 } },
    },
    { name: "i2", ready: false, restartCount: 0, image: "", imageID: "", state: { running: {} } },
  ];
  assertEquals(podStatus(init), "Init:1/2");
});

Deno.test("table, wide and -A columns", () => {
  const now = NOW;
  const cols = podColumns({ allNamespaces: true, now });
  assertEquals(cols.table.headers, ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
  assertEquals(cols.wide.headers.slice(-3), ["IP", "NODE", "CONTAINERS"]);
  const out = renderPods([pod("api-1")], "wide", false, now);
  const [head, row] = out.trimEnd().split("\n");
  assertEquals(head.split(/\s{2,}/), [
    "NAME",
    "READY",
    "STATUS",
    "RESTARTS",
    "AGE",
    "IP",
    "NODE",
    "CONTAINERS",
  ]);
  assertEquals(row.split(/\s{2,}/), ["api-1", "2/2", "Running", "2", "60m", "10.0.0.1", "n1", "main,side"]);
  const json = JSON.parse(renderPods([pod("api-1")], "json", false));
  assertEquals(json.kind, "List");
  assertEquals(json.items[0].kind, "Pod");
  assertEquals(renderPods([pod("a"), pod("b")], "name", false), "pod/a\npod/b\n");
});

Deno.test("invalid namespace and pod names are usage errors before any request", async () => {
  const { validateTarget } = await import("../../../src/pods/target.ts");
  const e = assertThrows(() => validateTarget({ namespace: "Bad_NS" })) as unknown as {
    code: number;
    message: string;
  };
  assertEquals(e.code, 2);
  assertEquals(e.message, 'invalid namespace "Bad_NS"');
  assertThrows(() => validateTarget({ pod: "Bad_Name" }), "invalid pod name");
  validateTarget({ namespace: "weka-operator-system", pod: "weka-drive-0" });
});
