/**
 * What sessions rely on, as the real kubectl sees it on the test server: StorageClasses (a default one),
 * claims that name a missing class staying Pending with the persistentvolume-controller's event, pods
 * using them left unscheduled with the scheduler's event, quantities decoded (400) and validated (422)
 * with kube-apiserver's words, fsGroup, and init containers that fail (Init:Error, Init:CrashLoopBackOff).
 * Everything runs as `dev` in namespace `dev` except creating a StorageClass (admin).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, type TestCluster } from "../cluster/harness.ts";
import { SESSION_IMAGE } from "../cli/_session.ts";
import { clusterTest } from "../cluster/fixture.ts";

async function until(what: string, ms: number, fn: () => Promise<boolean>) {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const dev = (c: TestCluster, args: string[], stdin?: string) =>
  kubectl(c, ["-n", "dev", ...args], { context: "dev", stdin });

const unique = () => crypto.randomUUID().slice(0, 6);

clusterTest(
  "cluster: a default StorageClass; a claim naming a missing class stays Pending, its pod unscheduled",
  { seed: "sessions" },
  async (_t, c) => {
    const id = unique();
    const cls = `nope-${id}`;
    try {
      const sc = await kubectl(c, ["get", "storageclass"]);
      assertEquals(sc.code, 0, sc.stderr);
      assertMatch(
        sc.stdout,
        /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE/,
      );
      assertMatch(sc.stdout, /\(default\)/);
      const manifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim-${id}}
spec: {accessModes: [ReadWriteOnce], storageClassName: ${cls}, resources: {requests: {storage: 100Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: user-${id}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: ${SESSION_IMAGE}, command: [sleep, "3600"]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: claim-${id}}}]
`;
      const applied = await dev(c, ["apply", "-f", "-"], manifest);
      assertEquals(applied.code, 0, applied.stderr);
      await until("the provisioner's event", 20_000, async () => {
        const ev = await dev(c, [
          "get",
          "events",
          "--field-selector",
          `involvedObject.name=claim-${id}`,
          "-o",
          "json",
        ]);
        return JSON.parse(ev.stdout).items.some((
          e: { reason: string; message: string; source: { component: string } },
        ) =>
          e.reason === "ProvisioningFailed" &&
          e.message === `storageclass.storage.k8s.io "${cls}" not found` &&
          e.source.component === "persistentvolume-controller"
        );
      });
      const pvc = await dev(c, ["get", "pvc", `claim-${id}`, "-o", "jsonpath={.status.phase}"]);
      assertEquals(pvc.stdout, "Pending");
      await until("the scheduler's verdict", 20_000, async () => {
        const pod = JSON.parse((await dev(c, ["get", "pod", `user-${id}`, "-o", "json"])).stdout);
        const cond = pod.status.conditions?.find((x: { type: string }) => x.type === "PodScheduled");
        return pod.status.phase === "Pending" && cond?.status === "False" &&
          cond.reason === "Unschedulable" &&
          /unbound immediate PersistentVolumeClaims/.test(cond.message);
      });
      const events = await dev(c, ["get", "events", "--field-selector", `involvedObject.name=user-${id}`]);
      assertMatch(
        events.stdout,
        /FailedScheduling\s+pod\/user-\S+\s+0\/1 nodes are available: .*unbound immediate PersistentVolumeClaims/,
      );
      const described = await dev(c, ["describe", "pvc", `claim-${id}`]);
      assertMatch(
        described.stdout,
        /ProvisioningFailed\s+\S+\s+persistentvolume-controller\s+storageclass\.storage\.k8s\.io/,
      );
      if (c.real) return; // a class with a made-up provisioner provisions nothing on a real cluster
      // the class appears: the claim binds and the pod is scheduled and runs
      const made = await kubectl(c, ["apply", "-f", "-"], {
        stdin:
          `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: ${cls}}\nprovisioner: kodama.dev/test-hostpath\n`,
      });
      assertEquals(made.code, 0, made.stderr);
      const waited = await dev(c, ["wait", "--for=condition=Ready", `pod/user-${id}`, "--timeout=30s"]);
      assertEquals(waited.code, 0, waited.stderr);
      assertEquals(
        (await dev(c, ["get", "pvc", `claim-${id}`, "-o", "jsonpath={.status.phase}"])).stdout,
        "Bound",
      );
    } finally {
      await dev(c, ["delete", `pod/user-${id}`, `pvc/claim-${id}`, "--wait=false"]);
      if (!c.real) await kubectl(c, ["delete", "storageclass", cls, "--ignore-not-found"]);
    }
  },
);

clusterTest(
  "cluster: a claim without a class gets the default one and binds",
  { seed: "sessions" },
  async (_t, c) => {
    const id = unique();
    try {
      const r = await dev(
        c,
        ["apply", "-f", "-"],
        `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: plain-${id}}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Mi}}}
`,
      );
      assertEquals(r.code, 0, r.stderr);
      const def = (await kubectl(c, ["get", "storageclass", "-o", "json"])).stdout;
      const name = JSON.parse(def).items.find((s: { metadata: { annotations?: Record<string, string> } }) =>
        s.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true"
      )?.metadata.name;
      assert(name, def);
      assertEquals(
        (await dev(c, ["get", "pvc", `plain-${id}`, "-o", "jsonpath={.spec.storageClassName}"])).stdout,
        name,
      );
      await until(
        "the claim to bind",
        30_000,
        async () =>
          (await dev(c, ["get", "pvc", `plain-${id}`, "-o", "jsonpath={.status.phase}"])).stdout === "Bound",
      );
    } finally {
      await dev(c, ["delete", `pvc/plain-${id}`, "--wait=false"]);
    }
  },
);

clusterTest(
  "cluster: quantities are decoded (400) and validated (422) with kube-apiserver's messages; fsGroup",
  { seed: "sessions" },
  async (_t, c) => {
    const pod = (name: string, resources: string, securityContext = "") =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n${securityContext}  containers: [{name: m, image: ${SESSION_IMAGE}, resources: ${resources}}]\n`;
    const dry = (manifest: string) => dev(c, ["apply", "--dry-run=server", "-f", "-"], manifest);
    const lots = await dry(pod("q1", "{limits: {cpu: lots}}"));
    assertEquals(lots.code, 1);
    assertStringIncludes(lots.stderr, "Error from server (BadRequest)");
    assertStringIncludes(
      lots.stderr,
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
    const dots = await dry(pod("q1b", '{limits: {cpu: "1.2.3"}}'));
    assertStringIncludes(dots.stderr, "quantities must match the regular expression");
    const suffix = await dry(pod("q1c", "{limits: {cpu: 1ki}}"));
    assertStringIncludes(
      suffix.stderr,
      'Pod in version "v1" cannot be handled as a Pod: unable to parse quantity\'s suffix',
    );
    // a limit without a request: the request defaults to the limit
    const limitOnly = await dev(
      c,
      ["apply", "--dry-run=server", "-o", "json", "-f", "-"],
      pod("q1d", "{limits: {cpu: 100m}}"),
    );
    assertEquals(limitOnly.code, 0, limitOnly.stderr);
    assertEquals(JSON.parse(limitOnly.stdout).spec.containers[0].resources.requests, { cpu: "100m" });
    const over = await dry(pod("q2", '{limits: {cpu: "1"}, requests: {cpu: "2"}}'));
    assertEquals(over.code, 1);
    assertMatch(
      over.stderr,
      /spec\.containers\[0\]\.resources\.requests: Invalid value: "2": must be less than or equal to cpu limit/,
    );
    const neg = await dry(pod("q3", '{requests: {memory: "-1"}}'));
    assertMatch(
      neg.stderr,
      /spec\.containers\[0\]\.resources\.requests\[memory\]: Invalid value: "-1": must be greater than or equal to 0/,
    );
    const ok = await dry(
      pod(
        "q4",
        "{limits: {cpu: 500m, memory: 1Gi}, requests: {cpu: 125m, memory: 256Mi}}",
        "  securityContext: {fsGroup: 1000, fsGroupChangePolicy: OnRootMismatch}\n",
      ),
    );
    assertEquals(ok.code, 0, ok.stderr);
    const bad = await dry(
      pod("q5", "{}", "  securityContext: {fsGroup: 1000, fsGroupChangePolicy: Sometimes}\n"),
    );
    assertEquals(bad.code, 1);
    assertStringIncludes(
      bad.stderr,
      'spec.securityContext.fsGroupChangePolicy: Unsupported value: "Sometimes"',
    );
    const zero = await dry(
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: z}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: "0"}}}\n`,
    );
    assertEquals(zero.code, 1);
    assertStringIncludes(
      zero.stderr,
      'spec.resources[storage]: Invalid value: "0": must be greater than zero',
    );
  },
);

clusterTest(
  "cluster: init containers that fail show Init:Error (restartPolicy Never) and Init:CrashLoopBackOff",
  { seed: "sessions" },
  async (_t, c) => {
    const id = unique();
    const pod = (name: string, policy: string) =>
      `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: ${policy}
  terminationGracePeriodSeconds: 1
  initContainers: [{name: clone, image: ${SESSION_IMAGE}, command: [sh, -c, "echo 'fatal: repository not found' >&2; exit 128"]}]
  containers: [{name: main, image: ${SESSION_IMAGE}, command: [sleep, "3600"]}]
`;
    try {
      const r = await dev(
        c,
        ["apply", "-f", "-"],
        pod(`never-${id}`, "Never") + "---\n" + pod(`always-${id}`, "Always"),
      );
      assertEquals(r.code, 0, r.stderr);
      const status = async (name: string) =>
        (await dev(c, ["get", "pod", name, "--no-headers"])).stdout.trim().split(/\s+/)[2];
      await until("Init:Error", 60_000, async () => (await status(`never-${id}`)) === "Init:Error");
      await until(
        "Init:CrashLoopBackOff",
        60_000,
        async () => (await status(`always-${id}`)) === "Init:CrashLoopBackOff",
      );
      const failed = JSON.parse((await dev(c, ["get", "pod", `never-${id}`, "-o", "json"])).stdout);
      assertEquals(failed.status.phase, "Failed");
      assertEquals(failed.status.initContainerStatuses[0].state.terminated.exitCode, 128);
      const logs = await dev(c, ["logs", `never-${id}`, "-c", "clone"]);
      assertStringIncludes(logs.stdout, "fatal: repository not found");
      const ev = await dev(c, ["get", "events", "--field-selector", `involvedObject.name=always-${id}`]);
      assertMatch(ev.stdout, /BackOff\s+pod\/always-\S+\s+Back-off restarting failed container/);
    } finally {
      await dev(c, ["delete", "pod", `never-${id}`, `always-${id}`, "--wait=false"]);
    }
  },
);
