/**
 * `start` at the floor: with claims that bind on their own (an `Immediate` class) the pod is created only
 * once both are Bound, so the scheduler never parks it ("unbound immediate PersistentVolumeClaims"); with a
 * `WaitForFirstConsumer` class the pod and the claims go together (the pod is what binds them). The
 * progress lines say which phase took the time. The classes are made by the admin; kodama runs as `dev`,
 * who may not read StorageClasses (as on most clusters): the claims' events tell the modes apart.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, onRealCluster } from "../cluster/harness.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const classes = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: slow-immediate }
provisioner: kodama.dev/test-hostpath
parameters: { provisionDelay: "2s" }
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: slow-consumer }
provisioner: kodama.dev/test-hostpath
volumeBindingMode: WaitForFirstConsumer
parameters: { provisionDelay: "1s" }
`;

async function podEvents(w: { kc: (a: string[]) => Promise<{ stdout: string }> }, pod: string) {
  const r = await w.kc([
    "get",
    "events",
    "--field-selector",
    `involvedObject.kind=Pod,involvedObject.name=${pod}`,
    "-o",
    'jsonpath={range .items[*]}{.reason}{"\\n"}{end}',
  ]);
  return r.stdout.trim().split("\n").filter(Boolean);
}

withSessionWorld("start: a slow Immediate class is waited for before the pod; the scheduler never parks it", {
  ignore: onRealCluster,
}, async (_t, w) => {
  try {
    const mk = await kubectl(w.c, ["apply", "-f", "-"], { stdin: classes });
    assertEquals(mk.code, 0, mk.stderr);
    const r = await w.k([
      "start",
      "fl1",
      "--image",
      SESSION_IMAGE,
      "--storage-class",
      "slow-immediate",
      "--no-sync",
    ]);
    assertEquals(r.code, 0, r.stderr);
    // the phases in order, the volume wait named (the provisioner's 2 s are spent there)
    assertMatch(
      r.stderr,
      /objects created \([\d.]+m?s\)\nwaiting for volumes kodama-claude-home-fl1, kodama-workspace-fl1 are Pending\n(waiting for volume kodama-\S+ is Pending\n)?volumes bound \(([\d.]+)s\)/,
    );
    const bound = Number(/volumes bound \(([\d.]+)s\)/.exec(r.stderr)![1]);
    assert(bound >= 1.5, `the volumes took the provisioner's delay: ${r.stderr}`);
    assert(r.stderr.indexOf("volumes bound") < r.stderr.indexOf("scheduled"), r.stderr);
    const ev = await podEvents(w, await podOf(w, "fl1"));
    assert(ev.includes("Scheduled"), ev.join(","));
    assert(!ev.includes("FailedScheduling"), `the pod was parked: ${ev.join(",")}`);
  } finally {
    await purge(w, "fl1");
  }
});

withSessionWorld("start: a WaitForFirstConsumer class goes with the pod, which binds its claims", {
  ignore: onRealCluster,
}, async (_t, w) => {
  try {
    const mk = await kubectl(w.c, ["apply", "-f", "-"], { stdin: classes });
    assertEquals(mk.code, 0, mk.stderr);
    const r = await w.k([
      "start",
      "fl2",
      "--image",
      SESSION_IMAGE,
      "--storage-class",
      "slow-consumer",
      "--no-sync",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "session/fl2 ready");
    const pvc = await w.kc([
      "get",
      "pvc",
      "kodama-workspace-fl2",
      "-o",
      "jsonpath={.status.phase} {.metadata.annotations.volume\\.kubernetes\\.io/selected-node}",
    ]);
    assertMatch(pvc.stdout, /^Bound \S+/);
    const ev = await podEvents(w, await podOf(w, "fl2"));
    assert(!ev.includes("FailedScheduling"), ev.join(","));
  } finally {
    await purge(w, "fl2");
  }
});
