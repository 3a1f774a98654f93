/** Proxy choice: proxy-url vs HTTPS_PROXY/NO_PROXY with Go's httpproxy rules, and redaction. */
import { assert, assertEquals, assertRejects, assertThrows } from "@kodama/test-assert";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { ipBytes, proxyAgent, proxyFor, redactProxy, useProxy } from "../../../src/kube/proxy.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { startConnectProxy } from "../../integration/_connect_proxy.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];
const pick = (server: string, vars: Record<string, string>, proxyUrl?: string) =>
  proxyFor(server, proxyUrl, "ctx", env(vars))?.url.href;

Deno.test("proxy-url wins over the environment and applies even to loopback", () => {
  assertEquals(
    pick("https://127.0.0.1:6443", { HTTPS_PROXY: "http://env:1" }, "http://kc:3128"),
    "http://kc:3128/",
  );
  assertEquals(proxyFor("https://10.0.0.1", "https://p:443", "ctx")?.source, "proxy-url");
});

Deno.test("env: HTTPS_PROXY for https servers, HTTP_PROXY for http ones, upper case first", () => {
  const vars = { HTTPS_PROXY: "http://upper:1", https_proxy: "http://lower:2", HTTP_PROXY: "http://plain:3" };
  assertEquals(pick("https://k8s.example.com", vars), "http://upper:1/");
  assertEquals(pick("https://k8s.example.com", { https_proxy: "http://lower:2" }), "http://lower:2/");
  assertEquals(pick("http://k8s.example.com", vars), "http://plain:3/");
  // an https server does not use HTTP_PROXY (Go's httpproxy)
  assertEquals(pick("https://k8s.example.com", { HTTP_PROXY: "http://plain:3" }), undefined);
  // no scheme means http://
  assertEquals(
    pick("https://k8s.example.com", { HTTPS_PROXY: "proxy.corp:8080" }),
    "http://proxy.corp:8080/",
  );
  assertEquals(
    proxyFor("https://k8s.example.com", undefined, "c", env({ https_proxy: "p:1" }))?.source,
    "https_proxy",
  );
});

Deno.test("env: localhost and loopback addresses are never proxied", () => {
  const vars = { HTTPS_PROXY: "http://p:1" };
  for (
    const s of ["https://localhost:6443", "https://127.0.0.1:6443", "https://127.1.2.3", "https://[::1]:443"]
  ) {
    assertEquals(pick(s, vars), undefined, s);
  }
  assertEquals(pick("https://10.1.2.3:6443", vars), "http://p:1/");
});

Deno.test("NO_PROXY: names, suffixes, IPs, CIDRs, ports and *", () => {
  const no =
    "example.com, .corp.net,*.dev.io,10.0.0.0/8,192.168.1.5,fd00::/8,api.other:6443,[2001:db8::1]:443";
  const direct = (host: string, port = "443") => !useProxy(host, port, no);
  assert(direct("example.com"));
  assert(direct("k8s.example.com"));
  assert(!direct("notexample.com"));
  assert(!direct("corp.net")); // a leading dot: subdomains only
  assert(direct("a.corp.net"));
  assert(!direct("dev.io"));
  assert(direct("x.dev.io"));
  assert(direct("10.200.3.4"));
  assert(!direct("11.0.0.1"));
  assert(direct("192.168.1.5"));
  assert(!direct("192.168.1.6"));
  assert(direct("fd12::1"));
  assert(!direct("fe80::1"));
  assert(direct("api.other", "6443"));
  assert(!direct("api.other", "443"));
  assert(direct("2001:db8::1", "443"));
  assert(!direct("2001:db8::1", "6443"));
  assert(!useProxy("anything.at.all", "443", "*"));
  assert(!useProxy("10.0.0.1", "443", " * "));
  assert(useProxy("k8s.example.com", "443", ""));
  assert(useProxy("k8s.example.com", "443", ",, ,"));
  // NO_PROXY applies to env proxies only, not to proxy-url
  assertEquals(
    proxyFor("https://k8s.example.com", undefined, "c", env({ HTTPS_PROXY: "p:1", NO_PROXY: "example.com" })),
    undefined,
  );
  assertEquals(
    proxyFor("https://k8s.example.com", "http://kc:1", "c", env({ NO_PROXY: "example.com" }))?.url.host,
    "kc:1",
  );
  assertEquals(
    pick("https://k8s.example.com:6443", { HTTPS_PROXY: "p:1", no_proxy: "EXAMPLE.com" }),
    undefined,
  );
});

Deno.test("ipBytes parses IPv4, IPv6 and IPv4-mapped IPv6", () => {
  assertEquals(ipBytes("10.1.2.3"), [10, 1, 2, 3]);
  assertEquals(ipBytes("::ffff:10.1.2.3"), [10, 1, 2, 3]);
  assertEquals(ipBytes("::1")?.length, 16);
  assertEquals(ipBytes("2001:db8::1")?.slice(0, 4), [0x20, 0x01, 0x0d, 0xb8]);
  assertEquals(ipBytes("example.com"), undefined);
  assertEquals(ipBytes("1:2:3:4:5:6:1.2.3.4")?.slice(12), [1, 2, 3, 4]);
  // what Go's net.ParseIP refuses (a NO_PROXY entry that is none of these is matched as a domain)
  for (
    const s of [
      "256.1.1.1",
      "1.2.3",
      "1.2.3.04",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "gggg::1",
      "fe80::1%eth0",
      "",
    ]
  ) {
    assertEquals(ipBytes(s), undefined, s);
  }
});

Deno.test("socks5 and other schemes are refused with a usage error; credentials are redacted", () => {
  const e = assertThrows(() => proxyFor("https://x", "socks5://u:secret@p:1080", "prod")) as KodamaError;
  assertEquals(e.code, 2);
  assert(e.message.includes("SOCKS5") && e.message.includes("prod"), e.message);
  assert(!e.message.includes("secret"), e.message);
  const f = assertThrows(() =>
    proxyFor("https://x", undefined, "c", env({ HTTPS_PROXY: "ftp://p:21" }))
  ) as KodamaError;
  assertEquals(f.code, 2);
  assertEquals(redactProxy("http://user:pa%40ss@proxy:3128"), "http://***@proxy:3128");
  assertEquals(redactProxy(new URL("https://proxy")), "https://proxy");
});

function requestVia(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { agent }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

Deno.test("proxyAgent: a proxy that never answers CONNECT times out with exit 5, naming it redacted", async () => {
  const accepted: net.Socket[] = [];
  const silent = net.createServer((s) => void accepted.push(s)); // accept, say nothing
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as net.AddressInfo).port;
  const choice = proxyFor("https://10.9.8.7:6443", `http://u:secret@127.0.0.1:${port}`, "prod")!;
  const agent = await proxyAgent(choice, { context: "prod", cluster: "c1" }, { connectTimeoutMs: 200 });
  try {
    const t0 = performance.now();
    const e = await assertRejects(() => requestVia(agent, "https://10.9.8.7:6443/version"));
    assert(e instanceof KodamaError, String(e));
    assertEquals(e.code, 5);
    assertEquals(
      e.message,
      `cannot reach proxy http://***@127.0.0.1:${port} (proxy-url) for context prod: connection timed out`,
    );
    assert(performance.now() - t0 < 5000);
  } finally {
    agent.destroy();
    for (const s of accepted) s.destroy();
    silent.close();
  }
});

Deno.test("proxyAgent: percent-encoded credentials are decoded into Proxy-Authorization", async () => {
  const p = await startConnectProxy({ auth: `Basic ${btoa("a@b:p:w d")}` });
  const target = net.createServer((s) => s.end("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"));
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  const tport = (target.address() as net.AddressInfo).port;
  const choice = proxyFor(`http://127.0.0.1:${tport}`, `http://a%40b:p%3Aw%20d@127.0.0.1:${p.port}`, "c")!;
  const agent = await proxyAgent(choice, { context: "c", cluster: "c" });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`http://127.0.0.1:${tport}/`, { agent }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assertEquals(status, 204);
    assertEquals(p.tunnels.map((x) => x.target), [`127.0.0.1:${tport}`]);
    assertEquals(p.refused, 0);
  } finally {
    agent.destroy();
    target.close();
    await p.close();
  }
});
