import http from "node:http";
import type { Socket } from "node:net";
import { assert, assertEquals } from "@kodama/test-assert";
import { nativeClient, POOL_IDLE_MS } from "../../../src/kube/native.ts";

// CI run of stop 75: a DELETE sent on a kept-alive connection just as the test server (Node's http server,
// 5 s keep-alive) closed it failed with "peer closed connection". The client must drop an idle connection
// before any server does, so a request never lands on one being closed.
Deno.test("native client: an idle kept-alive connection is closed by the client, well before a server's 5 s", async () => {
  const srv = http.createServer((_req, res) => res.end("ok"));
  srv.keepAliveTimeout = 120_000; // only the client may close it in this test
  const sockets: Socket[] = [];
  const closed: number[] = [];
  srv.on("connection", (s: Socket) => {
    const i = sockets.push(s) - 1;
    s.on("close", () => closed.push(i));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/`;
  const client = nativeClient();
  try {
    assertEquals(await (await fetch(url, { client })).text(), "ok");
    const t0 = Date.now();
    // the event, or a deadline far past the pool timeout (the server alone would keep it for 120 s)
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error("the idle connection was never closed")), 15_000);
      sockets[0].once("close", () => {
        clearTimeout(deadline);
        resolve();
      });
    });
    const idle = Date.now() - t0;
    assert(idle >= POOL_IDLE_MS - 200 && idle < 5_000, `closed after ${idle} ms`);
    assert(POOL_IDLE_MS <= 2_500, "well inside Node's 5 s keep-alive");
    // the next request opens a new connection and succeeds
    assertEquals(await (await fetch(url, { client, method: "DELETE" })).text(), "ok");
    assertEquals(sockets.length, 2);
  } finally {
    await new Promise((r) => srv.close(r));
    for (const s of sockets) s.destroy();
  }
});
