/** Unit tests of the test server's pure API semantics: selectors, patches, validation messages, printing, protobuf. */
import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { Errors, validatePod, validateSecret } from "./validation.ts";
import type { ApiError } from "./status.ts";
import { humanDuration, toTable } from "./table.ts";
import { decodeObject } from "./proto.ts";
import { forbidden } from "./auth.ts";

Deno.test("label selectors: =, ==, !=, in, notin, exists, !key", () => {
  const l = { app: "api", tier: "web", env: "prod" };
  const m = (s: string) => matchLabels(parseLabelSelector(s), l);
  assert(m("app=api"));
  assert(m("app==api,tier=web"));
  assert(!m("app!=api"));
  assert(m("env in (prod, staging)"));
  assert(!m("env notin (prod)"));
  assert(m("app,!missing"));
  assert(!m("missing"));
  assert(!m("!app"));
  assert(m(""));
  assertThrows(() => parseLabelSelector("app in prod"), "unable to parse requirement");
});

Deno.test("field selectors: supported fields, = and !=, 400 for unknown fields", () => {
  const pod = {
    metadata: { name: "a", namespace: "n" },
    spec: { nodeName: "node" },
    status: { phase: "Running" },
  };
  assert(matchFields(parseFieldSelector("status.phase=Running,spec.nodeName==node", "pods"), pod));
  assert(!matchFields(parseFieldSelector("metadata.name!=a", "pods"), pod));
  const e = assertThrows(() => parseFieldSelector("spec.bogus=1", "pods")) as ApiError;
  assertEquals([e.code, e.message], [400, "field label not supported: spec.bogus"]);
});

Deno.test("patches: merge, strategic merge by container name, JSON patch", () => {
  const pod = {
    metadata: { labels: { a: "1", b: "2" } },
    spec: { containers: [{ name: "x", image: "i1" }, { name: "y", image: "i2" }] },
  };
  assertEquals(mergePatch(pod, { metadata: { labels: { a: null, c: "3" } } }).metadata.labels, {
    b: "2",
    c: "3",
  });
  const smp = strategicMergePatch(pod, {
    $setElementOrder: [],
    spec: { containers: [{ name: "y", image: "i3" }, { name: "z", image: "i4" }] },
  });
  assertEquals(smp.spec.containers.map((c: { image: string }) => c.image), ["i1", "i3", "i4"]);
  const del = strategicMergePatch(pod, { spec: { containers: [{ name: "x", $patch: "delete" }] } });
  assertEquals(del.spec.containers.map((c: { name: string }) => c.name), ["y"]);
  const jp = jsonPatch(pod, [{ op: "replace", path: "/spec/containers/0/image", value: "j" }, {
    op: "add",
    path: "/metadata/labels/k~1v",
    value: "1",
  }]);
  assertEquals([jp.spec.containers[0].image, jp.metadata.labels["k/v"]], ["j", "1"]);
  assertEquals(pod.spec.containers[0].image, "i1", "inputs are not mutated");
});

Deno.test("validation: kube-apiserver messages and causes", () => {
  const e = new Errors();
  validatePod(e, { metadata: { name: "Bad_Name" }, spec: { containers: [{ name: "main" }] } });
  assertEquals(e.causes.map((c) => [c.reason, c.field]), [
    ["FieldValueInvalid", "metadata.name"],
    ["FieldValueRequired", "spec.containers[0].image"],
  ]);
  const err = assertThrows(() => e.throwIfAny("Pod", "Bad_Name")) as ApiError;
  assertEquals(err.code, 422);
  assert(
    err.message.startsWith(
      `Pod "Bad_Name" is invalid: [metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of`,
    ),
    err.message,
  );
  const s = new Errors();
  validateSecret(s, { metadata: { name: "s" }, data: { "a/b": "eA==", ok: "eA==" } });
  assertEquals(s.causes.length, 1);
  assertEquals(s.causes[0].field, "data[a/b]");
});

Deno.test("forbidden messages match kube-apiserver", () => {
  const u = { name: "dev", groups: [] };
  assertEquals(
    forbidden(u, { verb: "list", group: "", resource: "pods", namespace: "prod" }).message,
    `pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "prod"`,
  );
  assertEquals(
    forbidden(u, {
      verb: "create",
      group: "",
      resource: "pods",
      subresource: "exec",
      namespace: "p",
      name: "x",
    }).message,
    `pods "x" is forbidden: User "dev" cannot create resource "pods/exec" in API group "" in the namespace "p"`,
  );
  assertEquals(
    forbidden(u, { verb: "list", group: "", resource: "namespaces" }).message,
    `namespaces is forbidden: User "dev" cannot list resource "namespaces" in API group "" at the cluster scope`,
  );
});

Deno.test("printing: HumanDuration and pod STATUS/READY columns", () => {
  assertEquals(
    [5e3, 119e3, 150e3, 600e3, 3 * 3600e3 + 5 * 60e3, 50 * 3600e3, 400 * 86400e3].map(humanDuration),
    ["5s", "119s", "2m30s", "10m", "3h5m", "2d2h", "400d"],
  );
  const pod = (status: Record<string, unknown>, deleting = false) => ({
    metadata: {
      name: "p",
      creationTimestamp: new Date().toISOString(),
      ...(deleting ? { deletionTimestamp: "x" } : {}),
    },
    spec: { containers: [{ name: "a" }, { name: "b" }] },
    status,
  });
  const cells = (p: Record<string, unknown>) => toTable("pods", [p], { include: "None" }).rows[0].cells;
  const running = {
    phase: "Running",
    containerStatuses: [{ name: "a", ready: true, state: { running: {} }, restartCount: 1 }, {
      name: "b",
      ready: false,
      state: { waiting: { reason: "CrashLoopBackOff" } },
      restartCount: 3,
    }],
  };
  assertEquals(cells(pod(running)).slice(1, 4), ["1/2", "CrashLoopBackOff", "4"]);
  assertEquals(cells(pod(running, true))[2], "Terminating");
});

Deno.test("protobuf bodies from kubectl's typed clients decode to JSON", () => {
  // kubectl create secret generic s1 -n d --from-literal=k=v --type=foo (captured from kubectl 1.32)
  const meta = [0x0a, 2, ...new TextEncoder().encode("s1"), 0x1a, 1, 0x64];
  const entry = [0x0a, 1, 0x6b, 0x12, 1, 0x76];
  const secret = [
    0x0a,
    meta.length,
    ...meta,
    0x12,
    entry.length,
    ...entry,
    0x1a,
    3,
    ...new TextEncoder().encode("foo"),
  ];
  const typeMeta = [
    0x0a,
    2,
    ...new TextEncoder().encode("v1"),
    0x12,
    6,
    ...new TextEncoder().encode("Secret"),
  ];
  const unknown = [0x0a, typeMeta.length, ...typeMeta, 0x12, secret.length, ...secret];
  const body = new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...unknown]);
  assertEquals(decodeObject("secrets", body), {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s1", namespace: "d" },
    data: { k: btoa("v") },
    type: "foo",
  });
});
