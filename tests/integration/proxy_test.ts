/**
 * Proxies, as kubectl honours them: a kubeconfig cluster's `proxy-url`, else HTTPS_PROXY with NO_PROXY
 * (Go's rules: loopback and localhost never go through an env proxy). A tiny CONNECT proxy (./_connect_proxy.ts)
 * counts tunnels and records their targets and Proxy-Authorization; list, exec, logs and port-forward all
 * go through it; a dead proxy and a SOCKS5 proxy give one-line errors; credentials never reach the output;
 * the real kubectl works through the same proxy (it behaves like a real one).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import http from "node:http";
import net from "node:net";
import YAML from "yaml";
import { kubectl, onRealCluster, type TestCluster } from "../cluster/harness.ts";
import { hasStackTrace, runKodama, spawnKodama } from "../cli/_run.ts";
import { type ConnectProxy, startConnectProxy } from "./_connect_proxy.ts";
import { clusterTest } from "../cluster/fixture.ts";

const USER = "alice";
const PASSWORD = "s3cret-Pw0rd";
const AUTH = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;
/** a name nobody resolves: only a proxy that maps it can reach the server */
const FAKE_HOST = "kodama-test.invalid";

// deno-lint-ignore no-explicit-any
type Raw = any;

/** A copy of the test kubeconfig with the cluster entry changed by `edit`. */
async function variant(c: TestCluster, dir: string, name: string, edit: (cluster: Raw) => void) {
  const doc: Raw = YAML.parse(await Deno.readTextFile(c.kubeconfig));
  for (const cl of doc.clusters) edit(cl.cluster);
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, YAML.stringify(doc));
  return path;
}

async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => body += d);
      res.on("end", () => resolve(body));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** kodama port-forward to pod:8080 through whatever the env/kubeconfig says; one GET through it. */
async function portForwardGet(kubeconfig: string, pod: string, env: Record<string, string> = {}) {
  const child = spawnKodama(
    ["--kubeconfig", kubeconfig, "port-forward", "-n", "prod", `pod/${pod}`, ":8080"],
    {
      env,
    },
  );
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let out = "";
    let m: RegExpMatchArray | null = null;
    while (!(m = out.match(/Forwarding from 127\.0\.0\.1:(\d+) -> /))) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`port-forward exited: ${out} ${await stderr}`);
      out += value;
    }
    return (await get(Number(m[1]))).trim();
  } finally {
    child.kill("SIGINT");
    await child.status;
    await reader.cancel().catch(() => {});
    await stderr;
  }
}

clusterTest("proxy-url, HTTPS_PROXY and NO_PROXY: every kind of traffic goes through the proxy", {
  seed: "demo",
  ignore: onRealCluster,
}, async (t, c) => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-proxy-" });
  const proxies: ConnectProxy[] = [];
  const proxy = async (o: Parameters<typeof startConnectProxy>[0] = {}) => {
    const p = await startConnectProxy(o);
    proxies.push(p);
    return p;
  };
  try {
    const serverPort = new URL(c.server).port;
    const pods = await runKodama(["--kubeconfig", c.kubeconfig, "pods", "-n", "prod", "-o", "name"]);
    assertEquals(pods.code, 0, pods.stderr);
    const api = pods.stdout.split("\n").map((l) => l.replace(/^pods?\//, "").trim()).find((n) =>
      n.startsWith("api-")
    );
    assert(api, pods.stdout);

    await t.step(
      "proxy-url with credentials: pods, exec, logs, port-forward tunnel through it",
      async () => {
        const p = await proxy({ auth: AUTH });
        const url = `http://${USER}:${PASSWORD}@127.0.0.1:${p.port}`;
        const kc = await variant(c, dir, "proxied", (cl) => (cl["proxy-url"] = url));
        // DEBUG=* also turns on the proxy library's own debug output: no credentials there either
        const r = await runKodama(["--kubeconfig", kc, "--log-level", "debug", "pods", "-n", "prod"], {
          env: { DEBUG: "*" },
        });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, api);
        assert(p.tunnels.length >= 1, "the proxy saw no tunnel");
        for (const tun of p.tunnels) {
          assertEquals(tun.target, `127.0.0.1:${serverPort}`);
          assertEquals(tun.proxyAuthorization, AUTH);
        }
        // the debug log names the proxy, redacted
        assertStringIncludes(r.stderr, `http://***@127.0.0.1:${p.port}`);
        for (const s of [PASSWORD, btoa(`${USER}:${PASSWORD}`)]) {
          assert(!r.stdout.includes(s) && !r.stderr.includes(s), "credentials leaked into the output");
        }
        let before = p.tunnels.length;
        const ex = await runKodama([
          "--kubeconfig",
          kc,
          "--log-level",
          "debug",
          "exec",
          "-n",
          "prod",
          "--pod",
          api,
          "--",
          "hostname",
        ]);
        assertEquals(ex.code, 0, ex.stderr);
        assertEquals(ex.stdout.trim(), api);
        assert(p.tunnels.length >= before + 2, "exec did not go through the proxy");
        assert(!ex.stderr.includes(PASSWORD) && !ex.stdout.includes(PASSWORD));

        before = p.tunnels.length;
        const lg = await runKodama(["--kubeconfig", kc, "logs", "-n", "prod", "--pod", api, "--tail", "5"]);
        assertEquals(lg.code, 0, lg.stderr);
        assert(p.tunnels.length >= before + 2, "logs did not go through the proxy");

        before = p.tunnels.length;
        assertEquals(await portForwardGet(kc, api), api);
        assert(p.tunnels.length >= before + 2, "port-forward did not go through the proxy");
        assertEquals(p.refused, 0);
      },
    );

    await t.step("an https:// proxy-url (TLS to the proxy, then TLS to the server inside)", async () => {
      const pki = `${c.testServer!.stateDir}/pki`;
      const p = await proxy({
        auth: AUTH,
        tls: {
          cert: await Deno.readTextFile(`${pki}/server.crt`),
          key: await Deno.readTextFile(`${pki}/server.key`),
        },
      });
      const kc = await variant(c, dir, "https-proxy", (cl) => {
        cl["proxy-url"] = `https://${USER}:${PASSWORD}@localhost:${p.port}`;
      });
      // the proxy's certificate comes from the test CA: trust it the way a user would (DENO_CERT)
      const env = { DENO_CERT: `${pki}/ca.crt` };
      const r = await runKodama(["--kubeconfig", kc, "pods", "-n", "prod"], { env });
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, api);
      const before = p.tunnels.length;
      assert(before >= 1);
      const ex = await runKodama(
        ["--kubeconfig", kc, "exec", "-n", "prod", "--pod", api, "--", "hostname"],
        {
          env,
        },
      );
      assertEquals(ex.code, 0, ex.stderr);
      assertEquals(ex.stdout.trim(), api);
      assert(p.tunnels.length >= before + 2);
      assert(p.tunnels.every((x) => x.proxyAuthorization === AUTH));
    });

    await t.step("the real kubectl works through the test proxy (proxy-url)", async () => {
      const p = await proxy({ auth: AUTH });
      const kc = await variant(c, dir, "proxied-kubectl", (cl) => {
        cl["proxy-url"] = `http://${USER}:${PASSWORD}@127.0.0.1:${p.port}`;
      });
      const r = await kubectl({ ...c, kubeconfig: kc }, ["get", "pods", "-n", "prod", "-o", "name"]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, api);
      assert(p.tunnels.length >= 1);
      assertEquals(p.tunnels[0].target, `127.0.0.1:${serverPort}`);
      assertEquals(p.tunnels[0].proxyAuthorization, AUTH);
    });

    // HTTPS_PROXY: the server must not be loopback or localhost (Go never proxies those from the env),
    // so it is a name only the proxy can resolve; TLS still verifies the server's `localhost` SAN.
    const fakeHost = await variant(c, dir, "fakehost", (cl) => {
      cl.server = `https://${FAKE_HOST}:${serverPort}`;
      cl["tls-server-name"] = "localhost";
    });

    await t.step("HTTPS_PROXY: pods, exec and port-forward tunnel through it", async () => {
      const p = await proxy({ mapHost: (h) => (h === FAKE_HOST ? "127.0.0.1" : h) });
      const env = { HTTPS_PROXY: `127.0.0.1:${p.port}` }; // no scheme: http:// as in Go
      const r = await runKodama(["--kubeconfig", fakeHost, "pods", "-n", "prod"], { env });
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, api);
      assert(p.tunnels.length >= 1);
      assertEquals(p.tunnels[0].target, `${FAKE_HOST}:${serverPort}`);
      assertEquals(p.tunnels[0].proxyAuthorization, undefined);

      let before = p.tunnels.length;
      const ex = await runKodama([
        "--kubeconfig",
        fakeHost,
        "exec",
        "-n",
        "prod",
        "--pod",
        api,
        "--",
        "hostname",
      ], {
        env,
      });
      assertEquals(ex.code, 0, ex.stderr);
      assertEquals(ex.stdout.trim(), api);
      assert(p.tunnels.length >= before + 2);

      before = p.tunnels.length;
      assertEquals(await portForwardGet(fakeHost, api, { https_proxy: `http://127.0.0.1:${p.port}` }), api);
      assert(p.tunnels.length >= before + 2);
      assertEquals(
        p.tunnels.filter((x) => x.target !== `${FAKE_HOST}:${serverPort}`).map((x) => x.target),
        [],
        "every tunnel goes to the API server",
      );
    });

    await t.step("NO_PROXY bypasses the env proxy; loopback servers are never env-proxied", async () => {
      const p = await proxy();
      // NO_PROXY=127.0.0.1 with a loopback server
      const r = await runKodama(["--kubeconfig", c.kubeconfig, "pods", "-n", "prod"], {
        env: { HTTPS_PROXY: p.url, NO_PROXY: "127.0.0.1" },
      });
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, api);
      // a domain suffix: the made-up host is dialled directly (and cannot resolve), the proxy sees nothing
      const d = await runKodama(["--kubeconfig", fakeHost, "pods", "-n", "prod"], {
        env: { HTTPS_PROXY: p.url, no_proxy: "example.com, .invalid" },
      });
      assertEquals(d.code, 1, d.stderr);
      assertStringIncludes(d.stderr, FAKE_HOST);
      assert(!hasStackTrace(d.stderr), d.stderr);
      assertEquals(p.tunnels.length, 0);
    });

    await t.step("a dead proxy: one line naming the proxy (redacted) and the context, exit 1", async () => {
      const port = await deadPort();
      const kc = await variant(
        c,
        dir,
        "dead",
        (cl) => (cl["proxy-url"] = `http://${USER}:${PASSWORD}@127.0.0.1:${port}`),
      );
      for (const args of [["pods", "-n", "prod"], ["exec", "-n", "prod", "--pod", api, "--", "hostname"]]) {
        const r = await runKodama(["--kubeconfig", kc, ...args]);
        assertEquals(r.code, 1, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assertMatch(
          lines[0],
          new RegExp(`^error: cannot reach proxy http://\\*\\*\\*@127\\.0\\.0\\.1:${port} .*context admin`),
        );
        assert(lines.length <= 2, r.stderr); // the message and its hint
        assert(!hasStackTrace(r.stderr), r.stderr);
        assert(!r.stderr.includes(PASSWORD) && !r.stdout.includes(PASSWORD), r.stderr);
      }
      // debug logs (and the stack trace they allow) never show the credentials either
      const d = await runKodama(["--kubeconfig", kc, "--log-level", "debug", "pods", "-n", "prod"]);
      assertEquals(d.code, 1, d.stderr);
      assertStringIncludes(d.stderr, `http://***@127.0.0.1:${port}`);
      assert(!d.stderr.includes(PASSWORD) && !d.stderr.includes(btoa(`${USER}:${PASSWORD}`)), d.stderr);
    });

    await t.step("wrong proxy credentials: 407 -> exit 4 without printing them", async () => {
      const p = await proxy({ auth: AUTH });
      const kc = await variant(
        c,
        dir,
        "badauth",
        (cl) => (cl["proxy-url"] = `http://${USER}:wrong-pw@127.0.0.1:${p.port}`),
      );
      const r = await runKodama(["--kubeconfig", kc, "pods", "-n", "prod"]);
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "407");
      assert(!r.stderr.includes("wrong-pw"), r.stderr);
      assert(p.refused >= 1);
    });

    await t.step("socks5 proxy-url is refused with a usage error", async () => {
      const kc = await variant(
        c,
        dir,
        "socks",
        (cl) => (cl["proxy-url"] = `socks5://${USER}:${PASSWORD}@127.0.0.1:1080`),
      );
      const r = await runKodama(["--kubeconfig", kc, "pods", "-n", "prod"]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "SOCKS5");
      assert(!r.stderr.includes(PASSWORD) && !hasStackTrace(r.stderr), r.stderr);
    });
  } finally {
    for (const p of proxies) await p.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
