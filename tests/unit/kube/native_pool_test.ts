import http from "node:http";
import type { Socket } from "node:net";
import { assert, assertEquals } from "@kodama/test-assert";
import { dropIdleSockets, nativeClient, POOL_IDLE_MS } from "../../../src/kube/native.ts";

// CI run of stop 75: a DELETE sent on a kept-alive connection just as the test server (Node's http server,
// 5 s keep-alive) closed it failed with "peer closed connection". The client must drop an idle connection
// before any server does, so a request never lands on one being closed.
/** A server that keeps idle connections for 120 s (only the client may close one), and its sockets. */
async function patientServer() {
  // "/slow" answers only after the pool's idle time has passed (a request that holds its connection)
  const srv = http.createServer((req, res) => {
    if (req.url === "/slow") setTimeout(() => res.end("ok"), POOL_IDLE_MS + 500);
    else res.end("ok");
  });
  srv.keepAliveTimeout = 120_000;
  const sockets: Socket[] = [];
  srv.on("connection", (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as { port: number }).port}/`,
    sockets,
    /** ms from now until the first connection closes: the event, or a deadline far past the pool timeout */
    firstClosed: () => {
      const t0 = Date.now();
      return new Promise<number>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error("the idle connection was never closed")), 15_000);
        sockets[0].once("close", () => {
          clearTimeout(deadline);
          resolve(Date.now() - t0);
        });
      });
    },
    async close() {
      await new Promise((r) => srv.close(r));
      for (const s of sockets) s.destroy();
    },
  };
}

function assertPromptly(idle: number) {
  assert(idle >= POOL_IDLE_MS - 200 && idle < 5_000, `closed after ${idle} ms`);
  assert(POOL_IDLE_MS <= 2_500, "well inside Node's 5 s keep-alive");
}

Deno.test("native client: an idle kept-alive connection is closed by the client, well before a server's 5 s", async () => {
  const srv = await patientServer();
  const client = nativeClient();
  try {
    assertEquals(await (await fetch(srv.url, { client })).text(), "ok");
    assertPromptly(await srv.firstClosed());
    // the next request opens a new connection and succeeds
    assertEquals(await (await fetch(srv.url, { client, method: "DELETE" })).text(), "ok");
    assertEquals(srv.sockets.length, 2);
  } finally {
    await srv.close();
  }
});

Deno.test("node agent: a free socket is destroyed after the same idle time; one in use is not", async () => {
  const srv = await patientServer();
  const agent = dropIdleSockets(new http.Agent({ keepAlive: true }));
  const call = (method = "GET", path = "") =>
    new Promise<string>((resolve, reject) => {
      const req = http.request(srv.url + path, { method, agent }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end();
    });
  try {
    assertEquals(await call(), "ok");
    // reused at once, and held past the first free's timer: not cut off, still one connection
    assertEquals(await call("GET", "slow"), "ok");
    assertEquals(srv.sockets.length, 1);
    assertPromptly(await srv.firstClosed());
    assertEquals(await call("DELETE"), "ok");
    assertEquals(srv.sockets.length, 2);
  } finally {
    agent.destroy();
    await srv.close();
  }
});
