/**
 * kodama's gateway program (src/agent/pod/gateway.js), run as a process by Node against the model-API
 * stand-ins (tests/agents/_standin.ts) and local TCP servers, driven over HTTP: the key swap per provider,
 * streams passed unbuffered, the egress allow-list of CONNECT and plain proxying, the governor (queue
 * instead of a 429, round-robin between sessions, sessions spread over keys), metering and budgets, and
 * bad input. The real CLIs through it are in gateway_cli_test.ts.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { type StandIn, startStandIn } from "./_standin.ts";
import { type Gateway, startGateway } from "./_gateway.ts";

const REAL = "sk-ant-real-key-0042";
const REAL2 = "sk-ant-real-key-0043";
const OPENAI = "sk-openai-real-0044";
const GEMINI = "AIza-real-0045";

function config(api: StandIn, extra: Record<string, unknown> = {}) {
  return {
    providers: {
      anthropic: {
        upstream: api.url,
        keys: [{ id: "a1", header: "x-api-key", value: REAL }],
      },
      openai: { upstream: api.url, keys: [{ id: "o1", header: "authorization", value: `Bearer ${OPENAI}` }] },
      gemini: { upstream: api.url, keys: [{ id: "g1", header: "x-goog-api-key", value: GEMINI }] },
    },
    prices: { "claude-*": { input: 3, output: 15 } },
    ...extra,
  };
}

const message = (text: string, stream = true) =>
  JSON.stringify({
    model: "claude-sonnet-4-5",
    stream,
    max_tokens: 100,
    tools: [{ name: "Bash", input_schema: { type: "object" } }],
    messages: [{ role: "user", content: text }],
  });

function ask(gw: Gateway, token: string, text = "hi", stream = true) {
  return fetch(`${gw.url}/p/anthropic/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": token, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: message(text, stream),
  });
}

async function world(
  fn: (api: StandIn, gw: Gateway) => Promise<void>,
  o: Parameters<typeof startStandIn>[1] = {},
  extra: Record<string, unknown> = {},
) {
  const api = await startStandIn([], { gate: { keys: [REAL, REAL2, OPENAI, GEMINI] }, ...o });
  const gw = await startGateway(config(api, extra));
  try {
    await fn(api, gw);
  } finally {
    await gw.close();
    await api.close();
  }
}

/** Every Messages request the stand-in had, the ones it refused too. */
const messages = (api: StandIn) => api.requests.filter((r) => r.path === "/v1/messages");

/** Resolves once the gateway re-read its config after a change. */
function reloaded(gw: Gateway, before: number) {
  return gw.waitLog((l) =>
    l.ev === "config" && l.status === ("loaded" as unknown) && gw.lines.indexOf(l) >= before
  );
}

/** Neither a key, a token nor a query string in anything the gateway logged. */
function assertClean(gw: Gateway, ...secrets: string[]) {
  for (const s of [REAL, REAL2, OPENAI, GEMINI, ...secrets]) {
    assert(!gw.raw().includes(s), "a secret in the log");
  }
  for (const l of gw.lines) if (typeof l.path === "string") assert(!l.path.includes("?"), l.path);
}

Deno.test("gateway: the token is swapped for the real key, the stream passes unbuffered and is metered", async () => {
  await world(async (api, gw) => {
    const token = gw.token({ s: "s1", g: "grp" });
    const res = await ask(gw, token, "stream me");
    assertEquals(res.status, 200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // the first event arrives while the stand-in still trickles the rest: nothing waits for the end
    assertStringIncludes(first, "message_start");
    assert(!first.includes("message_stop"), "the first chunk held the whole stream");
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += new TextDecoder().decode(r.value);
    }
    assertStringIncludes(rest, "message_stop");
    const [rec] = api.mainRequests();
    assertEquals(rec.headers?.["x-api-key"], REAL);
    assert(!JSON.stringify(rec.headers).includes(token), "the token reached the API");
    const usage = await gw.waitLog((l) => l.ev === "usage");
    assertEquals(usage.s, "s1");
    assertEquals(usage.g, "grp");
    assertEquals(usage.key, "a1");
    assertEquals([usage.usage?.input, usage.usage?.output], [rec.usage?.input, rec.usage?.output]);
    assertEquals(usage.costUsd, (rec.usage!.input * 3 + rec.usage!.output * 15) / 1e6);
    const req = await gw.waitLog((l) => l.ev === "req");
    assertEquals([req.status, req.path, req.provider], [200, "/v1/messages", "anthropic"]);
    assert(req.bytesOut! > 0 && req.bytesIn! > 0);
    // the session's figures, and everyone's with the admin token
    const mine = await (await fetch(`${gw.url}/_kodama/usage`, { headers: { "x-api-key": token } })).json();
    assertEquals(mine.sessions.s1.output, rec.usage?.output);
    const all = await (await fetch(`${gw.url}/_kodama/usage`, {
      headers: { authorization: `Bearer ${gw.admin()}` },
    })).json();
    assertEquals(all.groups.grp.requests, 1);
    assertClean(gw, token);
  }, { trickleMs: 150 });
});

Deno.test("gateway: OpenAI's bearer and Gemini's ?key= are swapped too, non-streamed answers metered", async () => {
  await world(async (api, gw) => {
    const token = gw.token({ s: "s2" });
    const o = await fetch(`${gw.url}/p/openai/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-5", input: "hi", stream: true }),
    });
    assertEquals(o.status, 200);
    await o.text();
    const g = await fetch(
      `${gw.url}/p/gemini/v1beta/models/gemini-2.5-pro:generateContent?key=${token}`,
      { method: "POST", body: JSON.stringify({ contents: [], tools: [{ functionDeclarations: [] }] }) },
    );
    assertEquals(g.status, 200, await g.clone().text());
    await g.text();
    const [ro, rg] = api.mainRequests();
    assertEquals(ro.headers?.authorization, `Bearer ${OPENAI}`);
    assertEquals(rg.headers?.["x-goog-api-key"], GEMINI);
    const usage = await gw.waitLog((l) => l.ev === "usage" && l.provider === "gemini");
    assertEquals(usage.model, "gemini-2.5-pro");
    assert(usage.usage!.output > 0);
    const ou = await gw.waitLog((l) => l.ev === "usage" && l.provider === "openai");
    assertEquals(ou.usage?.output, ro.usage?.output);
    assertClean(gw, token);
  });
});

Deno.test("gateway: a bad, foreign, revoked or other-provider token gets the provider's 401 and reaches nothing", async () => {
  await world(async (api, gw) => {
    const other = await startGateway({ providers: {} });
    const foreign = other.token({ s: "s1" });
    await other.close();
    for (const t of ["", "nonsense", "kgw1.e30.AAAA", foreign, gw.token({ s: "s1", p: ["openai"] })]) {
      const r = await ask(gw, t);
      assertEquals(r.status, 401);
      const j = await r.json();
      assertEquals(j.error.type, "authentication_error");
      assertMatch(j.error.message, /^kodama-gateway: invalid session token/);
    }
    const o = await fetch(`${gw.url}/p/openai/v1/responses`, { method: "POST", body: "{}" });
    assertEquals([o.status, (await o.json()).error.type], [401, "authentication_error"]);
    // revoked in the config: the gateway re-reads it, no restart
    const token = gw.token({ s: "gone" });
    assertEquals((await ask(gw, token)).status, 200);
    const before = gw.lines.length;
    await gw.setConfig({ ...config(api), revoked: ["gone"] });
    await reloaded(gw, before);
    assertEquals((await ask(gw, token)).status, 401);
    assertEquals(api.mainRequests().length, 1);
  });
});

Deno.test("gateway: a budget spent stops the session's next request with the gateway's budget error", async () => {
  await world(async (api, gw) => {
    const token = gw.token({ s: "b1", budgetUsd: 0.00001 });
    const first = await ask(gw, token, "x".repeat(4000));
    assertEquals(first.status, 200);
    await first.text();
    await gw.waitLog((l) => l.ev === "usage");
    const second = await ask(gw, token);
    assertEquals(second.status, 400);
    const j = await second.json();
    assertEquals(j.error.type, "invalid_request_error");
    assertMatch(j.error.message, /^kodama-gateway: budget of \$0\.00001 for session b1 is spent/);
    const b = await gw.waitLog((l) => l.ev === "budget");
    assertEquals(b.s, "b1");
    assertEquals(api.mainRequests().length, 1);
    // another session is not held by it
    assertEquals((await ask(gw, gw.token({ s: "b2", budgetUsd: 1 }))).status, 200);
  });
});

function tcpEcho(): { port: number; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of l) c.readable.pipeTo(c.writable).catch(() => {});
  })();
  return { port: (l.addr as Deno.NetAddr).port, close: () => l.close() };
}

/** A raw HTTP exchange on a new connection: what came back until the server closed or `until` matched. */
async function raw(port: number, text: string, after?: string, until = /\r\n\r\n/): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode(text));
  let got = "";
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
      if (after && until.test(got)) {
        await c.write(new TextEncoder().encode(after));
        after = undefined;
        until = /echo-me/;
        continue;
      }
      if (!after && /echo-me/.test(got)) break;
    }
  } catch { /* reset */ }
  c.close();
  return got;
}

const basic = (token: string) => `Proxy-Authorization: Basic ${btoa(`kodama:${token}`)}\r\n`;

Deno.test("gateway: CONNECT reaches an allowed host, refuses another with its name, both logged", async () => {
  const echo = tcpEcho();
  await world(async (_api, gw) => {
    const token = gw.token({ s: "e1", allow: [`127.0.0.1:${echo.port}`, "*.pypi.org"] });
    const ok = await raw(
      gw.port,
      `CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: x\r\n${basic(token)}\r\n`,
      "echo-me",
    );
    assertMatch(ok, /^HTTP\/1\.1 200 Connection Established\r\n\r\necho-me/);
    const conn = await gw.waitLog((l) => l.ev === "conn");
    assertEquals([conn.s, conn.host], ["e1", `127.0.0.1:${echo.port}`]);
    assertEquals([conn.bytesIn, conn.bytesOut], [7, 7]);
    for (const host of ["evil.example:443", "pypi.org:443", `127.0.0.1:${echo.port + 1}`, "127.0.0.2:80"]) {
      const no = await raw(gw.port, `CONNECT ${host} HTTP/1.1\r\nHost: x\r\n${basic(token)}\r\n`);
      assertMatch(no, /^HTTP\/1\.1 403 Forbidden\r\n/);
      const name = host.replace(/:\d+$/, "");
      assertStringIncludes(no, `kodama-gateway: host ${name} is not in session e1's egress allow-list\n`);
      await gw.waitLog((l) => l.ev === "deny" && l.host === host);
    }
    const anon = await raw(gw.port, `CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertMatch(anon, /^HTTP\/1\.1 407 /);
    // plain HTTP proxying follows the same list
    const p = await raw(
      gw.port,
      `GET http://evil.example/x?secret=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n${
        basic(token)
      }\r\n`,
    );
    assertMatch(p, /^HTTP\/1\.1 403 /);
    assertClean(gw, token, "secret=1");
  });
  echo.close();
});

Deno.test("gateway: garbage, oversized headers and broken streams never take it down", async () => {
  await world(async (_api, gw) => {
    const junk = [
      "\x00\x01\x02garbage\r\n\r\n",
      `GET / HTTP/1.1\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`,
      "CONNECT nothing HTTP/1.1\r\n\r\n",
      `CONNECT :::: HTTP/1.1\r\n${basic(gw.token({ s: "j" }))}\r\n`,
      "POST /p/anthropic/v1/messages HTTP/1.1\r\nContent-Length: 1000\r\nx-api-key: x\r\n\r\nshort",
      `GET /p/gemini/v1beta/models/%zz:x?key=%%% HTTP/1.1\r\n\r\n`,
    ];
    for (const j of junk) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: gw.port });
      await c.write(new TextEncoder().encode(j)).catch(() => 0);
      c.close();
    }
    const big = await raw(gw.port, `GET /healthz HTTP/1.1\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    assertMatch(big, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    const h = await fetch(`${gw.url}/healthz`);
    assertEquals([h.status, await h.text()], [200, "ok"]);
  });
});

Deno.test("gateway: an upstream that is down is the gateway's 502, in the provider's shape", async () => {
  const api = await startStandIn();
  const gw = await startGateway({
    providers: {
      anthropic: { upstream: "http://127.0.0.1:9", keys: [{ id: "a1", header: "x-api-key", value: REAL }] },
    },
  });
  try {
    const r = await ask(gw, gw.token({ s: "u1" }));
    assertEquals(r.status, 502);
    assertMatch((await r.json()).error.message, /^kodama-gateway: upstream 127\.0\.0\.1 unreachable/);
  } finally {
    await gw.close();
    await api.close();
  }
});

Deno.test("gateway: a 429 is waited out inside the gateway, and the key's queue is round-robin between sessions", async () => {
  await world(async (api, gw) => {
    const a = gw.token({ s: "A" }), b = gw.token({ s: "B" });
    const a1 = ask(gw, a, "A1", false);
    // A1 got its 429: the key is blocked for 700 ms; A queues four more, then B one
    await gw.waitLog((l) => l.ev === "retry");
    const as = [2, 3, 4, 5].map((i) => ask(gw, a, `A${i}`, false));
    await gw.waitLog((l) => l.ev === "queue" && l.s === "A" && l.waiting === 5);
    const b1 = ask(gw, b, "B1", false);
    const all = await Promise.all([a1, ...as, b1]);
    assertEquals(all.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    await Promise.all(all.map((r) => r.text()));
    const order = messages(api).map((r) => /"content":"(\w\d)"/.exec(r.text)?.[1]);
    assertEquals(api.answered(429), 1, "the gateway sent another request into the limit");
    // after A1 (429, then its retry) B1 goes second, not after all of A's
    assertEquals(order.slice(0, 3), ["A1", "A1", "B1"]);
  }, { faults: [{ status: 429, times: 1, retryAfterMs: 700 }] });
});

Deno.test("gateway: sessions spread over a provider's keys, and one whose key is limited moves", async () => {
  await world(async (api, gw) => {
    const before = gw.lines.length;
    await gw.setConfig({
      ...config(api),
      providers: {
        anthropic: {
          upstream: api.url,
          keys: [{ id: "a1", header: "x-api-key", value: REAL }, {
            id: "a2",
            header: "x-api-key",
            value: REAL2,
          }],
        },
      },
    });
    await reloaded(gw, before);
    for (const s of ["s1", "s2", "s3", "s4"]) {
      const r = await ask(gw, gw.token({ s }), s, false);
      assertEquals(r.status, 200);
      await r.text();
    }
    const keys = api.mainRequests().map((r) => r.headers?.["x-api-key"]);
    assertEquals(keys.filter((k) => k === REAL).length, 2);
    assertEquals(keys.filter((k) => k === REAL2).length, 2);
    // the next answer is a 429: that session's retry goes out on the other key at once
    api.fault({ status: 429, times: 1, retryAfterMs: 60_000 });
    const r = await ask(gw, gw.token({ s: "s1" }), "again", false);
    assertEquals(r.status, 200);
    await r.text();
    const last = messages(api).slice(-2).map((r) => r.headers?.["x-api-key"]);
    assertEquals(new Set(last).size, 2, "the retry went to the same, limited key");
  });
});

Deno.test("gateway: SIGTERM lets a streaming answer finish", async () => {
  await world(async (_api, gw) => {
    const res = await ask(gw, gw.token({ s: "d1" }), "drain");
    const reader = res.body!.getReader();
    await reader.read();
    await gw.kill("SIGTERM");
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += new TextDecoder().decode(r.value);
    }
    assertStringIncludes(rest, "message_stop");
  }, { trickleMs: 100 });
});

Deno.test("gateway: an answer saying no requests remain holds the next one in the queue until the reset", async () => {
  // the stand-in reads its headers per answer: the reset is set once the gateway is up (a loaded machine
  // may take longer than the reset's 1.5 s to start it, and then nothing would be queued)
  const limit: Record<string, string> = { "anthropic-ratelimit-requests-remaining": "0" };
  await world(async (api, gw) => {
    const t = gw.token({ s: "h1" });
    limit["anthropic-ratelimit-requests-reset"] = new Date(Date.now() + 1500).toISOString();
    const first = await ask(gw, t, "one", false);
    assertEquals(first.status, 200);
    await first.text();
    const second = await ask(gw, t, "two", false);
    assertEquals(second.status, 200);
    await second.text();
    const q = await gw.waitLog((l) => l.ev === "queue" && l.s === "h1");
    assertEquals(q.key, "a1");
    // it waited instead of being sent into a 429
    assertEquals(api.answered(429), 0);
    assertEquals(messages(api).length, 2);
  }, {
    gate: {
      keys: [REAL],
      headers: limit,
    },
  });
});

Deno.test("gateway: /git/<host>/ carries the gateway's git key for the token's git hosts only", async () => {
  const seen: { path: string; auth: string | null; token: string | null }[] = [];
  const ac = new AbortController();
  const { port } = await new Promise<Deno.NetAddr>((resolve) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: resolve }, (req) => {
      const u = new URL(req.url);
      seen.push({
        path: u.pathname + u.search,
        auth: req.headers.get("authorization"),
        token: req.headers.get("x-kodama-gateway-token"),
      });
      return new Response("refs", {
        headers: { "content-type": "application/x-git-upload-pack-advertisement" },
      });
    })
  );
  const gw = await startGateway({
    providers: {
      git: {
        keys: [{
          id: "gh1",
          host: "git.example",
          header: "authorization",
          value: "Basic c2VjcmV0LWdpdA==",
          upstream: `http://127.0.0.1:${port}`,
        }],
      },
    },
  });
  try {
    const token = gw.token({ s: "g1", git: ["git.example"] });
    const r = await fetch(`${gw.url}/git/git.example/o/r.git/info/refs?service=git-upload-pack`, {
      headers: { "x-kodama-gateway-token": token },
    });
    assertEquals([r.status, await r.text()], [200, "refs"]);
    assertEquals(seen, [{
      path: "/o/r.git/info/refs?service=git-upload-pack",
      auth: "Basic c2VjcmV0LWdpdA==",
      token: null,
    }]);
    const other = await fetch(`${gw.url}/git/github.com/o/r.git/info/refs`, {
      headers: { "x-kodama-gateway-token": token },
    });
    assertEquals(other.status, 403);
    assertStringIncludes(
      await other.text(),
      "kodama-gateway: host github.com is not in session g1's git hosts",
    );
    const none = await fetch(`${gw.url}/git/git.example/o/r.git/info/refs`);
    assertEquals(none.status, 401);
    await none.text();
    assertEquals(seen.length, 1);
    assert(!gw.raw().includes("c2VjcmV0LWdpdA") && !gw.raw().includes("service=git"));
  } finally {
    await gw.close();
    ac.abort();
  }
});

Deno.test("gateway: a reset past the request's window is not waited for: the provider answers it", async () => {
  const reset = new Date(Date.now() + 10 * 60_000).toISOString();
  const api = await startStandIn([], {
    gate: {
      keys: [REAL],
      headers: { "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": reset },
    },
  });
  const gw = await startGateway(config(api), { KODAMA_GATEWAY_RETRY_WINDOW_MS: "2000" });
  try {
    const t = gw.token({ s: "w1" });
    for (const text of ["one", "two"]) {
      const r = await ask(gw, t, text, false);
      assertEquals(r.status, 200);
      await r.text();
    }
    assertEquals(messages(api).length, 2);
  } finally {
    await gw.close();
    await api.close();
  }
});

Deno.test("gateway: a real client through http_proxy (curl): tunnelled and plain requests to an allowed host, a denied one refused", async () => {
  const ac = new AbortController();
  const { port } = await new Promise<Deno.NetAddr>((resolve) =>
    Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: resolve },
      () => new Response("hello"),
    )
  );
  const gw = await startGateway({ providers: {} });
  const curl = async (url: string, tunnel: boolean) => {
    const token = gw.token({ s: "c1", allow: [`127.0.0.1:${port}`] });
    const o = await new Deno.Command("curl", {
      args: ["-sS", ...(tunnel ? ["-p"] : []), url],
      env: { http_proxy: `http://kodama:${token}@127.0.0.1:${gw.port}`, PATH: Deno.env.get("PATH") ?? "" },
      clearEnv: true,
    }).output();
    const dec = new TextDecoder();
    return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
  };
  try {
    for (const tunnel of [true, false]) {
      const ok = await curl(`http://127.0.0.1:${port}/x`, tunnel);
      assertEquals([ok.code, ok.out], [0, "hello"], ok.err);
      const no = await curl(`http://127.0.0.2:${port}/x`, tunnel);
      assert(no.code !== 0 || /is not in session c1's egress allow-list/.test(no.out), no.out + no.err);
      assertMatch(no.err + no.out, /403|kodama-gateway: host 127\.0\.0\.2/);
    }
    // a tunnel's line comes when it closes
    const count = (ev: string) => gw.lines.filter((l) => l.ev === ev && l.s === "c1").length;
    await gw.waitLog(() => count("conn") === 2);
    assertEquals(gw.lines.filter((l) => l.ev === "deny" && l.host === `127.0.0.2:${port}`).length, 2);
  } finally {
    await gw.close();
    ac.abort();
  }
});

// ---- budgets that hold under concurrency and cuts (issue 79, defect 1) ----------------------------------

/** A POST of a JSON body to a provider's route with the session token where that provider takes it. */
function post(gw: Gateway, token: string, path: string, body: unknown, signal?: AbortSignal) {
  const auth: Record<string, string> = path.startsWith("/p/anthropic")
    ? { "x-api-key": token, "anthropic-version": "2023-06-01" }
    : { authorization: `Bearer ${token}` };
  return fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

const claudeBody = (model: string, maxTokens: number, text = "hi") => ({
  model,
  stream: true,
  max_tokens: maxTokens,
  tools: [{ name: "Bash", input_schema: { type: "object" } }],
  messages: [{ role: "user", content: text }],
});

/** The session's totals as the gateway answers them to its own token. */
async function figures(gw: Gateway, token: string) {
  const r = await fetch(`${gw.url}/_kodama/usage`, { headers: { "x-api-key": token } });
  return (await r.json()).sessions as Record<
    string,
    { costUsd: number; output: number; input: number } | null
  >;
}

/**
 * `n` requests at once, each dearer than the whole budget, while the stand-in holds what reaches it: the
 * statuses once all are answered, after the held ones are let go.
 */
async function burst(api: StandIn, n: number, send: () => Promise<Response>) {
  const release = api.hold();
  const done: number[] = [];
  // every request is either held by the stand-in or already answered by the gateway: checked on both
  const settled = () => api.held() + done.length === n;
  let wake = () => {};
  const answered = new Promise<void>((r) => wake = r);
  const all = Array.from({ length: n }, () =>
    send().then(async (r) => {
      const text = await r.text();
      done.push(r.status);
      if (settled()) wake();
      return { status: r.status, text };
    }));
  try {
    await Promise.race([api.waitFor(settled, 30_000), answered]);
  } finally {
    release();
  }
  const heldAtOnce = n - done.length;
  return { heldAtOnce, answers: await Promise.all(all) };
}

Deno.test("gateway: five requests at once under a $1 budget, each dearer than it: one goes, four are refused", async () => {
  await world(async (api, gw) => {
    const token = gw.token({ s: "c5", budgetUsd: 1 });
    // 100,000 output tokens at $15 per million: $1.50 each, and the stand-in says it spent them
    const { heldAtOnce, answers } = await burst(
      api,
      5,
      () => post(gw, token, "/p/anthropic/v1/messages", claudeBody("claude-sonnet-4-5", 100_000)),
    );
    assertEquals(heldAtOnce, 1, "more than one dear request reached the API at once");
    assertEquals(answers.map((a) => a.status).sort(), [200, 400, 400, 400, 400]);
    for (const a of answers.filter((a) => a.status === 400)) {
      assertMatch(
        JSON.parse(a.text).error.message,
        /^kodama-gateway: budget of \$1 for session c5 is spent: /,
      );
    }
    assertEquals(api.mainRequests().length, 1);
    // spent: at most the budget plus the one request let through alone
    const f = (await figures(gw, token)).c5!;
    assert(f.costUsd <= 1 + 1.5 + 1e-9, `spent ${f.costUsd}`);
    // and now the budget is spent: the next one is refused before it goes anywhere
    const next = await post(gw, token, "/p/anthropic/v1/messages", claudeBody("claude-sonnet-4-5", 10));
    assertEquals(next.status, 400);
    assertMatch((await next.json()).error.message, /is spent \(\$1\.5/);
    assertEquals(api.mainRequests().length, 1);
  }, { outputTokens: 100_000 });
});

Deno.test("gateway: twenty Responses requests at once under a $1 budget: one goes; cheap ones share what is left", async () => {
  await world(async (api, gw) => {
    const token = gw.token({ s: "c20", budgetUsd: 1 });
    // gpt-5 at its built-in price: 200,000 output tokens at $10 per million, $2 each
    const dear = { model: "gpt-5", input: "hi", stream: true, max_output_tokens: 200_000 };
    const { heldAtOnce, answers } = await burst(
      api,
      20,
      () => post(gw, token, "/p/openai/v1/responses", dear),
    );
    assertEquals(heldAtOnce, 1);
    assertEquals(answers.filter((a) => a.status === 200).length, 1);
    assertEquals(answers.filter((a) => a.status === 400).length, 19);
    assertEquals(api.mainRequests().length, 1);
    // another session: requests that fit together all go, the one that would pass the budget does not
    const t2 = gw.token({ s: "c20b", budgetUsd: 1 });
    // 30,000 output tokens at $10 per million: $0.30 (and a little input) each: three fit in $1
    const cheap = { model: "gpt-5", input: "hi", stream: true, max_output_tokens: 30_000 };
    const r = await burst(api, 4, () => post(gw, t2, "/p/openai/v1/responses", cheap));
    assertEquals(r.heldAtOnce, 3);
    assertEquals(r.answers.map((a) => a.status).sort(), [200, 200, 200, 400]);
  }, { outputTokens: 10 });
});

Deno.test("gateway: a stream the client cuts after message_start and a delta is charged what it streamed", async () => {
  const long = "x".repeat(3000);
  await world(async (api, gw) => {
    api.push([{ text: long }]);
    const token = gw.token({ s: "cut1" });
    const ac = new AbortController();
    const res = await post(
      gw,
      token,
      "/p/anthropic/v1/messages",
      claudeBody("claude-sonnet-4-5", 4000),
      ac.signal,
    );
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("content_block_delta")) {
      seen += new TextDecoder().decode((await reader.read()).value);
    }
    assert(!seen.includes("message_delta"), "the stream was not cut before its end");
    ac.abort();
    await reader.cancel().catch(() => {});
    const u = await gw.waitLog((l) => l.ev === "usage" && l.s === "cut1", 10_000);
    assertEquals(u.cut, true);
    const [rec] = api.mainRequests();
    assertEquals(u.usage?.input, rec.usage?.input);
    // 3,000 characters streamed: charged at least 1,000 output tokens, at $15 per million
    assert(u.usage!.output >= 1000, JSON.stringify(u.usage));
    assert(u.costUsd! >= 1000 * 15 / 1e6, String(u.costUsd));
    const f = (await figures(gw, token)).cut1!;
    assertEquals(f.costUsd, u.costUsd);
  }, { trickleMs: 300 });
});

/** A Chat Completions request through the gateway (OpenAI's shape, what OpenAI-compatible clients send). */
const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: "gpt-4o",
  stream: true,
  messages: [{ role: "user", content: "hi" }],
  tools: [{ type: "function", function: { name: "exec_command", parameters: { type: "object" } } }],
  ...extra,
});

Deno.test("gateway: a Chat Completions stream is asked for its usage and metered, whatever the client asked", async () => {
  await world(async (api, gw) => {
    api.push([{ text: "one" }], [{ text: "two" }]);
    const token = gw.token({ s: "chat1" });
    for (const extra of [{}, { stream_options: { include_usage: false } }]) {
      const r = await post(gw, token, "/p/openai/v1/chat/completions", chatBody(extra));
      assertEquals(r.status, 200);
      assertStringIncludes(await r.text(), "[DONE]");
    }
    const sent = api.mainRequests().map((r) => (r.body as { stream_options?: unknown }).stream_options);
    assertEquals(sent, [{ include_usage: true }, { include_usage: true }]);
    await gw.waitLog(() => gw.lines.filter((l) => l.ev === "usage" && l.s === "chat1").length === 2, 10_000);
    const f = (await figures(gw, token)).chat1!;
    assertEquals(f.output, api.mainRequests().reduce((n, r) => n + r.usage!.output, 0));
    assert(f.costUsd > 0);
    // a request that does not stream is sent as it came
    const plainBody = chatBody({ stream: false });
    const r = await post(gw, token, "/p/openai/v1/chat/completions", plainBody);
    assertEquals(r.status, 200);
    await r.text();
    assertEquals(api.mainRequests().at(-1)!.text, JSON.stringify(plainBody));
  });
});

Deno.test("gateway: a Chat Completions stream cut before its usage is charged its input and what it streamed", async () => {
  await world(async (api, gw) => {
    api.push([{ text: "y".repeat(600) }]);
    const token = gw.token({ s: "cut2", budgetUsd: 5 });
    const ac = new AbortController();
    const r = await post(
      gw,
      token,
      "/p/openai/v1/chat/completions",
      chatBody({ max_tokens: 1000 }),
      ac.signal,
    );
    const reader = r.body!.getReader();
    let seen = "";
    while ((seen.match(/"content":"y/g) ?? []).length < 5) {
      seen += new TextDecoder().decode((await reader.read()).value);
    }
    ac.abort();
    await reader.cancel().catch(() => {});
    const u = await gw.waitLog((l) => l.ev === "usage" && l.s === "cut2", 10_000);
    assertEquals(u.cut, true);
    // no usage came: the input as estimated, and at least the 80 characters seen as output
    assert(u.usage!.input > 0 && u.usage!.output >= 80 / 3, JSON.stringify(u.usage));
    assert(u.costUsd! > 0);
    assertEquals((await figures(gw, token)).cut2!.costUsd, u.costUsd);
  }, { trickleMs: 100 });
});

Deno.test("gateway: under a budget a model with no price is refused, and so is a request naming no model", async () => {
  await world(async (api, gw) => {
    const token = gw.token({ s: "np", budgetUsd: 1 });
    const cases: [string, unknown, string][] = [
      ["/p/anthropic/v1/messages", claudeBody("mystery-model-1", 100), "mystery-model-1"],
      ["/p/openai/v1/responses", { model: "o3-pro", input: "hi", stream: true }, "o3-pro"],
      ["/p/openai/v1/chat/completions", chatBody({ model: "gpt-4-turbo" }), "gpt-4-turbo"],
      ["/p/gemini/v1beta/models/gemini-1.5-pro:generateContent", { contents: [] }, "gemini-1.5-pro"],
      ["/p/anthropic/v1/messages", { messages: [], max_tokens: 10 }, "(none named)"],
    ];
    for (const [path, body, model] of cases) {
      const r = await post(gw, token, path, body);
      assertEquals(r.status, 400, path);
      const msg = (await r.json()).error.message;
      assertStringIncludes(msg, `kodama-gateway: budget of $1 for session np cannot meter model ${model}`);
    }
    assertEquals(api.requests.filter((r) => r.method === "POST").length, 0);
    // counting tokens spends nothing: let through
    const count = await post(gw, token, "/p/anthropic/v1/messages/count_tokens", {
      model: "mystery-model-1",
    });
    assertEquals(count.status, 200);
    await count.text();
    // without a budget the unpriced model goes, its tokens counted
    const free = await post(
      gw,
      gw.token({ s: "np2" }),
      "/p/anthropic/v1/messages",
      claudeBody("mystery-model-1", 100),
    );
    assertEquals(free.status, 200);
    await free.text();
    // the user's prices (gateway.prices, written by ensure) may price it, or every other model with `*`
    const n = gw.lines.length;
    await gw.setConfig({
      ...config(api),
      prices: { "claude-*": { input: 3, output: 15 }, "*": { input: 5, output: 25 } },
    });
    await reloaded(gw, n);
    const priced = await post(gw, token, "/p/anthropic/v1/messages", claudeBody("mystery-model-1", 100));
    assertEquals(priced.status, 200);
    await priced.text();
    const u = await gw.waitLog((l) => l.ev === "usage" && l.s === "np");
    assert(u.costUsd! > 0);
  });
});

Deno.test("gateway: a 40 KB request header, in one header or in many, is 431, not 400", async () => {
  await world(async (_api, gw) => {
    const one = await raw(
      gw.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(40 * 1024)}\r\n\r\n`,
    );
    assertMatch(one, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    const many = Array.from({ length: 40 }, (_, i) => `X-H${i}: ${"b".repeat(1000)}\r\n`).join("");
    const token = gw.token({ s: "h" });
    const split = await raw(
      gw.port,
      `POST /p/anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${token}\r\n${many}\r\n`,
    );
    assertMatch(split, /^HTTP\/1\.1 431 /);
    // a request that is merely bad is still 400
    assertMatch(await raw(gw.port, "GET / HTTP/1.1\r\nBad Header\r\n\r\n"), /^HTTP\/1\.1 400 /);
  });
});

// ---- tokens that end (issue 79, defect 2) ----------------------------------------------------------------

Deno.test("gateway: a token past its expiry is refused with a one-line reason, on every route", async () => {
  await world(async (api, gw) => {
    const now = Math.floor(Date.now() / 1000);
    const expired = gw.token({ s: "x1", exp: now - 5, git: ["git.example"] } as never);
    // a token with no expiry ends a week after it was issued
    const old = gw.token({ s: "x2", iat: now - 8 * 86400 } as never);
    for (const t of [expired, old]) {
      const r = await ask(gw, t);
      assertEquals(r.status, 401);
      const msg = (await r.json()).error.message as string;
      assertMatch(
        msg,
        /^kodama-gateway: session token expired at \d{4}-\d\d-\d\dT[^ ]+ \(kodama resume x[12] gives a new one\) \(invalid x-api-key\)$/,
      );
      assert(!msg.includes(t) && !msg.includes(t.split(".")[2]), "the token in the error");
    }
    const o = await post(gw, expired, "/p/openai/v1/responses", { model: "gpt-5", input: "hi" });
    assertEquals(o.status, 401);
    await o.text();
    const g = await fetch(`${gw.url}/git/git.example/o/r.git/info/refs`, {
      headers: { "x-kodama-gateway-token": expired },
    });
    assertEquals(g.status, 401);
    assertStringIncludes(await g.text(), "kodama-gateway: session token expired");
    const u = await fetch(`${gw.url}/_kodama/usage`, { headers: { "x-api-key": old } });
    assertEquals(u.status, 401);
    await u.text();
    const c = await raw(
      gw.port,
      `CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: x\r\n${basic(expired)}\r\n`,
    );
    assertMatch(c, /^HTTP\/1\.1 407 /);
    assertEquals(api.mainRequests().length, 0);
    // one still in its lifetime goes
    const fresh = await ask(gw, gw.token({ s: "x4", exp: now + 3600 } as never));
    assertEquals(fresh.status, 200);
    await fresh.text();
  });
});

Deno.test("gateway: a deleted session's tokens are refused once the config says so; a new session of its name is not", async () => {
  await world(async (api, gw) => {
    const now = Math.floor(Date.now() / 1000);
    const before = gw.token({ s: "del1", iat: now - 60, budgetUsd: 5 } as never);
    assertEquals((await ask(gw, before)).status, 200);
    const n = gw.lines.length;
    // what `kodama delete del1` writes: its tokens issued before this second are revoked
    await gw.setConfig({ ...config(api), revoked: [{ s: "del1", before: now }] });
    await reloaded(gw, n);
    const r = await ask(gw, before);
    assertEquals(r.status, 401);
    assertMatch(
      (await r.json()).error.message,
      /^kodama-gateway: session token revoked \(session del1 was deleted\)/,
    );
    const u = await fetch(`${gw.url}/_kodama/usage`, { headers: { "x-api-key": before } });
    assertEquals(u.status, 401);
    await u.text();
    // a later `start del1` mints at or after that second: its token works
    const again = await ask(gw, gw.token({ s: "del1", iat: now } as never));
    assertEquals(again.status, 200);
    await again.text();
    assertEquals(api.mainRequests().length, 2);
  });
});

Deno.test("gateway: under a budget an answer that says nothing of its usage is charged what was sent", async () => {
  const ac = new AbortController();
  const { port } = await new Promise<Deno.NetAddr>((resolve) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: resolve }, async (req) => {
      await req.text();
      // an answer without any usage field: nothing to meter it by
      return Response.json({ content: [{ type: "text", text: "z".repeat(90) }] });
    })
  );
  const gw = await startGateway({
    providers: {
      anthropic: {
        upstream: `http://127.0.0.1:${port}`,
        keys: [{ id: "a1", header: "x-api-key", value: REAL }],
      },
    },
  });
  try {
    const token = gw.token({ s: "nu", budgetUsd: 1 });
    const r = await post(
      gw,
      token,
      "/p/anthropic/v1/messages",
      claudeBody("claude-sonnet-4-5", 100, "q".repeat(3000)),
    );
    assertEquals(r.status, 200);
    await r.text();
    const u = await gw.waitLog((l) => l.ev === "usage" && l.s === "nu", 10_000);
    // the estimated input (one token per 3 bytes of the body): at least 1,000 tokens
    assert(u.usage!.input >= 1000 && u.costUsd! > 0, JSON.stringify(u));
  } finally {
    await gw.close();
    ac.abort();
  }
});
