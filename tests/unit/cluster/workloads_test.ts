import { assertEquals } from "@kodama/test-assert";
import {
  formatLabelSelector,
  labelSelectorMatches,
  validateWorkload,
  WORKLOAD_COLUMNS,
  workloadDefaults,
  workloadStatus,
} from "../../cluster/workloads.ts";
import { Errors } from "../../cluster/validation.ts";
import type { Obj } from "../../cluster/store.ts";

Deno.test("LabelSelector matching: matchLabels and every expression operator; empty selects nothing", () => {
  const sel = {
    matchLabels: { app: "api" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["web", "cache"] },
      { key: "env", operator: "NotIn", values: ["dev"] },
      { key: "canary", operator: "DoesNotExist" },
      { key: "team", operator: "Exists" },
    ],
  };
  assertEquals(labelSelectorMatches(sel, { app: "api", tier: "web", env: "prod", team: "x" }), true);
  assertEquals(labelSelectorMatches(sel, { app: "api", tier: "db", team: "x" }), false);
  assertEquals(labelSelectorMatches(sel, { app: "api", tier: "web", env: "dev", team: "x" }), false);
  assertEquals(labelSelectorMatches(sel, { app: "api", tier: "web", team: "x", canary: "1" }), false);
  assertEquals(labelSelectorMatches(sel, { app: "api", tier: "web" }), false);
  assertEquals(labelSelectorMatches({}, { app: "api" }), false);
  assertEquals(formatLabelSelector(sel), "app=api,tier in (cache,web),env notin (dev),!canary,team");
  assertEquals(formatLabelSelector({}), "<none>");
});

const pod = (name: string, labels: Record<string, string>, phase = "Running", ready = true): Obj => ({
  metadata: { name, labels },
  status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

Deno.test("a Deployment's status counts the pods its selector matches (kubectl's READY 1/2)", () => {
  const d: Obj = {
    metadata: { name: "api", generation: 1, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { replicas: 2, selector: { matchLabels: { app: "api" } }, template: { spec: { containers: [] } } },
  };
  const st = workloadStatus("deployments", d, [
    pod("api-1", { app: "api" }),
    pod("api-2", { app: "api" }, "Running", false),
    pod("web-1", { app: "web" }),
  ]);
  assertEquals([st.replicas, st.readyReplicas, st.availableReplicas, st.unavailableReplicas], [2, 1, 1, 1]);
  assertEquals(st.conditions[0].type, "Available");
  assertEquals(st.conditions[0].status, "False");
  const row = WORKLOAD_COLUMNS.deployments.row({ ...d, status: st }, "5s", String);
  assertEquals(row.slice(0, 5), ["api", "1/2", 2, 1, "5s"]);
});

Deno.test("a Job's selector is generated from its uid; Complete once its pod succeeded", () => {
  const j: Obj = {
    metadata: { name: "etl", uid: "u-1", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { template: { spec: { containers: [{ name: "c", image: "busybox:1.36" }] } } },
  };
  workloadDefaults("jobs", j);
  assertEquals(j.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } });
  assertEquals(j.spec.template.metadata.labels["job-name"], "etl");
  const st = workloadStatus("jobs", j, [pod("etl-x", j.spec.template.metadata.labels, "Succeeded", false)]);
  assertEquals(st.succeeded, 1);
  assertEquals(st.conditions.map((c: Obj) => c.type), ["SuccessCriteriaMet", "Complete"]);
  const row = WORKLOAD_COLUMNS.jobs.row({ ...j, status: st }, "1m", () => "3s");
  assertEquals(row.slice(0, 4), ["etl", "Complete", "1/1", "3s"]);
});

Deno.test("validation: a missing selector, and a selector that misses the template labels", () => {
  const e = new Errors();
  validateWorkload(e, "deployments", { spec: { template: { spec: { containers: [{ name: "c" }] } } } });
  assertEquals(e.causes.map((c) => c.field), ["spec.selector"]);
  const e2 = new Errors();
  validateWorkload(e2, "statefulsets", {
    spec: {
      selector: { matchLabels: { app: "db" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c" }] } },
    },
  });
  assertEquals(
    e2.causes.map((c) => [c.field, c.message.endsWith("`selector` does not match template `labels`")]),
    [
      ["spec.template.metadata.labels", true],
    ],
  );
});
