/**
 * `kodama ui` as a command, without a browser: bad input is one line with exit 2, a port in use is said
 * plainly, Ctrl-C ends it with 0, `--address` warns, a wildcard address still needs the token and an
 * Origin that matches the Host; the pure checks of src/web/server.ts.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { readUntil, withSessionWorld } from "./_session.ts";
import { allowedHosts, sameSecret } from "../../src/web/server.ts";
import { withoutUserinfo } from "../../src/session/state/live.ts";

Deno.test("ui: the hosts a server answers to, constant-time token compare, user-info never shown", () => {
  assertEquals(
    [...allowedHosts("127.0.0.1", 8484)].sort(),
    ["127.0.0.1:8484", "[::1]:8484", "localhost:8484"],
  );
  assert(allowedHosts("192.168.1.5", 80).has("192.168.1.5:80"));
  assert(allowedHosts("::1", 9).has("[::1]:9"));
  assert(sameSecret("abc", "abc") && !sameSecret("abc", "abd") && !sameSecret("abc", "abcd"));
  assertEquals(
    withoutUserinfo("https://x-access-token:ghp_123@github.com/a/b.git"),
    "https://github.com/a/b.git",
  );
  assertEquals(withoutUserinfo("git@github.com:a/b.git"), "git@github.com:a/b.git");
});

withSessionWorld("ui: errors in one line, --address warns, Ctrl-C ends it with 0", {
  ignore: onRealCluster,
  timeoutMs: 120_000,
}, async (t, w) => {
  await t.step("a bad --port is a usage error", async () => {
    for (const p of ["abc", "70000", "-1"]) {
      const r = await w.k(["ui", "--port", p]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /--port: not a port number/);
      assert(!hasStackTrace(r.stderr));
    }
  });

  await t.step("a port in use: exit 2, one line naming --port", async () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const r = await w.k(["ui", "--port", String((l.addr as Deno.NetAddr).port)]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /port \d+ is in use/);
      assert(!hasStackTrace(r.stderr));
    } finally {
      l.close();
    }
  });

  await t.step(
    "--address 0.0.0.0: a warning; any Host with the token, a foreign Origin still refused",
    async () => {
      const ui = w.spawn(["ui", "--address", "0.0.0.0"]);
      try {
        const { text, rest } = await readUntil(ui.stdout, /\n/);
        rest.releaseLock();
        const url = new URL(text.trim());
        const port = url.port;
        const login = await fetch(`http://127.0.0.1:${port}/?token=${url.searchParams.get("token")}`);
        assertEquals(login.status, 200);
        const session = /<meta name="kodama-session" content="([0-9a-f]+)">/.exec(await login.text())?.[1];
        assert(session, "the page opened with the token carries a session credential");
        assert(!login.headers.has("set-cookie"), "no cookie: browsers send cookies to every port");
        const authorization = `Bearer ${session}`;
        // reached by another name (as another machine would): the credential still decides
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
        await conn.write(
          new TextEncoder().encode(
            `GET /api/info HTTP/1.1\r\nHost: devbox.lan:${port}\r\nAuthorization: ${authorization}\r\n\r\n`,
          ),
        );
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf);
        conn.close();
        assertMatch(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
        const foreign = await fetch(`http://127.0.0.1:${port}/api/info`, {
          headers: { authorization, origin: "http://evil.example" },
        });
        assertEquals(foreign.status, 403);
        await foreign.body?.cancel();
        const none = await fetch(`http://127.0.0.1:${port}/api/info`);
        assertEquals(none.status, 401);
        await none.body?.cancel();
      } finally {
        ui.kill("SIGINT");
        const st = await ui.status;
        assertEquals(st.code, 0);
        const err = new TextDecoder().decode((await new Response(ui.stderr).arrayBuffer()) as ArrayBuffer);
        assertMatch(err, /warning: listening on 0\.0\.0\.0/);
      }
    },
  );
});
