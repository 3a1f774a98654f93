/** The test node's image catalogue as data: references, pull policies, default commands, kubelet events. */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  containerArgv,
  defaultPullPolicy,
  goDuration,
  lookupImage,
  needsPull,
  parseImage,
  pullBackOff,
  pullBackoffMs,
  pullImage,
} from "../../cluster/runtime/images.ts";
import { KODAMA_TEST_IMAGE } from "../../cluster/harness.ts";

Deno.test("image references normalise as containerd does", () => {
  assertEquals(parseImage("busybox")?.full, "docker.io/library/busybox:latest");
  assertEquals(parseImage("busybox:1.36")?.full, "docker.io/library/busybox:1.36");
  assertEquals(parseImage("apache/spark:3.5.3")?.full, "docker.io/apache/spark:3.5.3");
  assertEquals(parseImage("localhost:5000/x")?.full, "localhost:5000/x:latest");
  assertEquals(parseImage("registry.example/does-not-exist:1")?.repo, "registry.example/does-not-exist");
  const d = "sha256:" + "a".repeat(64);
  assertEquals(parseImage(`busybox@${d}`), {
    repo: "docker.io/library/busybox",
    tag: undefined,
    digest: d,
    full: `docker.io/library/busybox@${d}`,
  });
  for (const bad of ["", "Busybox", "busybox:", " busybox", "bus box", "busybox@sha256:zz"]) {
    assertEquals(parseImage(bad), undefined, bad);
  }
});

Deno.test("the catalogue: busybox tags, the session and demo images; anything else is unknown", () => {
  for (const i of ["busybox", "busybox:1.36", "docker.io/library/busybox:latest", "kodama-dev:bookworm"]) {
    assert(lookupImage(i), i);
  }
  assert(lookupImage("node:22-bookworm"));
  assert(lookupImage("quay.io/weka.io/weka-in-container:4.4.2"));
  assert(lookupImage(KODAMA_TEST_IMAGE), "the tests' image is in the catalogue");
  for (const i of ["busybox:0.1", "registry.example/does-not-exist:1", "nginx", "node:20"]) {
    assertEquals(lookupImage(i), undefined, i);
  }
  assertEquals(lookupImage("busybox")?.busybox, true);
});

Deno.test("default commands: command replaces ENTRYPOINT+CMD, args alone replace CMD", () => {
  const busybox = lookupImage("busybox:1.36")!;
  assertEquals(containerArgv(busybox, [], []), ["sh"]);
  assertEquals(containerArgv(busybox, ["sleep"], ["1d"]), ["sleep", "1d"]);
  assertEquals(containerArgv(busybox, [], ["echo", "hi"]), ["echo", "hi"]);
  const withEntry = { entrypoint: ["/init"], cmd: ["serve"] };
  assertEquals(containerArgv(withEntry, [], []), ["/init", "serve"]);
  assertEquals(containerArgv(withEntry, [], ["--debug"]), ["/init", "--debug"]);
});

Deno.test("pull policy: the API's default, and when the kubelet goes to the registry", () => {
  assertEquals(defaultPullPolicy("busybox"), "Always");
  assertEquals(defaultPullPolicy("busybox:latest"), "Always");
  assertEquals(defaultPullPolicy("busybox:1.36"), "IfNotPresent");
  assertEquals(defaultPullPolicy(`busybox@sha256:${"b".repeat(64)}`), "IfNotPresent");
  assertEquals(needsPull("busybox:1.36", "IfNotPresent"), false);
  assertEquals(needsPull("busybox:1.36", "Always"), true);
  assertEquals(needsPull("nope:1", "IfNotPresent"), true);
  assertEquals(needsPull("nope:1", "Never"), false);
});

Deno.test("pull outcomes carry the kubelet's events and waiting reasons", () => {
  const present = pullImage("busybox:1.36", "IfNotPresent");
  assert(present.ok);
  assertEquals(present.events, [{
    type: "Normal",
    reason: "Pulled",
    message: 'Container image "busybox:1.36" already present on machine',
  }]);
  const always = pullImage("busybox", "Always", 812.5);
  assert(always.ok);
  assertEquals(always.events.map((e) => e.message), [
    'Pulling image "busybox"',
    'Successfully pulled image "busybox" in 812.5ms',
  ]);
  const missing = pullImage("registry.example/does-not-exist:1", "IfNotPresent");
  assert(!missing.ok);
  assertEquals(missing.reason, "ErrImagePull");
  assertEquals(
    missing.message,
    'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example/does-not-exist:1": ' +
      'failed to resolve reference "registry.example/does-not-exist:1": registry.example/does-not-exist:1: not found',
  );
  assertEquals(missing.events.map((e) => `${e.type} ${e.reason}`), [
    "Normal Pulling",
    "Warning Failed",
    "Warning Failed",
  ]);
  assertEquals(missing.events[2].message, "Error: ErrImagePull");
  const never = pullImage("mine:dev", "Never");
  assert(!never.ok);
  assertEquals(never.reason, "ErrImageNeverPull");
  assertEquals(never.message, 'Container image "mine:dev" is not present with pull policy of Never');
  const bad = pullImage("Bad:Name", undefined);
  assert(!bad.ok);
  assertEquals(bad.reason, "InvalidImageName");
  const bo = pullBackOff("nope:1");
  assertEquals([bo.reason, bo.message], ["ImagePullBackOff", 'Back-off pulling image "nope:1"']);
  assertEquals(bo.events.map((e) => e.message), [
    'Back-off pulling image "nope:1"',
    "Error: ImagePullBackOff",
  ]);
  assertEquals([1, 2, 3, 10].map(pullBackoffMs), [1000, 2000, 4000, 30_000]);
  assertEquals([goDuration(7), goDuration(1234.5)], ["7ms", "1.2345s"]);
});
