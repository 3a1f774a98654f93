/**
 * Issue 84 point 6: a key changed with `kodama gateway ensure` is in use for the very next request. The
 * gateway reads its key from a mounted Secret, which reaches a running pod only after the kubelet's sync (on
 * the test server: never), so ensure restarts the pod and says so. The stand-in refuses any key but the one
 * it knows with a 401, as the real API does; `gateway status` shows the key id the running gateway logged.
 * Both directions are tried (old → new, and back), so neither a first-ensure accident nor a cached pod passes.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { keyFingerprint } from "../../src/agent/gateway/config.ts";

const OLD = "sk-ant-api03-oldkey-revoked-by-the-user-1111";
const NEW = "sk-ant-api03-newkey-the-api-accepts-now-2222";

withSessionWorld(
  "gateway: a key changed by ensure is used for the next request, and status shows its key id",
  { ignore: onRealCluster, timeoutMs: 6 * 60_000 },
  async (t, w) => {
    // the API's keys: read at each request, changed while it runs (the user revoked one, made another)
    const accepted = [NEW];
    const api = await startStandIn([], { gate: { keys: accepted } });
    const env = (key: string) => ({ ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: api.url });
    const probe = `fetch(process.env.ANTHROPIC_BASE_URL + "/v1/messages", { method: "POST", ` +
      `headers: { "content-type": "application/json", "x-api-key": process.env.ANTHROPIC_API_KEY }, ` +
      `body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }) })` +
      `.then((r) => console.log("status " + r.status), (e) => console.log("error " + (e.cause?.code ?? e)))`;
    const send = async () => {
      const r = await w.kc(["exec", await podOf(w, "ks"), "-c", "session", "--", "node", "-e", probe]);
      return /status (\d+)/.exec(r.stdout)?.[1] ?? r.stdout + r.stderr;
    };
    const status = async () => {
      const r = await w.k(["gateway", "status", "-o", "json"]);
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as {
        keys: { provider: string; keyId: string }[];
        keysInUse: { provider: string; keyId: string }[] | null;
      };
    };
    try {
      await t.step("ensure with the old key; the API refuses it (401)", async () => {
        const r = await w.k(["gateway", "ensure", "--timeout", "90s"], { env: env(OLD) });
        assertEquals(r.code, 0, r.stderr);
        const s = await w.k(["start", "ks", "--no-sync", "--image", SESSION_IMAGE], { env: env(OLD) });
        assertEquals(s.code, 0, s.stderr);
        assertEquals(await send(), "401");
        const st = await status();
        assertEquals(st.keysInUse?.map((k) => k.keyId), [await keyFingerprint(OLD)]);
      });

      await t.step("ensure with the new key: said, and the very next request carries it", async () => {
        const r = await w.k(["gateway", "ensure", "--timeout", "90s"], { env: env(NEW) });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "the keys changed: the gateway pod restarts to apply them");
        assertStringIncludes(r.stderr, `(key id ${await keyFingerprint(NEW)})`);
        assert(!r.stderr.includes(NEW) && !r.stdout.includes(NEW), "ensure printed the key");
        const before = api.answered(200);
        assertEquals(await send(), "200");
        assertEquals(api.answered(200), before + 1);
        const st = await status();
        assertEquals(st.keys.map((k) => k.keyId), [await keyFingerprint(NEW)]);
        assertEquals(st.keysInUse?.map((k) => k.keyId), [await keyFingerprint(NEW)]);
        const text = await w.k(["gateway", "status"]);
        assertMatch(
          text.stdout,
          new RegExp(`anthropic a1 …2222 \\(key id ${await keyFingerprint(NEW)}, in use\\)`),
        );
        assert(!text.stdout.includes(NEW), "status printed the key");
      });

      await t.step("and back: the API now takes only the old key again", async () => {
        accepted.splice(0, 1, OLD);
        assertEquals(await send(), "401");
        const r = await w.k(["gateway", "ensure", "--timeout", "90s"], { env: env(OLD) });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "the keys changed");
        assertEquals(await send(), "200");
        assertEquals((await status()).keysInUse?.map((k) => k.keyId), [await keyFingerprint(OLD)]);
        // the same keys again: nothing restarts
        const same = await w.k(["gateway", "ensure", "--timeout", "90s"], { env: env(OLD) });
        assertEquals(same.code, 0, same.stderr);
        assertStringIncludes(same.stderr, "statefulset kept");
        assert(!same.stderr.includes("the keys changed"), same.stderr);
      });
    } finally {
      await purge(w, "ks");
      await w.k(["gateway", "delete"]);
      await api.close();
    }
  },
);
