import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import {
  containerPortByName,
  expandAddresses,
  formatBytes,
  formatStats,
  forwardingLine,
  looksLikePortSpec,
  parsePortSpec,
  parseResourceArg,
  resolveSpec,
  selectorString,
  servicePortToPodPort,
} from "../../../src/pods/portforward.ts";
import { frame, PortForwardDemux, portForwardUrl } from "../../../src/kube/portforward.ts";
import { KodamaError } from "../../../src/base/errors.ts";

Deno.test("parsePortSpec: kubectl forms", () => {
  assertEquals(parsePortSpec("8080"), { local: 8080, remote: 8080, sameAsRemote: true });
  assertEquals(parsePortSpec("9000:8080"), { local: 9000, remote: 8080 });
  assertEquals(parsePortSpec(":8080"), { local: 0, remote: 8080 });
  assertEquals(parsePortSpec("0:8080"), { local: 0, remote: 8080 });
  assertEquals(parsePortSpec(":http"), { local: 0, remote: "http" });
  assertEquals(parsePortSpec("9000:http"), { local: 9000, remote: "http" });
  assertEquals(parsePortSpec("http"), { local: 0, remote: "http", sameAsRemote: true });
});

Deno.test("parsePortSpec: bad specs are usage errors (exit 2)", () => {
  for (const bad of ["", "1:2:3", "70000", "8080:0", "x:8080", "0", "-1", "HTTP", "9000:99999", "a_b"]) {
    const e = assertThrows(() => parsePortSpec(bad));
    assert(e instanceof KodamaError, bad);
    assertEquals((e as KodamaError).code, 2, bad);
  }
});

Deno.test("looksLikePortSpec tells ports from pod names", () => {
  for (const s of ["8080", ":8080", "9000:8080", ":http", "9000:http", "0:80"]) {
    assert(looksLikePortSpec(s), s);
  }
  for (const s of ["api-7d9f", "web", "pod/x", "http"]) assert(!looksLikePortSpec(s), s);
});

Deno.test("parseResourceArg: pod/, svc/ and workload forms, unknown types refused", () => {
  assertEquals(parseResourceArg("pod/api-0"), { kind: "pod", name: "api-0" });
  assertEquals(parseResourceArg("pods/api-0"), { kind: "pod", name: "api-0" });
  assertEquals(parseResourceArg("svc/api"), { kind: "service", name: "api" });
  assertEquals(parseResourceArg("service/api"), { kind: "service", name: "api" });
  assertEquals(parseResourceArg("8080"), undefined);
  assertEquals(parseResourceArg("api-0"), undefined);
  assertEquals(parseResourceArg("deploy/api"), { kind: "deployment", name: "api" });
  const e = assertThrows(() => parseResourceArg("foo/api")) as KodamaError;
  assertEquals(e.code, 2);
});

const pod: V1Pod = {
  metadata: { name: "api-1", namespace: "prod" },
  spec: {
    containers: [
      { name: "app", ports: [{ name: "http", containerPort: 8080 }, { containerPort: 9090 }] },
      { name: "side", ports: [{ name: "metrics", containerPort: 9100 }] },
    ],
  },
};

Deno.test("containerPortByName: numbers pass, names resolve across containers, unknown names list the real ones", () => {
  assertEquals(containerPortByName(pod, 1234), 1234);
  assertEquals(containerPortByName(pod, "http"), 8080);
  assertEquals(containerPortByName(pod, "metrics"), 9100);
  const e = assertThrows(() => containerPortByName(pod, "grpc")) as KodamaError;
  assertEquals(e.code, 3);
  assert(e.hint?.includes("http, metrics"), e.hint);
});

const svc = (ports: V1Service["spec"] extends infer S ? S extends { ports?: infer P } ? P : never : never) =>
  ({ metadata: { name: "api" }, spec: { selector: { app: "api", tier: "web" }, ports } }) as V1Service;

Deno.test("servicePortToPodPort: targetPort number, name, unset; by service port number or name", () => {
  const s = svc([
    { name: "web", port: 80, targetPort: 8080 as unknown as never },
    { name: "named", port: 81, targetPort: "http" as unknown as never },
    { name: "plain", port: 82 },
    { port: 83, targetPort: "9090" as unknown as never },
  ]);
  assertEquals(servicePortToPodPort(s, pod, 80), { servicePort: 80, podPort: 8080 });
  assertEquals(servicePortToPodPort(s, pod, "web"), { servicePort: 80, podPort: 8080 });
  assertEquals(servicePortToPodPort(s, pod, 81), { servicePort: 81, podPort: 8080 });
  assertEquals(servicePortToPodPort(s, pod, "plain"), { servicePort: 82, podPort: 82 });
  assertEquals(servicePortToPodPort(s, pod, 83), { servicePort: 83, podPort: 9090 });
  const e = assertThrows(() => servicePortToPodPort(s, pod, 8080)) as KodamaError;
  assertEquals(e.code, 3);
  assert(e.message.includes("service api has no port 8080"), e.message);
  assert(e.hint?.includes("80 (web)"), e.hint);
});

Deno.test("servicePortToPodPort: headless services forward the service port", () => {
  const s = svc([{ port: 80, targetPort: 8080 as unknown as never }]);
  s.spec!.clusterIP = "None";
  assertEquals(servicePortToPodPort(s, pod, 80).podPort, 80);
});

Deno.test("resolveSpec: local port defaults like kubectl (service port for services)", () => {
  const s = svc([{ name: "web", port: 80, targetPort: "http" as unknown as never }]);
  assertEquals(resolveSpec({ pod }, parsePortSpec("http")), { local: 8080, remote: 8080 });
  assertEquals(resolveSpec({ pod }, parsePortSpec(":http")), { local: 0, remote: 8080 });
  assertEquals(resolveSpec({ pod, service: s }, parsePortSpec("80")), { local: 80, remote: 8080 });
  assertEquals(resolveSpec({ pod, service: s }, parsePortSpec("web")), { local: 80, remote: 8080 });
  assertEquals(resolveSpec({ pod, service: s }, parsePortSpec(":80")), { local: 0, remote: 8080 });
  assertEquals(resolveSpec({ pod, service: s }, parsePortSpec("18080:80")), { local: 18080, remote: 8080 });
});

Deno.test("selectorString and expandAddresses", () => {
  assertEquals(selectorString({ app: "api", tier: "web" }), "app=api,tier=web");
  assertEquals(expandAddresses(undefined), ["127.0.0.1"]);
  assertEquals(expandAddresses("localhost"), ["127.0.0.1", "::1"]);
  assertEquals(expandAddresses("127.0.0.1, 0.0.0.0,127.0.0.1"), ["127.0.0.1", "0.0.0.0"]);
});

Deno.test("output lines: Forwarding line and stats", () => {
  assertEquals(
    forwardingLine({ address: "127.0.0.1", local: 41234, pod: "api-1", remote: 8080 }),
    "Forwarding from 127.0.0.1:41234 -> pod/api-1:8080",
  );
  assertEquals(
    forwardingLine({ address: "::1", local: 80, pod: "api-1", remote: 8080 }),
    "Forwarding from [::1]:80 -> pod/api-1:8080",
  );
  assertEquals(formatBytes(512), "512 B");
  assertEquals(formatBytes(1536), "1.5 KiB");
  assertEquals(formatBytes(50 * 1024 * 1024), "50 MiB");
  assertEquals(
    formatStats({ connections: 1, bytesIn: 2048, bytesOut: 10 }),
    "1 connection, 2.0 KiB in, 10 B out",
  );
  assertEquals(formatStats({ connections: 3, bytesIn: 0, bytesOut: 0 }), "3 connections, 0 B in, 0 B out");
});

Deno.test("portForwardUrl keeps a server path prefix and switches to ws(s)", () => {
  assertEquals(
    portForwardUrl("https://10.0.0.1:6443", "prod", "api-1", 8080),
    "wss://10.0.0.1:6443/api/v1/namespaces/prod/pods/api-1/portforward?ports=8080",
  );
  assertEquals(
    portForwardUrl("http://h/k8s/", "a", "b", 1),
    "ws://h/k8s/api/v1/namespaces/a/pods/b/portforward?ports=1",
  );
});

Deno.test("PortForwardDemux strips the 2-byte port prefix per channel, even split across messages", () => {
  const d = new PortForwardDemux();
  // data channel: port 8080 (0x1f90 LE = 90 1f) split over two messages, then payload
  assertEquals(d.push(Uint8Array.of(0, 0x90)), { channel: 0, payload: new Uint8Array(0) });
  const m = d.push(Uint8Array.of(0, 0x1f, 65, 66));
  assertEquals(m?.channel, 0);
  assertEquals([...m!.payload], [65, 66]);
  assertEquals(d.announced.get(0), 8080);
  // error channel: prefix and message together
  const e = d.push(Uint8Array.of(1, 0x90, 0x1f, ...new TextEncoder().encode("boom")));
  assertEquals(new TextDecoder().decode(e!.payload), "boom");
  // later data is not stripped
  assertEquals([...d.push(Uint8Array.of(0, 1, 2, 3))!.payload], [1, 2, 3]);
  assertEquals(d.push(new Uint8Array(0)), undefined);
  assertEquals([...frame(0, Uint8Array.of(9, 8))], [0, 9, 8]);
});
