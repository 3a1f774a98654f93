/**
 * agent keys (src/agent/credentials/keys.ts, src/base/platform.ts's keychainCommand): the command each OS gets, with the
 * secret on stdin and never in argv; the 0600 file when there is no keychain; wrong keys named.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import type { KodamaError } from "../../../src/base/errors.ts";
import { keychainCommand, platformFor } from "../../../src/base/platform.ts";
import {
  getKey,
  type KeyStoreDeps,
  listKeys,
  maskKey,
  providerOfKey,
  removeKey,
  setKey,
  storedVar,
  wrongKeyProblem,
} from "../../../src/agent/credentials/keys.ts";

const SECRET = "sk-ant-api03-SECRETSECRET-7781";
const item = { service: "kodama", account: "anthropic" };

Deno.test("keychain: each OS's command; the secret only ever on stdin", () => {
  const mac = keychainCommand(platformFor("darwin"), "set", item, SECRET);
  assertEquals(mac.argv, ["security", "-i"]);
  assert(mac.stdin.startsWith(`add-generic-password -U -s "kodama" -a "anthropic" -w "${SECRET}"`));
  assertEquals(keychainCommand(platformFor("darwin"), "get", item).argv, [
    "security",
    "find-generic-password",
    "-s",
    "kodama",
    "-a",
    "anthropic",
    "-w",
  ]);
  const linux = keychainCommand(platformFor("linux"), "set", item, SECRET);
  assertEquals(linux.argv, [
    "secret-tool",
    "store",
    "--label=kodama anthropic",
    "service",
    "kodama",
    "account",
    "anthropic",
  ]);
  assertEquals(linux.stdin, SECRET);
  assertEquals(keychainCommand(platformFor("linux"), "get", item).argv.slice(0, 2), [
    "secret-tool",
    "lookup",
  ]);
  assertEquals(keychainCommand(platformFor("linux"), "rm", item).argv.slice(0, 2), ["secret-tool", "clear"]);
  const win = keychainCommand(platformFor("windows"), "set", item, SECRET);
  assertEquals(win.argv, ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", "-"]);
  assert(win.stdin.includes("PasswordVault") && win.stdin.includes(SECRET));
  assert(keychainCommand(platformFor("windows"), "get", item).stdin.includes("RetrievePassword"));
  for (const os of ["darwin", "linux", "windows"]) {
    for (const op of ["set", "get", "rm"] as const) {
      const c = keychainCommand(platformFor(os), op, item, SECRET);
      assert(!c.argv.some((a) => a.includes(SECRET)), `${os} ${op}: ${c.argv.join(" ")}`);
    }
  }
});

Deno.test("keys: which provider a key is from; the wrong variable named; a masked suffix", () => {
  assertEquals(providerOfKey("sk-ant-x"), "anthropic");
  assertEquals(providerOfKey("sk-proj-x"), "openai");
  assertEquals(providerOfKey("sk-x"), "openai");
  assertEquals(providerOfKey("AIzaSy"), "gemini");
  assertEquals(providerOfKey("opaque"), undefined);
  assertEquals(
    wrongKeyProblem("ANTHROPIC_API_KEY", "sk-proj-1"),
    "this is an OpenAI key in ANTHROPIC_API_KEY (it belongs in OPENAI_API_KEY)",
  );
  assertEquals(
    wrongKeyProblem("OPENAI_API_KEY", "sk-ant-1"),
    "this is an Anthropic key in OPENAI_API_KEY (it belongs in ANTHROPIC_API_KEY)",
  );
  assertEquals(wrongKeyProblem("GEMINI_API_KEY", "AIza1"), undefined);
  assertEquals(wrongKeyProblem("SOMETHING", "sk-ant-1"), undefined);
  assertEquals(maskKey(SECRET), "…7781");
  assertEquals(maskKey("short"), "…");
});

async function deps(
  os: string,
  keychain: "works" | "absent" | "fails",
): Promise<KeyStoreDeps & { calls: { argv: string[]; stdin: string }[] }> {
  const home = await Deno.makeTempDir();
  const calls: { argv: string[]; stdin: string }[] = [];
  const vault = new Map<string, string>();
  return {
    platform: platformFor(os),
    home,
    calls,
    run: (c) => {
      calls.push(c);
      if (keychain === "absent") return Promise.resolve(undefined);
      if (keychain === "fails") return Promise.resolve({ code: 1, stdout: "" });
      if (c.stdin.includes(SECRET)) vault.set("k", SECRET);
      const get = c.argv.includes("lookup") || c.argv.includes("find-generic-password") ||
        c.stdin.includes("RetrievePassword");
      return Promise.resolve({ code: 0, stdout: get ? `${vault.get("k") ?? ""}\n` : "" });
    },
  };
}

Deno.test("keys: in the keychain where there is one; the file keeps only the index", async () => {
  for (const os of ["darwin", "linux", "windows"]) {
    const d = await deps(os, "works");
    const e = await setKey(d, "anthropic", `  ${SECRET}\n`);
    assertEquals(e.store, "keychain");
    const file = await Deno.readTextFile(`${d.home}/keys.json`);
    assert(!file.includes(SECRET), file);
    assertEquals(await getKey(d, "anthropic"), SECRET);
    assertEquals(await storedVar(d, "ANTHROPIC_API_KEY"), SECRET);
    assertEquals((await listKeys(d)).map((k) => [k.provider, k.suffix, k.store]), [[
      "anthropic",
      "…7781",
      "keychain",
    ]]);
    assert(await removeKey(d, "anthropic"));
    assert(
      d.calls.at(-1)!.argv.includes("clear") || d.calls.at(-1)!.argv.includes("delete-generic-password") ||
        d.calls.at(-1)!.stdin.includes("Remove"),
    );
    assertEquals(await removeKey(d, "anthropic"), false);
    await Deno.remove(d.home, { recursive: true });
  }
});

Deno.test("keys: no keychain (or a refusing one): a 0600 file under KODAMA_HOME, never config.yaml", async () => {
  for (const mode of ["absent", "fails"] as const) {
    const d = await deps("linux", mode);
    assertEquals((await setKey(d, "openai", "sk-proj-abcdefgh1234")).store, "file");
    assertEquals((await Deno.stat(`${d.home}/keys.json`)).mode! & 0o777, 0o600);
    assertEquals(await getKey(d, "openai"), "sk-proj-abcdefgh1234");
    await assertRejects(() => Deno.stat(`${d.home}/config.yaml`));
    await Deno.remove(d.home, { recursive: true });
  }
  const f = await deps("darwin", "works");
  assertEquals((await setKey({ ...f, prefer: "file" }, "gemini", "AIzaSyABCDEFG")).store, "file");
  assertEquals(f.calls.length, 0);
  // refused: another provider's key, an empty one, one with quotes (it would break out of a keychain literal)
  for (const bad of ["sk-proj-1234567890", "", `sk-ant-x" -w "y`]) {
    const e = await assertRejects(() => setKey(f, "anthropic", bad)) as KodamaError;
    assertEquals(e.code, 2, e.message);
  }
  await Deno.remove(f.home, { recursive: true });
});

Deno.test("rotate: pod/rotate.sh writes the key (stdin) 0600; pod/envload.sh puts it over the container's env", async () => {
  const home = await Deno.makeTempDir();
  try {
    const { ENVLOAD_ARGV } = await import("../../../src/agent/presets/presets.ts");
    const ROTATE = await Deno.readTextFile(new URL("../../../src/agent/pod/rotate.sh", import.meta.url));
    const sh = async (args: string[], env: Record<string, string>, stdin = "") => {
      const p = new Deno.Command(args[0], {
        args: args.slice(1),
        env: { HOME: home, ...env },
        stdin: "piped",
        stdout: "piped",
      })
        .spawn();
      // a command that does not read its stdin (an echo, a refused name) may have ended before the write: a
      // broken pipe then is no failure (it failed this test once at five files side by side)
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin)).catch(() => {});
      await w.close().catch(() => {});
      const o = await p.output();
      return { code: o.code, out: new TextDecoder().decode(o.stdout) };
    };
    const echo = ["sh", "-c", 'echo "key=$ANTHROPIC_API_KEY"'];
    // nothing rotated yet: the container's own value
    assertEquals((await sh([...ENVLOAD_ARGV, ...echo], { ANTHROPIC_API_KEY: "old" })).out, "key=old\n");
    assertEquals((await sh(["sh", "-c", ROTATE, "kodama-rotate", "ANTHROPIC_API_KEY"], {}, SECRET)).code, 0);
    assertEquals((await Deno.stat(`${home}/.kodama/env/ANTHROPIC_API_KEY`)).mode! & 0o777, 0o600);
    assertEquals((await sh([...ENVLOAD_ARGV, ...echo], { ANTHROPIC_API_KEY: "old" })).out, `key=${SECRET}\n`);
    // a name that is no variable is refused; a stray file of that kind is never exported
    assertEquals((await sh(["sh", "-c", ROTATE, "kodama-rotate", "BAD-NAME"], {}, "x")).code, 2);
    await Deno.writeTextFile(`${home}/.kodama/env/x;y`, "z");
    assertEquals((await sh([...ENVLOAD_ARGV, ...echo], {})).out, `key=${SECRET}\n`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
