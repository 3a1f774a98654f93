/**
 * The gateway's key ids (issue 84 point 6): the laptop's (config.ts) and the pod program's (gateway.js) are one
 * function, so `gateway status` can match the Secret's key to the one the running gateway logged; an id
 * shows nothing of the key; `keysInUseOf` reads the last `config loaded` line only.
 */
import { assert, assertEquals, assertNotEquals } from "@kodama/test-assert";
import { createRequire } from "node:module";
import { keyFingerprint, keySetOf } from "../../../src/agent/gateway/config.ts";
import { keysInUseOf } from "../../../src/agent/gateway/commands.ts";

const gw = createRequire(import.meta.url)("../../../src/agent/pod/gateway.js");

Deno.test("key id: the pod program's and the laptop's agree, 8 hex digits, none of the key", async () => {
  for (const k of ["sk-ant-api03-abc-1111", "sk-proj-x", "ghp_0123456789", "é ünïcode key", ""]) {
    const id = await keyFingerprint(k);
    assertEquals(gw.keyFingerprint(k), id, k);
    assert(/^[0-9a-f]{8}$/.test(id), id);
    if (k.length > 4) assert(!k.includes(id) && !id.includes(k.slice(-4)), id);
  }
  assertNotEquals(await keyFingerprint("a"), await keyFingerprint("b"));
});

Deno.test("key set: a changed key or upstream changes it; the same config does not", async () => {
  const cfg = (value: string, upstream = "https://api.anthropic.com") => ({
    signingKey: "k",
    revoked: [],
    providers: { anthropic: { upstream, keys: [{ id: "a1", header: "x-api-key", value }] } },
  });
  assertEquals(await keySetOf(cfg("one")), await keySetOf(cfg("one")));
  assertNotEquals(await keySetOf(cfg("one")), await keySetOf(cfg("two")));
  assertNotEquals(await keySetOf(cfg("one")), await keySetOf(cfg("one", "https://proxy.example.com")));
  assert(!(await keySetOf(cfg("sk-secret-value"))).includes("sk-secret"));
});

Deno.test("keys in use: the gateway's last loaded config, null when it logged none", () => {
  const k = (keyId: string) => ({ provider: "anthropic", id: "a1", keyId });
  assertEquals(
    keysInUseOf([
      { ev: "config", status: "loaded", keys: [k("11111111")] },
      { ev: "req", s: "x" },
      { ev: "config", status: "loaded", keys: [k("22222222"), { provider: 1 }] },
      { ev: "config", status: "listening" },
    ]),
    [k("22222222")],
  );
  assertEquals(keysInUseOf([{ ev: "config", status: "listening" }]), null);
  // a gateway program from before key ids: not known, never guessed from the Secret
  assertEquals(keysInUseOf([{ ev: "config", status: "loaded", providers: ["anthropic"] }]), null);
});
