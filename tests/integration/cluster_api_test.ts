/**
 * The Kubernetes API test server, proven with the real kubectl: discovery, tables, CRUD, apply,
 * label/annotate/patch, delete --wait, wait, watch, selectors, paging, validation, conflicts,
 * namespaces, events, endpoints. Runs against KODAMA_TEST_KUBECONFIG too (test-server-only
 * assertions are guarded by `c.real`).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import YAML from "yaml";
import {
  DEMO,
  KODAMA_TEST_IMAGE,
  KUBECTL,
  kubectl,
  loadPodNames,
  onRealCluster,
  type TestCluster,
} from "../cluster/harness.ts";
import { clusterTest } from "../cluster/fixture.ts";

const suffix = () => Math.random().toString(36).slice(2, 7);

async function ok(c: TestCluster, args: string[], o: { context?: string; stdin?: string } = {}) {
  const r = await kubectl(c, args, o);
  assertEquals(r.code, 0, `kubectl ${args.join(" ")} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function fails(c: TestCluster, args: string[], o: { context?: string; stdin?: string } = {}) {
  const r = await kubectl(c, args, o);
  assert(r.code !== 0, `kubectl ${args.join(" ")} should fail, got:\n${r.stdout}`);
  return r.stderr;
}

/**
 * Until `kubectl get REF -o jsonpath=PATH` says something: one `kubectl get -w` whose lines are the object's
 * states as they change, so the test waits on the event, neither sleeping nor polling.
 */
async function until(c: TestCluster, ref: string, ns: string, path: string, what: string) {
  const cache = c.testServer ? ["--cache-dir", `${c.testServer.stateDir}/kubectl-cache`] : [];
  const child = new Deno.Command(KUBECTL, {
    args: [
      "--kubeconfig",
      c.kubeconfig,
      ...cache,
      "get",
      ref,
      "-n",
      ns,
      "-w",
      "-o",
      `jsonpath=${path}{"\\n"}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const err = new Response(child.stderr).text();
  try {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (text.split("\n").some((l) => l.trim())) return;
    }
    throw new Error(`timed out waiting for ${what}: ${await err}`);
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await child.status;
    await err;
  }
}

/** Set (or with `null`, remove) an object's finalizers with kubectl. */
async function finalizers(c: TestCluster, ref: string, ns: string, list: string[] | null) {
  await ok(c, [
    "patch",
    ref,
    "-n",
    ns,
    "--type",
    "merge",
    "-p",
    JSON.stringify({ metadata: { finalizers: list } }),
  ]);
}

const rows = (table: string) => table.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));

clusterTest("cluster: kubectl against the test server", { seed: "demo", pods: 7 }, async (t, c) => {
  for (const ns of [DEMO.wekaNamespace, "prod", "staging", "load"]) {
    await ok(c, ["wait", "--for=condition=Ready", "pod", "--all", "-n", ns, "--timeout=30s"]);
  }

  await t.step("get ns", async () => {
    const out = await ok(c, ["get", "ns"]);
    assertMatch(out, /^NAME\s+STATUS\s+AGE/);
    for (const ns of ["default", "dev", "prod", "staging", DEMO.wekaNamespace, "load"]) {
      assertMatch(out, new RegExp(`^${ns}\\s+Active\\s+\\d+[smhd]`, "m"));
    }
  });

  await t.step("get pods -A -o wide", async () => {
    const out = await ok(c, ["get", "pods", "-A", "-o", "wide"]);
    assertMatch(
      out,
      /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES/,
    );
    const byName = new Map(rows(out).map((r) => [r[1], r]));
    for (const p of [...DEMO.wekaPods, ...DEMO.apiPods]) {
      const r = byName.get(p);
      assert(r, `${p} missing from\n${out}`);
      assertEquals(r[3], "Running");
      if (!c.real) {
        assertEquals(r[2], "1/1");
        assertMatch(r[6], /^127\.\d+\.\d+\.\d+$/);
        assertEquals(r[7], "kodama-test-node");
      }
    }
    if (!c.real) assertEquals(byName.get(DEMO.webPod)?.[2], "2/2");
    assert(byName.has("load-006"), "load pods listed");
  });

  await t.step("get pods -l app=api -n prod", async () => {
    const names = rows(await ok(c, ["get", "pods", "-l", "app=api", "-n", "prod"])).map((r) => r[0]);
    assertEquals(names.length, 2);
    assert(names.every((n) => n.startsWith("api-")), names.join(","));
    const notApi = rows(await ok(c, ["get", "pods", "-n", "prod", "-l", "app notin (api),app"])).map((
      r,
    ) => r[0]);
    assertEquals(notApi, [DEMO.webPod]);
  });

  await t.step("get pod -o yaml", async () => {
    const pod = YAML.parse(await ok(c, ["get", "pod", DEMO.apiPods[0], "-n", "prod", "-o", "yaml"]));
    assertEquals(pod.kind, "Pod");
    assertEquals(pod.metadata.name, DEMO.apiPods[0]);
    assertEquals(pod.metadata.labels.app, "api");
    assertEquals(pod.status.phase, "Running");
    assert(pod.status.podIP, "podIP set");
    assert(
      pod.status.conditions.some((x: { type: string; status: string }) =>
        x.type === "Ready" && x.status === "True"
      ),
    );
    assertEquals(pod.spec.containers[0].ports[0].name, "http");
  });

  await t.step("field selectors and paging", async () => {
    const running = rows(
      await ok(c, [
        "get",
        "pods",
        "-A",
        "--field-selector",
        "status.phase=Running,metadata.namespace=load",
      ]),
    );
    assertEquals(running.length, c.loadPods);
    const one = rows(
      await ok(c, ["get", "pods", "-A", "--field-selector", `metadata.name=${DEMO.wekaPods[1]}`]),
    );
    assertEquals(one.map((r) => r[1]), [DEMO.wekaPods[1]]);
    if (!c.real) {
      const onNode = rows(
        await ok(c, ["get", "pods", "-n", "load", "--field-selector", "spec.nodeName=kodama-test-node"]),
      );
      assertEquals(onNode.length, c.loadPods);
    }
    const paged = rows(await ok(c, ["get", "pods", "-n", "load", "--chunk-size=3"])).map((r) => r[0]);
    assertEquals(paged, loadPodNames(c.loadPods));
    const err = await fails(c, ["get", "pods", "-n", "load", "--field-selector", "spec.bogus=1"]);
    assertStringIncludes(err, "field label not supported: spec.bogus");
  });

  const n = suffix();
  const manifest = (label: string) => `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-${n}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds-${n}}
stringData: {token: s3cret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg-${n}}
data: {mode: ${label}}
---
apiVersion: v1
kind: Pod
metadata: {name: app-${n}, labels: {app: app-${n}, stage: ${label}}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: ${KODAMA_TEST_IMAGE}
    command: [sh, -c, "echo started; exec sleep 3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data-${n}}
`;

  await t.step("apply -f Pod + PVC + Secret + ConfigMap, then re-apply", async () => {
    const out = await ok(c, ["apply", "-n", "dev", "-f", "-"], { stdin: manifest("one") });
    for (
      const k of [
        `persistentvolumeclaim/data-${n}`,
        `secret/creds-${n}`,
        `configmap/cfg-${n}`,
        `pod/app-${n}`,
      ]
    ) {
      assertStringIncludes(out, `${k} created`);
    }
    const again = await ok(c, ["apply", "-n", "dev", "-f", "-"], { stdin: manifest("two") });
    assertStringIncludes(again, `pod/app-${n} configured`);
    assertStringIncludes(again, `configmap/cfg-${n} configured`);
    assertStringIncludes(again, `persistentvolumeclaim/data-${n} unchanged`);
    assertEquals(
      await ok(c, ["get", "pod", `app-${n}`, "-n", "dev", "-o", "jsonpath={.metadata.labels.stage}"]),
      "two",
    );
    assertEquals(
      await ok(c, ["get", "cm", `cfg-${n}`, "-n", "dev", "-o", "jsonpath={.data.mode}"]),
      "two",
    );
    assertEquals(
      await ok(c, ["get", "secret", `creds-${n}`, "-n", "dev", "-o", "jsonpath={.data.token}"]),
      btoa("s3cret"),
    );
    assertEquals(
      await ok(c, ["get", "pvc", `data-${n}`, "-n", "dev", "-o", "jsonpath={.status.phase}"]),
      "Bound",
    );
    await ok(c, ["wait", "--for=condition=Ready", `pod/app-${n}`, "-n", "dev", "--timeout=20s"]);
  });

  await t.step("label, annotate, patch", async () => {
    await ok(c, ["label", "pod", `app-${n}`, "-n", "dev", "team=storage"]);
    await ok(c, ["annotate", "pod", `app-${n}`, "-n", "dev", "note=hello world"]);
    await ok(c, [
      "patch",
      "pod",
      `app-${n}`,
      "-n",
      "dev",
      "--type",
      "merge",
      "-p",
      '{"metadata":{"labels":{"merged":"yes"}}}',
    ]);
    await ok(c, [
      "patch",
      "pod",
      `app-${n}`,
      "-n",
      "dev",
      "--type",
      "json",
      "-p",
      '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]',
    ]);
    await ok(c, [
      "patch",
      "pod",
      `app-${n}`,
      "-n",
      "dev",
      "-p",
      '{"spec":{"containers":[{"name":"main","image":"busybox:1.37"}]}}',
    ]);
    const pod = JSON.parse(await ok(c, ["get", "pod", `app-${n}`, "-n", "dev", "-o", "json"]));
    assertEquals(pod.metadata.labels.team, "storage");
    assertEquals(pod.metadata.labels.merged, "yes");
    assertEquals(pod.metadata.labels.json, "yes");
    assertEquals(pod.metadata.annotations.note, "hello world");
    assertEquals(pod.spec.containers[0].image, "busybox:1.37");
    assertEquals(pod.spec.containers.length, 1);
    const labelled = rows(await ok(c, ["get", "pods", "-n", "dev", "-l", "team=storage,merged"])).map((
      r,
    ) => r[0]);
    assertEquals(labelled, [`app-${n}`]);
    await ok(c, ["label", "pod", `app-${n}`, "-n", "dev", "team-"]);
    assertEquals(
      await ok(c, ["get", "pod", `app-${n}`, "-n", "dev", "-o", "jsonpath={.metadata.labels.team}"]),
      "",
    );
  });

  await t.step("immutable pod spec, AlreadyExists, Conflict, NotFound", async () => {
    let err = await fails(c, [
      "patch",
      "pod",
      `app-${n}`,
      "-n",
      "dev",
      "-p",
      '{"spec":{"restartPolicy":"Never"}}',
    ]);
    assertStringIncludes(
      err,
      `The Pod "app-${n}" is invalid: spec: Forbidden: pod updates may not change fields other than`,
    );
    err = await fails(c, ["create", "-n", "dev", "-f", "-"], {
      stdin: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cfg-${n}` } }),
    });
    assertStringIncludes(err, `Error from server (AlreadyExists)`);
    assertStringIncludes(err, `configmaps "cfg-${n}" already exists`);
    const cm = JSON.parse(await ok(c, ["get", "cm", `cfg-${n}`, "-n", "dev", "-o", "json"]));
    await ok(c, ["label", "cm", `cfg-${n}`, "-n", "dev", "bump=1"]);
    cm.data.mode = "stale";
    err = await fails(c, ["replace", "-n", "dev", "-f", "-"], { stdin: JSON.stringify(cm) });
    assertStringIncludes(
      err,
      `Operation cannot be fulfilled on configmaps "cfg-${n}": the object has been modified; please apply your changes to the latest version and try again`,
    );
    await ok(c, ["create", "-n", "dev", "-f", "-"], {
      stdin: JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: `frozen-${n}` },
        immutable: true,
        stringData: { k: "v" },
      }),
    });
    err = await fails(c, [
      "patch",
      "secret",
      `frozen-${n}`,
      "-n",
      "dev",
      "--type",
      "merge",
      "-p",
      '{"stringData":{"k":"w"}}',
    ]);
    assertStringIncludes(
      err,
      `The Secret "frozen-${n}" is invalid: data: Forbidden: field is immutable when \`immutable\` is set`,
    );
    await ok(c, ["delete", "secret", `frozen-${n}`, "-n", "dev"]);
    err = await fails(c, ["get", "pod", "no-such-pod", "-n", "dev"]);
    assertStringIncludes(err, `Error from server (NotFound): pods "no-such-pod" not found`);
    err = await fails(c, ["get", "pods", "-n", `no-such-ns-${n}`, "no-such-pod"]);
    assertStringIncludes(err, "not found");
    err = await fails(c, ["create", "-n", `no-such-ns-${n}`, "-f", "-"], {
      stdin: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }),
    });
    assertStringIncludes(err, `namespaces "no-such-ns-${n}" not found`);
  });

  await t.step("validation: Secret key a/b and pod Bad_Name are 422 with field errors", async () => {
    let err = await fails(c, ["apply", "-n", "dev", "-f", "-"], {
      stdin: `apiVersion: v1\nkind: Secret\nmetadata: {name: bad-${n}}\ndata: {"a/b": "eA=="}\n`,
    });
    assertStringIncludes(
      err,
      `The Secret "bad-${n}" is invalid: data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
    );
    err = await fails(c, ["apply", "-n", "dev", "-f", "-"], {
      stdin:
        `apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  containers: [{name: main, image: ${KODAMA_TEST_IMAGE}}]\n`,
    });
    assertStringIncludes(
      err,
      `The Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`,
    );
    err = await fails(c, ["create", "-n", "dev", "-f", "-"], {
      stdin: JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `noimg-${n}` },
        spec: { containers: [{ name: "main" }] },
      }),
    });
    assertStringIncludes(
      err,
      `The Pod "noimg-${n}" is invalid: spec.containers[0].image: Required value`,
    );
    err = await fails(c, ["apply", "-n", "dev", "-f", "-"], {
      stdin:
        `apiVersion: v1\nkind: Pod\nmetadata: {name: typo-${n}}\nspec:\n  containers: [{name: main, image: ${KODAMA_TEST_IMAGE}, imagee: x}]\n`,
    });
    // server-side field validation (1.25+, as the test server); an older server leaves it to kubectl's
    // own check against the OpenAPI schema, which words it differently
    assertMatch(
      err,
      /strict decoding error: unknown field "spec\.containers\[0\]\.imagee"|ValidationError\(Pod\.spec\.containers\[0\]\): unknown field "imagee"/,
    );
    err = await fails(c, ["label", "pod", `app-${n}`, "-n", "dev", "bad=has space"]);
    assertStringIncludes(
      err,
      "a valid label must be an empty string or consist of alphanumeric characters",
    );
  });

  await t.step("get pods -w sees a new pod; delete --wait", async () => {
    const w = new Deno.Command(KUBECTL, {
      args: ["--kubeconfig", c.kubeconfig, "get", "pods", "-n", "dev", "-w"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = w.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const waitFor = async (s: string) => {
      const deadline = Date.now() + 15_000;
      while (!seen.includes(s)) {
        const { value, done } = await Promise.race([
          reader.read(),
          new Promise<{ value: undefined; done: true }>((r) =>
            setTimeout(() => r({ value: undefined, done: true }), deadline - Date.now())
          ),
        ]);
        if (done) break;
        seen += value;
      }
      assertStringIncludes(seen, s);
    };
    try {
      await waitFor(`app-${n}`); // the existing pod arrives first
      await ok(c, [
        "run",
        `watched-${n}`,
        "-n",
        "dev",
        `--image=${KODAMA_TEST_IMAGE}`,
        "--restart=Never",
        "--",
        "sleep",
        "3600",
      ]);
      await waitFor(`watched-${n}`);
    } finally {
      w.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await w.status;
      await w.stderr.cancel().catch(() => {});
    }
    const t0 = performance.now();
    const out = await ok(c, ["delete", "pod", `watched-${n}`, "-n", "dev", "--wait", "--grace-period=1"]);
    assertStringIncludes(out, `pod "watched-${n}" deleted`);
    const err = await fails(c, ["get", "pod", `watched-${n}`, "-n", "dev"]);
    assertStringIncludes(err, `pods "watched-${n}" not found`);
    assert(performance.now() - t0 < 10_000, "delete --wait returned in time");
  });

  await t.step("events and endpoints", async () => {
    const ev = await ok(c, [
      "get",
      "events",
      "-n",
      "dev",
      "--field-selector",
      `involvedObject.name=app-${n}`,
    ]);
    assertMatch(ev, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/);
    assertMatch(ev, new RegExp(`Normal\\s+Scheduled\\s+pod/app-${n}`));
    assertMatch(ev, new RegExp(`Normal\\s+Started\\s+pod/app-${n}`));
    const ep = JSON.parse(await ok(c, ["get", "endpoints", "api", "-n", "prod", "-o", "json"]));
    const addrs = ep.subsets.flatMap((s: { addresses?: unknown[] }) => s.addresses ?? []);
    assertEquals(addrs.length, 2);
    assertEquals(ep.subsets[0].ports[0].port, 8080);
    const svc = await ok(c, ["get", "svc", "api", "-n", "prod"]);
    assertMatch(svc, /^api\s+ClusterIP\s+\S+\s+<none>\s+80\/TCP/m);
  });

  await t.step("a finalizer holds a deleted pod or configmap until it is removed", async () => {
    const pod = `held-${n}`, cm = `held-${n}`;
    await ok(c, ["run", pod, "-n", "dev", `--image=${KODAMA_TEST_IMAGE}`, "--", "sleep", "3600"]);
    await ok(c, ["create", "configmap", cm, "-n", "dev", "--from-literal=a=b"]);
    for (const k of [`pod/${pod}`, `cm/${cm}`]) {
      await finalizers(c, k, "dev", ["example.com/hold"]);
      await ok(c, ["delete", k, "-n", "dev", "--wait=false", "--grace-period=1"]);
    }
    // past the pod's grace period (its container was killed, as the kubelet reports it): both are still
    // there, marked for deletion. Under load the delete can come before the container started: the
    // kubelet then reports it terminated (ContainerStatusUnknown, 137) with no finish time.
    const killed = "{.status.containerStatuses[0].state.terminated.exitCode}";
    await until(c, `pod/${pod}`, "dev", killed, "the held pod's container to be stopped");
    for (const k of [`pod/${pod}`, `cm/${cm}`]) {
      const ts = await ok(c, ["get", k, "-n", "dev", "-o", "jsonpath={.metadata.deletionTimestamp}"]);
      assertMatch(ts, /^\d{4}-\d\d-\d\dT/, k);
    }
    for (const k of [`pod/${pod}`, `cm/${cm}`]) {
      await finalizers(c, k, "dev", null);
      await ok(c, ["wait", "--for=delete", k, "-n", "dev", "--timeout=60s"]);
      assertStringIncludes(await fails(c, ["get", k, "-n", "dev"]), "not found");
    }
  });

  await t.step("delete PVC, secret, configmap; namespace deletion cascades", async () => {
    await ok(c, ["delete", "-n", "dev", "-f", "-", "--wait"], { stdin: manifest("two") });
    for (const k of [`pod/app-${n}`, `pvc/data-${n}`, `secret/creds-${n}`, `cm/cfg-${n}`]) {
      assertStringIncludes(await fails(c, ["get", k, "-n", "dev"]), "not found");
    }
    if (c.real) return; // creating namespaces needs more than the dev/admin split a real cluster may grant
    const ns = `tmp-${n}`;
    await ok(c, ["create", "namespace", ns]);
    assertEquals(
      await ok(c, ["get", "sa", "default", "-n", ns, "-o", "name"]),
      "serviceaccount/default\n",
    );
    await ok(c, ["create", "configmap", "x", "-n", ns, "--from-literal=a=b"]);
    // `sleep` as PID 1 ignores the TERM and is killed after the grace period: 1 s, as the other tests' pods
    // (the default 30 s held this step for 36 s of waiting)
    const grace = JSON.stringify({ spec: { terminationGracePeriodSeconds: 1 } });
    await ok(c, [
      "run",
      "p",
      "-n",
      ns,
      `--image=${KODAMA_TEST_IMAGE}`,
      `--overrides=${grace}`,
      "--",
      "sleep",
      "3600",
    ]);
    // a pod a finalizer holds keeps its namespace Terminating until the finalizer goes
    await finalizers(c, "pod/p", ns, ["example.com/hold"]);
    await ok(c, ["delete", "namespace", ns, "--wait=false"]);
    // the namespace controller has been through it: the pod is deleted and its container stopped
    await until(
      c,
      "pod/p",
      ns,
      "{.metadata.deletionTimestamp}",
      "the namespace controller to delete the pod",
    );
    await until(
      c,
      "pod/p",
      ns,
      "{.status.containerStatuses[0].state.terminated.exitCode}",
      "the pod to stop",
    );
    assertEquals(await ok(c, ["get", "ns", ns, "-o", "jsonpath={.status.phase}"]), "Terminating");
    assertEquals(await ok(c, ["get", "pod", "p", "-n", ns, "-o", "name"]), "pod/p\n");
    await finalizers(c, "pod/p", ns, null);
    await ok(c, ["wait", "--for=delete", `namespace/${ns}`, "--timeout=20s"]);
    assertStringIncludes(await fails(c, ["get", "ns", ns]), `namespaces "${ns}" not found`);
    assertStringIncludes(await fails(c, ["get", "cm", "x", "-n", ns]), "not found");
  });
});

clusterTest(
  "cluster: seed sessions makes the demo's namespaces and none of its workloads",
  { seed: "sessions", ignore: onRealCluster },
  async (_t, c) => {
    const ns = await kubectl(c, ["get", "namespaces", "-o", "name"], { context: "admin" });
    for (const n of [DEMO.wekaNamespace, "prod", "staging", "dev"]) {
      assertStringIncludes(ns.stdout, `namespace/${n}\n`);
    }
    const all = await kubectl(c, ["get", "pods,deployments,statefulsets,services", "-A", "-o", "name"], {
      context: "admin",
    });
    assertEquals(all.code, 0, all.stderr);
    // the API server's own Service in default is every cluster's; nothing of the demo's
    assertEquals(all.stdout.trim().split("\n").filter((l) => l && l !== "service/kubernetes"), []);
  },
);
