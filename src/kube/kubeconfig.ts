/**
 * Reading one kubeconfig file exactly as kubectl reads it (pure: text in, typed entries out).
 *
 * kubectl decodes a kubeconfig with go-yaml v2 (YAML 1.1 scalars) into JSON, then into typed Go structs:
 * - `yes`/`no`/`on`/`off`/`y`/`n` (and their Capitalised/UPPER forms) are booleans; `"no"` (quoted) is a
 *   string, and a string where a boolean belongs is an error — so `insecure-skip-tls-verify: no` is false,
 *   never "truthy";
 * - a plain number, boolean, list or map where a string belongs (`namespace: 123`, `token: yes`) is an
 *   error, while timestamps and `1:30` stay text;
 * - `[]byte` fields (`certificate-authority-data`, `client-*-data`) must be valid base64;
 * - a name defined twice in one list is an error; unknown fields are ignored.
 * Every error names the file and the key (`clusters[0].cluster.insecure-skip-tls-verify`), exit 2.
 * The differential tests (tests/integration/kubeconfig_diff_test.ts) check all of this against kubectl.
 */
import { isAbsolute, resolve } from "../base/fs/fspath.ts";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { readSimpleYaml } from "./kubeyaml.ts";

export interface ClusterEntry {
  name: string;
  server: string;
  caData?: string;
  /** absolute (resolved against the kubeconfig's directory) */
  caFile?: string;
  skipTLSVerify?: boolean;
  proxyUrl?: string;
  tlsServerName?: string;
  disableCompression?: boolean;
  /** the `client.authentication.k8s.io/exec` extension, passed to exec plugins as `spec.cluster.config` */
  execConfig?: unknown;
  /** the file that defined it (for messages) */
  source?: string;
}

/** client.authentication.k8s.io ExecConfig (users[].user.exec). */
export interface ExecPlugin {
  apiVersion: string;
  /** resolved against the kubeconfig's directory when it contains a `/` (client-go's rule) */
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  provideClusterInfo?: boolean;
  installHint?: string;
  /** Never | IfAvailable | Always (IfAvailable when not set) */
  interactiveMode?: string;
}

export interface UserEntry {
  name: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  /** impersonation (`as`, `as-uid`, `as-groups`, `as-user-extra`) */
  as?: string;
  asUid?: string;
  asGroups?: string[];
  asUserExtra?: Record<string, string[]>;
  exec?: ExecPlugin;
  authProvider?: { name: string; config?: Record<string, string> };
  source?: string;
}

export interface ContextEntry {
  name: string;
  cluster: string;
  user: string;
  namespace?: string;
  source?: string;
}

export interface KubeconfigDoc {
  clusters: ClusterEntry[];
  users: UserEntry[];
  contexts: ContextEntry[];
  currentContext: string;
}

/** A plain scalar that go-yaml reads as a number; kept as text, so a message can quote it. */
export class YamlNumber {
  constructor(readonly text: string) {}
}

/**
 * the yaml package, with go-yaml v2's reading of scalars (./kubeconfig_yaml.ts), for the kubeconfigs that
 * ./kubeyaml.ts does not read itself. Loaded only when one of those is met (`withFullYaml`).
 */
let fullYaml: ((text: string) => unknown) | undefined;

/** A kubeconfig needs the yaml package, which is not loaded yet: run the loader through `withFullYaml`. */
export class NeedsFullYaml extends Error {}

/** Load the yaml package now, so that synchronous reads never need it later (tests, a re-read). */
export async function loadFullYaml(): Promise<void> {
  fullYaml ??= (await import("./kubeconfig_yaml.ts")).readYaml;
}

/** Run a synchronous kubeconfig read; if it needs the yaml package, load that and run it again. */
export async function withFullYaml<T>(read: () => T): Promise<T> {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof NeedsFullYaml)) throw e;
    await loadFullYaml();
    return read();
  }
}

// deno-lint-ignore no-explicit-any
type Raw = Record<string, any>;

/** How a value is named in messages: `"maybe"`, `123`, `a list`. */
function shown(v: unknown): string {
  if (v instanceof YamlNumber) return `the number ${v.text}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  if (Array.isArray(v)) return "a list";
  if (v && typeof v === "object") return "a map";
  return JSON.stringify(v);
}

/** Decodes typed fields; every error names `file: key`. */
class Decoder {
  constructor(readonly file: string) {}

  fail(key: string, msg: string, hint?: string): never {
    throw new KodamaError(
      `kubeconfig ${this.file}: ${key}: ${msg}`,
      ExitCode.USAGE,
      hint ?? `fix it, then check with \`kubectl config view --kubeconfig ${this.file}\``,
    );
  }

  str(v: unknown, key: string): string | undefined {
    if (v === null || v === undefined) return undefined;
    if (typeof v === "string") return v;
    return this.fail(key, `${shown(v)} is not a string`, `quote it ("…") if it is meant as text`);
  }

  bool(v: unknown, key: string): boolean | undefined {
    if (v === null || v === undefined) return undefined;
    if (typeof v === "boolean") return v;
    return this.fail(
      key,
      `${shown(v)} is not a boolean`,
      "write true or false, unquoted (kubectl also reads yes/no and on/off)",
    );
  }

  /** base64 text of a `[]byte` field */
  bytes(v: unknown, key: string): string | undefined {
    // Go's base64 decoder skips line breaks, nothing else
    const s = this.str(v, key)?.replace(/[\r\n]/g, "");
    if (s === undefined || s === "") return undefined;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
      return this.fail(key, "is not valid base64", "put the base64 of the PEM file here (base64 -w0 FILE)");
    }
    return s;
  }

  list(v: unknown, key: string): unknown[] {
    if (v === null || v === undefined) return [];
    if (Array.isArray(v)) return v;
    return this.fail(key, `${shown(v)} is not a list`);
  }

  map(v: unknown, key: string): Raw {
    if (v === null || v === undefined) return {};
    if (typeof v === "object" && !Array.isArray(v) && !(v instanceof YamlNumber)) return v as Raw;
    return this.fail(key, `${shown(v)} is not a map`);
  }

  strList(v: unknown, key: string): string[] | undefined {
    if (v === null || v === undefined) return undefined;
    return this.list(v, key).map((x, i) => this.str(x, `${key}[${i}]`) ?? "");
  }

  strMap(v: unknown, key: string): Record<string, string> | undefined {
    if (v === null || v === undefined) return undefined;
    const m = this.map(v, key);
    return Object.fromEntries(Object.entries(m).map(([k, x]) => [k, this.str(x, `${key}.${k}`) ?? ""]));
  }

  /** A named list (`clusters`, `users`, `contexts`): names must be unique within the file. */
  named<T>(
    v: unknown,
    key: string,
    inner: string,
    fn: (body: Raw, at: string) => T,
  ): (T & { name: string })[] {
    const seen = new Set<string>();
    return this.list(v, key).map((item, i) => {
      const at = `${key}[${i}]`;
      const m = this.map(item, at);
      const name = this.str(m.name, `${at}.name`) ?? "";
      if (seen.has(name)) this.fail(`${key}`, `the name "${name}" is defined twice`);
      seen.add(name);
      return { ...fn(this.map(m[inner], `${at}.${inner}`), `${at}.${inner}`), name };
    });
  }
}

function resolvePath(base: string, p: string | undefined): string | undefined {
  if (!p) return undefined;
  return isAbsolute(p) ? p : resolve(base, p);
}

const EXEC_EXTENSION = "client.authentication.k8s.io/exec";

/** Parse one kubeconfig document; relative paths resolve against `dir` (the file's directory). */
export function decodeKubeconfig(text: string, file: string, dir: string): KubeconfigDoc {
  // an empty file (or one with only comments) is an empty config; kubectl reads the first document
  const simple = readSimpleYaml(text);
  if (!simple && !fullYaml) throw new NeedsFullYaml(file);
  let raw = simple?.value;
  if (!simple) {
    try {
      raw = fullYaml!(text);
    } catch (e) {
      throw new KodamaError(
        `cannot load kubeconfig ${file}: ${(e as Error).message.split("\n")[0]}`,
        ExitCode.USAGE,
        `check the file with \`kubectl config view --kubeconfig ${file}\``,
      );
    }
  }
  const d = new Decoder(file);
  const top = d.map(raw, "the document");
  const clusters = d.named(top.clusters, "clusters", "cluster", (c, at): Omit<ClusterEntry, "name"> => {
    const ext = d.list(c.extensions, `${at}.extensions`).map((x, i) => d.map(x, `${at}.extensions[${i}]`))
      .find((x) => x.name === EXEC_EXTENSION);
    return {
      server: d.str(c.server, `${at}.server`) ?? "",
      caData: d.bytes(c["certificate-authority-data"], `${at}.certificate-authority-data`),
      caFile: resolvePath(dir, d.str(c["certificate-authority"], `${at}.certificate-authority`)),
      skipTLSVerify: d.bool(c["insecure-skip-tls-verify"], `${at}.insecure-skip-tls-verify`),
      proxyUrl: d.str(c["proxy-url"], `${at}.proxy-url`),
      tlsServerName: d.str(c["tls-server-name"], `${at}.tls-server-name`),
      disableCompression: d.bool(c["disable-compression"], `${at}.disable-compression`),
      execConfig: ext ? plainValue(ext.extension) : undefined,
      source: file,
    };
  });
  const users = d.named(top.users, "users", "user", (u, at): Omit<UserEntry, "name"> => {
    const ap = u["auth-provider"] === undefined || u["auth-provider"] === null
      ? undefined
      : d.map(u["auth-provider"], `${at}.auth-provider`);
    const extra = u["as-user-extra"] == null ? undefined : d.map(u["as-user-extra"], `${at}.as-user-extra`);
    return {
      certData: d.bytes(u["client-certificate-data"], `${at}.client-certificate-data`),
      certFile: resolvePath(dir, d.str(u["client-certificate"], `${at}.client-certificate`)),
      keyData: d.bytes(u["client-key-data"], `${at}.client-key-data`),
      keyFile: resolvePath(dir, d.str(u["client-key"], `${at}.client-key`)),
      token: d.str(u.token, `${at}.token`) || undefined,
      tokenFile: resolvePath(dir, d.str(u.tokenFile, `${at}.tokenFile`)),
      username: d.str(u.username, `${at}.username`) || undefined,
      password: d.str(u.password, `${at}.password`) || undefined,
      as: d.str(u.as, `${at}.as`) || undefined,
      asUid: d.str(u["as-uid"], `${at}.as-uid`) || undefined,
      asGroups: d.strList(u["as-groups"], `${at}.as-groups`),
      asUserExtra: extra &&
        Object.fromEntries(
          Object.entries(extra).map(([k, v]) => [k, d.strList(v, `${at}.as-user-extra.${k}`) ?? []]),
        ),
      exec: u.exec == null ? undefined : execPlugin(d, d.map(u.exec, `${at}.exec`), `${at}.exec`, dir),
      authProvider: ap && {
        name: d.str(ap.name, `${at}.auth-provider.name`) ?? "",
        config: d.strMap(ap.config, `${at}.auth-provider.config`),
      },
      source: file,
    };
  });
  const contexts = d.named(top.contexts, "contexts", "context", (c, at): Omit<ContextEntry, "name"> => ({
    cluster: d.str(c.cluster, `${at}.cluster`) ?? "",
    user: d.str(c.user, `${at}.user`) ?? "",
    namespace: d.str(c.namespace, `${at}.namespace`) || undefined,
    source: file,
  }));
  return {
    clusters,
    users,
    contexts,
    currentContext: d.str(top["current-context"], "current-context") ?? "",
  };
}

function execPlugin(d: Decoder, e: Raw, at: string, dir: string): ExecPlugin {
  const command = d.str(e.command, `${at}.command`) ?? "";
  const env = d.list(e.env, `${at}.env`).map((x, i) => {
    const m = d.map(x, `${at}.env[${i}]`);
    return {
      name: d.str(m.name, `${at}.env[${i}].name`) ?? "",
      value: d.str(m.value, `${at}.env[${i}].value`) ?? "",
    };
  });
  return {
    apiVersion: d.str(e.apiVersion, `${at}.apiVersion`) ?? "",
    // client-go: a command with a path separator is relative to the kubeconfig; a bare name is looked up in PATH
    command: command.includes("/") && !isAbsolute(command) ? resolve(dir, command) : command,
    args: d.strList(e.args, `${at}.args`),
    env: env.length ? env : undefined,
    provideClusterInfo: d.bool(e.provideClusterInfo, `${at}.provideClusterInfo`),
    installHint: d.str(e.installHint, `${at}.installHint`) || undefined,
    interactiveMode: d.str(e.interactiveMode, `${at}.interactiveMode`) || undefined,
  };
}

/** An extension's value as JSON would carry it (numbers back to numbers). */
function plainValue(v: unknown): unknown {
  if (v instanceof YamlNumber) {
    const n = Number(v.text.replace(/_/g, ""));
    return Number.isFinite(n) ? n : v.text;
  }
  if (Array.isArray(v)) return v.map(plainValue);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  }
  return v;
}
