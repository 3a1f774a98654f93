// Session tokens of kodama's gateway (src/agent/gateway/gatewaytoken.ts): minted by kodama, verified by the gateway.
import { assert, assertEquals } from "@kodama/test-assert";
import {
  adminToken,
  mintToken,
  newSigningKey,
  verifyToken,
} from "../../../src/agent/gateway/gatewaytoken.ts";

const claims = {
  s: "s1",
  g: "grp",
  ns: "dev",
  p: ["anthropic"],
  allow: ["registry.npmjs.org"],
  git: ["github.com"],
  budgetUsd: 2.5,
};

Deno.test("gateway token: what is minted verifies with its key to the same claims", () => {
  const key = newSigningKey();
  const t = mintToken(key, { ...claims, iat: 1700000000 });
  assert(/^kgw1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/.test(t), t);
  assertEquals(verifyToken(key, t), { ...claims, iat: 1700000000, exp: 1700000000 + 7 * 86400 });
});

Deno.test("gateway token: it ends a week after it was issued unless given another end; a revocation's second is not caught", async () => {
  const key = newSigningKey();
  const c = verifyToken(key, mintToken(key, { ...claims, iat: 1700000000, exp: 1700000060 }))!;
  assertEquals([c.iat, c.exp], [1700000000, 1700000060]);
  const { lifetime, TOKEN_LIFETIME_S } = await import("../../../src/agent/gateway/claims.ts");
  assertEquals(TOKEN_LIFETIME_S, 7 * 86400);
  const now = new Date(1700000000_500);
  assertEquals(lifetime(now), { iat: 1700000000, exp: 1700000000 + TOKEN_LIFETIME_S });
  // `delete` revoked the name's tokens before 1700000001: a start in the same second mints at it
  assertEquals(lifetime(now, 1700000001).iat, 1700000001);
});

Deno.test("gateway token: another key, a changed payload or mac, garbage: refused", () => {
  const key = newSigningKey();
  const t = mintToken(key, claims);
  assertEquals(verifyToken(newSigningKey(), t), undefined);
  const [p, payload, mac] = t.split(".");
  const other = btoa(JSON.stringify({ ...claims, budgetUsd: null })).replace(/=+$/, "");
  assertEquals(verifyToken(key, `${p}.${other}.${mac}`), undefined);
  assertEquals(verifyToken(key, `${p}.${payload}.${mac.slice(0, -2)}AA`), undefined);
  for (const g of ["", "kgw1", "kgw1..", "kgw2.a.b", "x.y.z", t + ".x"]) {
    assertEquals(verifyToken(key, g), undefined);
  }
});

Deno.test("gateway token: the admin token is the key's mac of 'admin'", () => {
  const key = newSigningKey();
  assert(adminToken(key).startsWith("kgwadmin."));
  assertEquals(adminToken(key), adminToken(key));
  assert(adminToken(key) !== adminToken(newSigningKey()));
});

Deno.test("gateway revocations: one entry per name (the latest), a name's plain entry kept, spent entries dropped", async () => {
  const { withRevoked, revokedBefore, TOKEN_LIFETIME_S } = await import(
    "../../../src/session/spec/gateway.ts"
  );
  const now = 1_800_000_000;
  const list = [
    "legacy",
    { s: "a", before: now - 10 },
    { s: "old", before: now - TOKEN_LIFETIME_S - 1 }, // every token it revoked has expired
    { s: "b", before: now - 5 },
    { junk: true },
  ];
  const out = withRevoked(list, "a", now + 1, now);
  assertEquals(out, ["legacy", { s: "b", before: now - 5 }, { s: "a", before: now + 1 }]);
  assertEquals(revokedBefore(out, "a"), now + 1);
  assertEquals(revokedBefore(out, "legacy"), Infinity);
  assertEquals(revokedBefore(out, "c"), undefined);
  // a later delete never moves a name's revocation back
  assertEquals(withRevoked([{ s: "a", before: now + 50 }], "a", now + 1, now), [{
    s: "a",
    before: now + 50,
  }]);
  // a name revoked whole stays so
  assertEquals(withRevoked(["a"], "a", now + 1, now), ["a"]);
});
