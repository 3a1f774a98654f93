/**
 * A session's gateway token, black-box on the test server (issue 79, defect 2): `resume` gives a session
 * whose token has expired a new one, in every variable of its env Secret; `delete` writes the session's
 * revocation into the gateway's config (what the running gateway re-reads), and a later `start` of the same
 * name gets a token the revocation does not hold.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, type SessionWorld, withSessionWorld } from "./_session.ts";
import { mintToken, verifyToken } from "../../src/agent/gateway/gatewaytoken.ts";

const KEY = "sk-ant-api03-gatewaytokenstest-0123456789abcdefWXYZ";
const env = { ANTHROPIC_API_KEY: KEY };

async function secretData(w: SessionWorld, name: string): Promise<Record<string, string>> {
  const r = await w.kc(["get", "secret", name, "-o", "json"]);
  assertEquals(r.code, 0, r.stderr);
  const data = JSON.parse(r.stdout).data ?? {};
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, new TextDecoder().decode(Uint8Array.fromBase64(v as string))]),
  );
}

const gatewayConfig = async (w: SessionWorld) =>
  JSON.parse((await secretData(w, "kodama-gateway"))["config.json"]);

withSessionWorld(
  "gateway tokens: resume renews an expired token, delete revokes it, a new start is not held",
  {},
  async (_t, w) => {
    const made = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
    assertEquals(made.code, 0, made.stderr);
    const key = (await gatewayConfig(w)).signingKey as string;
    try {
      const s = await w.k(["start", "tk1", "--no-sync", "--image", SESSION_IMAGE], { env });
      assertEquals(s.code, 0, s.stderr);
      const first = (await secretData(w, "kodama-env-tk1")).ANTHROPIC_API_KEY;
      const c1 = verifyToken(key, first)!;
      assert(c1.exp - c1.iat === 7 * 86400, JSON.stringify(c1));

      // the session was stopped for more than its token's life: its Secret holds an expired token
      assertEquals((await w.k(["stop", "tk1"])).code, 0);
      const now = Math.floor(Date.now() / 1000);
      const expired = mintToken(key, { ...c1, iat: now - 8 * 86400, exp: now - 86400 });
      const data = await secretData(w, "kodama-env-tk1");
      const patch = Object.fromEntries(
        Object.entries(data).filter(([, v]) => v.includes(first)).map((
          [k, v],
        ) => [k, v.replaceAll(first, expired)]),
      );
      assert(Object.keys(patch).length >= 3, Object.keys(patch).join(","));
      const p = await w.kc([
        "patch",
        "secret",
        "kodama-env-tk1",
        "--type",
        "merge",
        "-p",
        JSON.stringify({ stringData: patch }),
      ]);
      assertEquals(p.code, 0, p.stderr);

      const before = Math.floor(Date.now() / 1000);
      const r = await w.k(["resume", "tk1"]);
      assertEquals(r.code, 0, r.stderr);
      const after = await secretData(w, "kodama-env-tk1");
      const renewed = after.ANTHROPIC_API_KEY;
      const c2 = verifyToken(key, renewed)!;
      assert(c2.exp >= before + 7 * 86400, `not renewed: exp ${c2.exp}`);
      assertEquals({ ...c2, iat: 0, exp: 0 }, { ...c1, iat: 0, exp: 0 });
      // in every variable that held it (the proxy URL, git's header): none keeps the expired one
      assert(!Object.values(after).some((v) => v.includes(expired)), "the expired token is left");
      assertStringIncludes(after.HTTPS_PROXY, renewed);
      const get = await w.k(["session", "get", "tk1"]);
      assertStringIncludes(get.stdout, `token …${renewed.slice(-4)}`);

      // delete: the gateway's config revokes tk1's tokens issued until now
      const d = await w.k(["delete", "tk1", "--force"]);
      assertEquals(d.code, 0, d.stderr);
      assertStringIncludes(d.stderr, "its gateway token");
      const revoked = (await gatewayConfig(w)).revoked as { s: string; before: number }[];
      const entry = revoked.find((e) => e.s === "tk1")!;
      assert(entry && entry.before > c2.iat, JSON.stringify(revoked));

      // a new session of the same name: its token is issued at or after the revocation
      const again = await w.k(["start", "tk1", "--no-sync", "--image", SESSION_IMAGE], { env });
      assertEquals(again.code, 0, again.stderr);
      const c3 = verifyToken(key, (await secretData(w, "kodama-env-tk1")).ANTHROPIC_API_KEY)!;
      assert(c3.iat >= entry.before, `${c3.iat} < ${entry.before}`);
    } finally {
      await purge(w, "tk1");
      await w.k(["gateway", "delete"]);
    }
  },
);

withSessionWorld(
  "gateway tokens: delete --purge and delete --group revoke every session's tokens",
  {},
  async (_t, w) => {
    const made = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
    assertEquals(made.code, 0, made.stderr);
    const key = (await gatewayConfig(w)).signingKey as string;
    try {
      const s = await w.k(["start", "tk2", "--no-sync", "--image", SESSION_IMAGE], { env });
      assertEquals(s.code, 0, s.stderr);
      const c = verifyToken(key, (await secretData(w, "kodama-env-tk2")).ANTHROPIC_API_KEY)!;
      const d = await w.k(["delete", "tk2", "--force", "--purge"]);
      assertEquals(d.code, 0, d.stderr);
      const revoked = (await gatewayConfig(w)).revoked as { s: string; before: number }[];
      assert(revoked.some((e) => e.s === "tk2" && e.before > c.iat), JSON.stringify(revoked));
      // a group's replicas, each revoked
      const g = await w.k(["start", "grp", "--replicas", "2", "--no-sync", "--image", SESSION_IMAGE], {
        env,
      });
      assertEquals(g.code, 0, g.stderr);
      const dg = await w.k(["delete", "grp", "--group", "--force"]);
      assertEquals(dg.code, 0, dg.stderr);
      const names = ((await gatewayConfig(w)).revoked as { s: string }[]).map((e) => e.s).sort();
      assertEquals(names, ["grp-1", "grp-2", "tk2"]);
    } finally {
      for (const n of ["tk2", "grp-1", "grp-2"]) await purge(w, n);
      await w.k(["gateway", "delete"]);
    }
  },
);
