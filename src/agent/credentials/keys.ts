/**
 * `kodama agent keys`: the model APIs' keys kept on this machine, not pasted. A key is stored in the OS
 * keychain where there is one (src/base/platform.ts's keychainCommand: the macOS Keychain, the Secret Service,
 * the Windows Credential Manager; the secret on the tool's stdin, never in its arguments), else in
 * `$KODAMA_HOME/keys.json` (mode 0600, written atomically); never in config.yaml. That file also indexes
 * the stored keys (provider, variable, store, a masked suffix), so `list` asks no keychain.
 * `KODAMA_KEYS_STORE=file` chooses the file.
 *
 * A preset reads a stored key like a local variable of its name, below the env files and the environment.
 */
import { join } from "../../base/fs/fspath.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import {
  hostPlatform,
  KEYCHAIN_SECRET_RE,
  keychainCommand,
  type KeychainOp,
  type Platform,
} from "../../base/platform.ts";
import { quote } from "../../base/text/escape.ts";
import { PROVIDER_NAMES, PROVIDERS as MODEL_PROVIDERS } from "./providers.ts";

/** What `agent keys` keeps: the model APIs' keys (./providers.ts) and a GitHub token for door git. */
export const PROVIDERS = [...PROVIDER_NAMES, "github"] as const;
export type Provider = typeof PROVIDERS[number];

const GITHUB = {
  word: "a GitHub",
  keyVar: "GITHUB_TOKEN",
  keys: [{ variable: "GITHUB_TOKEN" }],
  keyPattern: /^(ghp_|gho_|ghs_|ghu_|github_pat_)/,
};
const spec = (p: Provider) => p === "github" ? GITHUB : MODEL_PROVIDERS[p];

/** The variable each provider's key is read as (a preset's first credential variable). */
export const PROVIDER_VAR = Object.fromEntries(PROVIDERS.map((p) => [p, spec(p).keyVar])) as Record<
  Provider,
  string
>;

/** The variables whose keys belong to a provider (a key of another provider in one of them is named). */
export const VAR_PROVIDER: Record<string, Provider> = Object.fromEntries(
  PROVIDERS.flatMap((p) => spec(p).keys.map((k) => [k.variable, p])),
);

/** Which provider a key's prefix says it is from (undefined: no telling). */
export function providerOfKey(key: string): Provider | undefined {
  return PROVIDERS.find((p) => spec(p).keyPattern.test(key));
}

/** `this is an OpenAI key in ANTHROPIC_API_KEY`, when the key's prefix names another provider. */
export function wrongKeyProblem(variable: string, key: string): string | undefined {
  const want = VAR_PROVIDER[variable];
  const got = providerOfKey(key.trim());
  if (!want || !got || want === got) return undefined;
  return `this is ${spec(got).word} key in ${variable} (it belongs in ${PROVIDER_VAR[got]})`;
}

/** `…a1b2`: the last four characters only. */
export function maskKey(key: string): string {
  return key.length <= 8 ? "…" : `…${key.slice(-4)}`;
}

export function checkProvider(p: string): Provider {
  if ((PROVIDERS as readonly string[]).includes(p)) return p as Provider;
  throw usageError(`unknown provider ${quote(p)}`, `the providers are ${PROVIDERS.join(", ")}`);
}

export interface KeyEntry {
  variable: string;
  store: "keychain" | "file";
  suffix: string;
  setAt: string;
  /** the key itself, only when store is file */
  key?: string;
}

type Index = Partial<Record<Provider, KeyEntry>>;

/** What the store needs from the machine (tests inject another OS and a recording runner). */
export interface KeyStoreDeps {
  platform: Platform;
  /** kodama's home directory ($KODAMA_HOME) */
  home: string;
  /** run a keychain command; undefined when its tool is not there */
  run: (c: { argv: string[]; stdin: string }) => Promise<{ code: number; stdout: string } | undefined>;
  /** `KODAMA_KEYS_STORE` */
  prefer?: string;
}

const SERVICE = "kodama";

/** Run a local command with its stdin (the secret goes there, never in argv). */
export async function runLocal(c: { argv: string[]; stdin: string }) {
  try {
    const p = new Deno.Command(c.argv[0], {
      args: c.argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(c.stdin)).catch(() => {});
    await w.close().catch(() => {});
    const o = await p.output();
    return { code: o.code, stdout: new TextDecoder().decode(o.stdout) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

export async function defaultDeps(): Promise<KeyStoreDeps> {
  const { kodamaHome } = await import("../../config/paths.ts");
  return {
    platform: hostPlatform(),
    home: kodamaHome(),
    run: runLocal,
    prefer: Deno.env.get("KODAMA_KEYS_STORE"),
  };
}

export const keysFile = (d: KeyStoreDeps) => join(d.home, "keys.json");

async function readIndex(d: KeyStoreDeps): Promise<Index> {
  try {
    const v = JSON.parse(await Deno.readTextFile(keysFile(d)));
    return v && typeof v === "object" ? v as Index : {};
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    if (e instanceof SyntaxError) {
      throw new KodamaError(
        `${keysFile(d)} is not valid JSON`,
        ExitCode.USAGE,
        "remove it and set the keys again",
      );
    }
    throw e;
  }
}

async function writeIndex(d: KeyStoreDeps, index: Index): Promise<void> {
  const { atomicWrite } = await import("../../config/atomic.ts");
  await atomicWrite(keysFile(d), JSON.stringify(index, null, 2) + "\n");
}

async function keychain(d: KeyStoreDeps, op: KeychainOp, p: Provider, secret?: string) {
  return await d.run(keychainCommand(d.platform, op, { service: SERVICE, account: p }, secret));
}

/** Store a key: the keychain when it takes it, else the 0600 file. Returns where it went. */
export async function setKey(d: KeyStoreDeps, p: Provider, key: string): Promise<KeyEntry> {
  key = key.trim();
  if (!key) throw usageError("the key is empty");
  if (!KEYCHAIN_SECRET_RE.test(key)) {
    throw usageError("that is not an API key: it has spaces, quotes or other characters keys never have");
  }
  const wrong = wrongKeyProblem(PROVIDER_VAR[p], key);
  if (wrong) {
    throw usageError(wrong, `store it as its provider's: kodama agent keys set ${providerOfKey(key)}`);
  }
  const { acquireLock } = await import("../../config/atomic.ts");
  await Deno.mkdir(d.home, { recursive: true, mode: 0o700 });
  const release = await acquireLock(keysFile(d));
  try {
    const index = await readIndex(d);
    const useKeychain = d.prefer !== "file" && (await keychain(d, "set", p, key))?.code === 0;
    const entry: KeyEntry = {
      variable: PROVIDER_VAR[p],
      store: useKeychain ? "keychain" : "file",
      suffix: maskKey(key),
      setAt: new Date().toISOString(),
      ...(useKeychain ? {} : { key }),
    };
    index[p] = entry;
    await writeIndex(d, index);
    return entry;
  } finally {
    await release();
  }
}

/** The stored key of a provider (undefined when none). */
export async function getKey(d: KeyStoreDeps, p: Provider): Promise<string | undefined> {
  const e = (await readIndex(d))[p];
  if (!e) return undefined;
  if (e.store === "file") return e.key;
  const r = await keychain(d, "get", p);
  const v = r?.code === 0 ? r.stdout.trim() : "";
  return v || undefined;
}

/** The stored keys, masked. */
export async function listKeys(d: KeyStoreDeps): Promise<(Omit<KeyEntry, "key"> & { provider: Provider })[]> {
  const index = await readIndex(d);
  return PROVIDERS.filter((p) => index[p]).map((p) => {
    const { key: _k, ...rest } = index[p]!;
    return { provider: p, ...rest };
  });
}

/** Remove a provider's key; false when there was none. */
export async function removeKey(d: KeyStoreDeps, p: Provider): Promise<boolean> {
  const { acquireLock } = await import("../../config/atomic.ts");
  const release = await acquireLock(keysFile(d));
  try {
    const index = await readIndex(d);
    const e = index[p];
    if (!e) return false;
    if (e.store === "keychain") await keychain(d, "rm", p);
    delete index[p];
    await writeIndex(d, index);
    return true;
  } finally {
    await release();
  }
}

/** A stored key by its variable's name (a preset's credential variable), for `start` and `agent check`. */
export async function storedVar(d: KeyStoreDeps, variable: string): Promise<string | undefined> {
  const p = PROVIDERS.find((x) => PROVIDER_VAR[x] === variable);
  return p ? await getKey(d, p) : undefined;
}
