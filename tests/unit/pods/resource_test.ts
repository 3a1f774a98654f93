import { assertEquals, assertThrows } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import {
  attachablePod,
  compareAttachable,
  labelSelectorString,
  mapSelector,
  parseTargetArg,
  refString,
} from "../../../src/pods/resource.ts";
import { parseTarget, splitExecArgs } from "../../../src/cli/connect.ts";
import { parseCpSpec } from "../../../src/pods/cp.ts";
import { describeTarget } from "../../../src/pods/target.ts";
import type { KodamaError } from "../../../src/base/errors.ts";

Deno.test("parseTargetArg: kubectl's type spellings, groups, and refusals", () => {
  assertEquals(parseTargetArg("deploy/api"), { kind: "deployment", name: "api" });
  assertEquals(parseTargetArg("deployment.apps/api"), { kind: "deployment", name: "api" });
  assertEquals(parseTargetArg("deployments/api"), { kind: "deployment", name: "api" });
  assertEquals(parseTargetArg("sts/db"), { kind: "statefulset", name: "db" });
  assertEquals(parseTargetArg("ds/agent"), { kind: "daemonset", name: "agent" });
  assertEquals(parseTargetArg("rs/api-6b7f9c8d4"), { kind: "replicaset", name: "api-6b7f9c8d4" });
  assertEquals(parseTargetArg("job.batch/nightly"), { kind: "job", name: "nightly" });
  assertEquals(parseTargetArg("svc/web"), { kind: "service", name: "web" });
  assertEquals(parseTargetArg("po/api-0"), { kind: "pod", name: "api-0" });
  assertEquals(parseTargetArg("session/fix-login"), { kind: "session", name: "fix-login" });
  // not shaped like TYPE/NAME: left to the caller
  for (const s of ["api-0", "./x", "/tmp/y", "8080", ":http", "a/b/c"]) {
    assertEquals(parseTargetArg(s), undefined, s);
  }
  for (const bad of ["foo/bar", "deploy.batch/api", "deploy/API", "deploy/", "svc/-x"]) {
    const e = assertThrows(() => parseTargetArg(bad)) as KodamaError;
    assertEquals(e.code, 2, bad);
  }
  assertEquals(refString({ kind: "statefulset", name: "db" }), "sts/db");
});

Deno.test("a positional target: TYPE/NAME or a pod name; anything else is a usage error", () => {
  assertEquals(parseTarget("api-0"), { kind: "pod", name: "api-0" });
  assertEquals(parseTarget("deploy/api"), { kind: "deployment", name: "api" });
  assertEquals(parseTarget(undefined), undefined);
  assertEquals((assertThrows(() => parseTarget("Bad_Name")) as KodamaError).code, 2);
});

Deno.test("exec's operands split at -- like kubectl: [TARGET] -- COMMAND", () => {
  const raw = (...a: string[]) => ["exec", "-n", "prod", ...a];
  assertEquals(splitExecArgs(["deploy/api", "hostname"], raw("deploy/api", "--", "hostname")), {
    target: "deploy/api",
    command: ["hostname"],
  });
  // a bare name is a target only when -- follows it
  assertEquals(splitExecArgs(["api-0", "ls", "-l"], raw("api-0", "--", "ls", "-l")), {
    target: "api-0",
    command: ["ls", "-l"],
  });
  assertEquals(splitExecArgs(["sh", "-c", "x"], raw("-m", "api", "--", "sh", "-c", "x")), {
    command: ["sh", "-c", "x"],
  });
  assertEquals(splitExecArgs(["bash"], raw("-m", "api", "bash")), { command: ["bash"] });
  // TYPE/NAME is a target without -- too; after -- it is the command
  assertEquals(splitExecArgs(["deploy/api", "hostname"], raw("deploy/api", "hostname")), {
    target: "deploy/api",
    command: ["hostname"],
  });
  assertEquals(splitExecArgs(["pod/x"], raw("-m", "api", "--", "pod/x")), { command: ["pod/x"] });
  const e = assertThrows(() => splitExecArgs(["a", "b", "ls"], raw("a", "b", "--", "ls"))) as KodamaError;
  assertEquals(e.code, 2);
});

Deno.test("selectors: a LabelSelector and a Service's map as selector strings", () => {
  assertEquals(labelSelectorString({ matchLabels: { b: "2", a: "1" } }), "a=1,b=2");
  assertEquals(
    labelSelectorString({
      matchLabels: { app: "api" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["web", "cache"] },
        { key: "env", operator: "NotIn", values: ["dev"] },
        { key: "canary", operator: "DoesNotExist" },
        { key: "team", operator: "Exists" },
      ],
    }),
    "app=api,tier in (cache,web),env notin (dev),!canary,team",
  );
  assertEquals(labelSelectorString({}), "");
  assertEquals(labelSelectorString(undefined), "");
  assertEquals(mapSelector({ app: "web" }), "app=web");
});

Deno.test("cp: TYPE/NAME:path is a workload side; ns/pod:path still a pod", () => {
  assertEquals(parseCpSpec("deploy/api:/etc/x"), {
    kind: "pod",
    resource: { kind: "deployment", name: "api" },
    path: "/etc/x",
  });
  assertEquals(parseCpSpec("pod/api-0:/x"), { kind: "pod", pod: "api-0", path: "/x" });
  assertEquals(parseCpSpec("prod/api-0:/x"), { kind: "pod", namespace: "prod", pod: "api-0", path: "/x" });
});

Deno.test("describeTarget names the object", () => {
  assertEquals(
    describeTarget({ namespace: "prod", resource: { kind: "deployment", name: "api", selector: "app=api" } }),
    "namespace prod, deploy/api",
  );
});

const T0 = Date.parse("2026-01-01T00:00:00Z");

function pod(name: string, o: {
  node?: string;
  phase?: string;
  ready?: boolean;
  readySince?: number;
  restarts?: number;
  created?: number;
} = {}): V1Pod {
  const ready = o.ready ?? true;
  return {
    metadata: { name, creationTimestamp: new Date(T0 + (o.created ?? 0)) },
    spec: { containers: [{ name: "c" }], nodeName: o.node ?? "n1" },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{
        type: "Ready",
        status: ready ? "True" : "False",
        lastTransitionTime: new Date(T0 + (o.readySince ?? 0)),
      }],
      containerStatuses: [{ name: "c", restartCount: o.restarts ?? 0 } as never],
    },
  } as V1Pod;
}

Deno.test("attachablePod: kubectl's choice (reverse ActivePods), ties keep the list order", () => {
  const name = (ps: V1Pod[]) => attachablePod(ps)?.metadata?.name;
  assertEquals(name([pod("a", { ready: false }), pod("b")]), "b", "ready first");
  assertEquals(
    name([pod("a", { phase: "Pending", ready: false }), pod("b", { ready: false })]),
    "b",
    "Running first",
  );
  assertEquals(name([pod("a", { node: "" }), pod("b", { ready: false })]), "b", "scheduled first");
  assertEquals(
    name([pod("a", { readySince: 5000 }), pod("b", { readySince: 1000 })]),
    "b",
    "ready longer first",
  );
  assertEquals(name([pod("a", { restarts: 3 }), pod("b", { restarts: 1 })]), "b", "fewer restarts first");
  assertEquals(name([pod("a", { created: 2000 }), pod("b", { created: 1000 })]), "b", "older first");
  assertEquals(name([pod("a"), pod("b")]), "a", "a tie keeps the order");
  assertEquals(compareAttachable(pod("a"), pod("a")), 0);
  assertEquals(attachablePod([]), undefined);
});
