/**
 * The port-forward client against a small in-test server that speaks the kubelet's WebSocket
 * port-forward framing (v4.channel.k8s.io: channel byte, 2-byte LE port prefix per channel, errors
 * on channel 1) and forwards to local TCP "pods". Proves framing, per-connection errors, several
 * ports, auto ports, stats, lost-pod handling and reconnect without the test cluster
 * (tests/integration/portforward_test.ts covers the real server and kubectl parity).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import * as http from "node:http";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
// @ts-types="@types/ws"
import { WebSocketServer } from "ws";

import type { V1Pod } from "@kubernetes/client-node";
import { Kube } from "../../../src/kube/client.ts";
import { dialPortForward, PortForwardStreamError } from "../../../src/kube/portforward.ts";
import { portForward, type ResolvedTarget } from "../../../src/pods/portforward.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { within } from "../../../src/base/proc/timer.ts";
import { waitUntil } from "../../cluster/harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Deterministic bytes (a checksum-friendly pattern). */
function blob(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 10)) & 0xff;
  return b;
}

/** A TCP "pod" that answers every chunk with `${name}:${chunk}`. */
async function backend(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on("close", () => socks.delete(s));
    s.on("data", (d) => {
      const text = d.toString();
      if (text === "quit") s.end();
      else if (text.startsWith("blob ")) s.end(blob(Number(text.slice(5))));
      else s.write(`${name}:${text}`);
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  };
}

interface FakeApi {
  url: string;
  kubeconfig: string;
  /** pod name -> local backend port */
  pods: Map<string, number>;
  upgrades: string[];
  /** SPDY upgrades asked for (this server speaks only WebSocket v4 and refuses them as a plain server would) */
  spdy: string[];
  pushWatch(type: string, pod: V1Pod): void;
  /** resolves once a watch is open on the server (what a test waits for before pushing an event) */
  whenWatched(): Promise<void>;
  close(): Promise<void>;
}

async function fakeApi(): Promise<FakeApi> {
  const pods = new Map<string, number>();
  const upgrades: string[] = [];
  const spdy: string[] = [];
  const watchers = new Set<http.ServerResponse>();
  let watched = Promise.withResolvers<void>();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url!, "http://x");
    if (u.searchParams.get("watch") === "true") {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      watchers.add(res);
      watched.resolve();
      req.on("close", () => {
        watchers.delete(res);
        if (watchers.size === 0) watched = Promise.withResolvers<void>();
      });
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", code: 404, message: "not found" }));
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => p.has("v4.channel.k8s.io") ? "v4.channel.k8s.io" : false,
  });
  server.on("upgrade", (req, socket, head) => {
    const u = new URL(req.url!, "http://x");
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(u.pathname);
    const pod = m?.[2] ?? "";
    if (String(req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      spdy.push(pod);
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      return;
    }
    upgrades.push(`${pod}:${u.searchParams.get("ports")}`);
    if (!m || !pods.has(pod)) {
      socket.end(
        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n" +
          JSON.stringify({ kind: "Status", code: 404, message: `pods "${pod}" not found` }),
      );
      return;
    }
    const port = Number(u.searchParams.get("ports"));
    if (pod === "eager") {
      // the 101 response, both port prefixes, data and an error corked into one segment, then close
      const f = (payload: number[]) => [0x82, payload.length, ...payload];
      const enc = (t: string) => [...new TextEncoder().encode(t)];
      socket.cork();
      wss.handleUpgrade(req, socket, head, () => {
        socket.write(Uint8Array.from([
          ...f([0, port & 0xff, port >> 8]),
          ...f([1, port & 0xff, port >> 8]),
          ...f([0, ...enc("HTTP/1.0 200 OK")]),
          ...f([1, ...enc("eager error")]),
          0x88,
          0x02,
          0x03,
          0xe8, // close 1000
        ]));
        socket.uncork();
        socket.end();
      });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const lo = port & 0xff, hi = port >> 8;
      ws.send(Uint8Array.of(0, lo, hi));
      ws.send(Uint8Array.of(1, lo, hi));
      if (port === 1) {
        ws.send(
          Uint8Array.of(1, ...new TextEncoder().encode("dial tcp 127.0.0.1:1: connect: connection refused")),
        );
        ws.close();
        return;
      }
      const tcp = net.connect(pods.get(pod)!, "127.0.0.1");
      tcp.on("data", (d: Buffer) => ws.send(Buffer.concat([Uint8Array.of(0), d])));
      tcp.on("close", () => ws.close());
      tcp.on("error", () => ws.close());
      ws.on("message", (d: Buffer) => {
        if (d[0] === 0) tcp.write(d.subarray(1));
      });
      ws.on("close", () => tcp.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const kubeconfig = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: secret-token}}]
contexts: [{name: fake, context: {cluster: fake, user: u, namespace: prod}}]
current-context: fake
`,
  );
  return {
    url,
    kubeconfig,
    pods,
    upgrades,
    spdy,
    pushWatch(type, pod) {
      for (const w of watchers) w.write(JSON.stringify({ type, object: pod }) + "\n");
    },
    whenWatched: () => watched.promise,
    async close() {
      for (const w of watchers) w.destroy();
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await Deno.remove(kubeconfig).catch(() => {});
    },
  };
}

function readAll(d: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    d.on("data", (c) => s += c.toString());
    d.on("end", () => resolve(s));
    d.on("error", reject);
  });
}

/** Connect to a local port, send `msg`, read until the first reply chunk (or close). */
function request(port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => s.write(msg));
    s.once("data", (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.on("error", reject);
    s.on("close", () => resolve(""));
  });
}

const mkPod = (name: string, ports: { name?: string; containerPort: number }[] = []): V1Pod => ({
  metadata: { name, namespace: "prod", uid: `uid-${name}`, resourceVersion: "1" },
  spec: { containers: [{ name: "app", ports }] },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
});

Deno.test("dialPortForward: bytes round-trip, the remote close ends the stream", opts, async () => {
  const api = await fakeApi();
  const b = await backend("pod-a");
  try {
    api.pods.set("pod-a", b.port);
    const kube = await Kube.connect({ kubeconfig: api.kubeconfig });
    const d = await dialPortForward(kube.kc, "prod", "pod-a", 8080);
    const all = readAll(d);
    // "quit" goes only after the echo came back: sent together, the pod would read "helloquit" and never end
    const echoed = new Promise((r) => d.once("data", r));
    d.write("hello");
    await echoed;
    d.write("quit");
    assertEquals(await all, "pod-a:hello");
    assertEquals(api.upgrades, ["pod-a:8080"]);
    // SPDY first; a server that does not speak it is not asked again
    assertEquals(api.spdy, ["pod-a"]);
    await dialPortForward(kube.kc, "prod", "pod-a", 8080).then((d2) => d2.destroy());
    assertEquals(api.spdy, ["pod-a"]);
  } finally {
    await b.close();
    await api.close();
  }
});

Deno.test(
  "dialPortForward: frames in the same segment as the 101 are not lost; a late error is not unhandled",
  opts,
  async () => {
    const api = await fakeApi();
    try {
      api.pods.set("eager", 1);
      const kube = await Kube.connect({ kubeconfig: api.kubeconfig });
      const d = await dialPortForward(kube.kc, "prod", "eager", 8080);
      let data = "";
      d.on("data", (c) => data += c.toString());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const err = await new Promise((resolve) => {
        d.on("error", resolve);
        d.on("end", () => resolve("ended without the error"));
        timer = setTimeout(() => resolve("neither an error nor the end within 3s"), 3000);
      });
      clearTimeout(timer);
      assertEquals(data, "HTTP/1.0 200 OK"); // the port prefix was stripped, nothing lost
      assert(err instanceof PortForwardStreamError);
      assertEquals(err.message, "eager error");
    } finally {
      await api.close();
    }
  },
);

Deno.test(
  "dialPortForward: error channel -> PortForwardStreamError; 404 upgrade -> exit 3",
  opts,
  async () => {
    const api = await fakeApi();
    const b = await backend("pod-a");
    try {
      api.pods.set("pod-a", b.port);
      const kube = await Kube.connect({ kubeconfig: api.kubeconfig });
      const d = await dialPortForward(kube.kc, "prod", "pod-a", 1);
      const err = await readAll(d).then(() => undefined, (e) => e);
      assert(err instanceof PortForwardStreamError, String(err));
      assertStringIncludes(err.message, "connection refused");
      const e = await assertRejects(() => dialPortForward(kube.kc, "prod", "nope", 8080));
      assert(e instanceof KodamaError);
      assertEquals(e.code, 3);
      assertStringIncludes(e.message, "pod nope not found in namespace prod");
    } finally {
      await b.close();
      await api.close();
    }
  },
);

Deno.test(
  "portForward: two ports, auto local port, named port, stats, per-connection errors",
  opts,
  async () => {
    const api = await fakeApi();
    const b = await backend("pod-a");
    const events: string[] = [];
    try {
      api.pods.set("pod-a", b.port);
      const kube = await Kube.connect({ kubeconfig: api.kubeconfig });
      const pod = mkPod("pod-a", [{ name: "http", containerPort: 8080 }]);
      const fs = await portForward(kube, pod, [{ local: 0, remote: "http" }, { local: 0, remote: 1 }], {
        onEvent: (e) => events.push(e),
      });
      assertEquals(fs.length, 2);
      assert(fs[0].local > 0 && fs[1].local > 0 && fs[0].local !== fs[1].local);
      assertEquals([fs[0].remote, fs[1].remote], [8080, 1]);
      assertEquals(fs[0].pod, "pod-a");
      assertEquals(await request(fs[0].local, "one"), "pod-a:one");
      assertEquals(await request(fs[0].local, "two"), "pod-a:two");
      // the second port is refused in the pod: that connection fails, the listener stays up
      assertEquals(await request(fs[1].local, "x"), "");
      assertEquals(await request(fs[0].local, "three"), "pod-a:three");
      // a connection's bytes are counted as its streams end, just after the client has its answer
      const want = "pod-a:onepod-a:twopod-a:three".length;
      const counted = () => {
        const s = fs[0].stats();
        return s.connections === 3 && s.bytesOut === 11 && s.bytesIn === want &&
          fs[1].stats().connections === 1;
      };
      await waitUntil(counted, 10_000, "the counters").catch(() => {});
      const s = fs[0].stats();
      assertEquals(s.connections, 3);
      assertEquals(s.bytesOut, "onetwothree".length);
      assertEquals(s.bytesIn, "pod-a:onepod-a:twopod-a:three".length);
      assertEquals(fs[1].stats().connections, 1);
      assert(events.some((e) => e === `Handling connection for ${fs[0].local}`), events.join("\n"));
      assert(events.some((e) => e.includes("connection refused")), events.join("\n"));
      for (const f of fs) await f.close();
      const after = await request(fs[0].local, "x").catch((e) => String(e));
      assertStringIncludes(after, "ECONNREFUSED");
    } finally {
      await b.close();
      await api.close();
    }
  },
);

Deno.test("portForward: a deleted pod ends the forward (onLost) without --reconnect", opts, async () => {
  const api = await fakeApi();
  const b = await backend("pod-a");
  try {
    api.pods.set("pod-a", b.port);
    const kube = await Kube.connect({ kubeconfig: api.kubeconfig });
    const lost = Promise.withResolvers<KodamaError>();
    const pod = mkPod("pod-a");
    const fs = await portForward(kube, pod, [{ local: 0, remote: 8080 }], { onLost: (e) => lost.resolve(e) });
    assertEquals(await request(fs[0].local, "hi"), "pod-a:hi");
    await api.whenWatched();
    api.pushWatch("DELETED", pod);
    const e = await lost.promise;
    assertStringIncludes(e.message, "lost connection to pod: pod pod-a was deleted");
    assertEquals(e.code, 1);
    const after = await request(fs[0].local, "x").catch((e) => String(e));
    assertStringIncludes(after, "ECONNREFUSED");
  } finally {
    await b.close();
    await api.close();
  }
});

Deno.test(
  "portForward: with reconnect the listener stays and new connections reach the new pod",
  opts,
  async () => {
    const api = await fakeApi();
    const a = await backend("pod-a");
    const b = await backend("pod-b");
    const events: string[] = [];
    try {
      api.pods.set("pod-a", a.port);
      api.pods.set("pod-b", b.port);
      const kube = await Kube.connect({ kubeconfig: api.kubeconfig });
      const podA = mkPod("pod-a", [{ name: "http", containerPort: 8080 }]);
      const podB = mkPod("pod-b", [{ name: "http", containerPort: 8081 }]);
      let calls = 0;
      const reconnect = (): Promise<ResolvedTarget> => {
        calls++;
        return Promise.resolve({ pod: podB });
      };
      const ac = new AbortController();
      const moved = Promise.withResolvers<void>();
      const fs = await portForward(kube, podA, [{ local: 0, remote: "http" }], {
        reconnect,
        signal: ac.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.includes("forwarding to pod/pod-b")) moved.resolve();
        },
      });
      const port = fs[0].local;
      assertEquals(await request(port, "1"), "pod-a:1");
      await api.whenWatched();
      api.pods.delete("pod-a");
      api.pushWatch("DELETED", podA);
      await within(moved.promise, 30_000); // not moved by then: the assertions below say what happened
      assertEquals(fs[0].pod, "pod-b");
      assertEquals(fs[0].remote, 8081); // the named port is re-resolved on the new pod
      assertEquals(fs[0].local, port);
      assertEquals(await request(port, "2"), "pod-b:2");
      assertEquals(calls, 1);
      assert(events.some((e) => e.includes("forwarding to pod/pod-b (was pod/pod-a)")), events.join("\n"));
      assertEquals(api.upgrades.at(-1), "pod-b:8081");
      ac.abort();
      // the listener closes as the abort is handled: refused from then on
      let after = "";
      await waitUntil(
        async () => (after = await request(port, "x").catch((e) => String(e))).includes("ECONNREFUSED"),
        10_000,
        "the listener to close",
      ).catch(() => {});
      assertStringIncludes(after, "ECONNREFUSED");
    } finally {
      await a.close();
      await b.close();
      await api.close();
    }
  },
);

Deno.test(
  "portForward: 20 MB from the pod arrive byte-identical (backpressure), stats count them",
  opts,
  async () => {
    const api = await fakeApi();
    const b = await backend("pod-a");
    try {
      api.pods.set("pod-a", b.port);
      const kube = await Kube.connect({ kubeconfig: api.kubeconfig });
      const fs = await portForward(kube, mkPod("pod-a"), [{ local: 0, remote: 8080 }]);
      const size = 20 * 1024 * 1024;
      const started = performance.now();
      const got = await new Promise<Uint8Array>((resolve, reject) => {
        const chunks: Uint8Array[] = [];
        const s = net.connect(fs[0].local, "127.0.0.1", () => s.write(`blob ${size}`));
        s.on("data", (c: Uint8Array) => chunks.push(c));
        s.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
        s.on("error", reject);
      });
      const ms = performance.now() - started;
      assertEquals(got.length, size);
      const want = blob(size);
      let same = true;
      for (let i = 0; i < size; i++) {
        if (got[i] !== want[i]) {
          same = false;
          break;
        }
      }
      assert(same, "bytes differ");
      // counted as the stream's last frame is handled, just after the client has it
      await waitUntil(() => fs[0].stats().bytesIn === size, 10_000, "the counter").catch(() => {});
      assertEquals(fs[0].stats().bytesIn, size);
      console.error(
        `20 MiB through the forward in ${Math.round(ms)} ms (${(20 / (ms / 1000)).toFixed(0)} MiB/s)`,
      );
      for (const f of fs) await f.close();
    } finally {
      await b.close();
      await api.close();
    }
  },
);
