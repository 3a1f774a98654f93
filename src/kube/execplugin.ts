/**
 * client.authentication.k8s.io exec credential plugins (aws eks get-token, gke-gcloud-auth-plugin, kubelogin,
 * …), run the way client-go runs them (k8s.io/client-go/plugin/pkg/client/auth/exec):
 * - the plugin's stderr goes straight to the user's terminal (a device-code prompt must be seen), stdout
 *   carries the ExecCredential;
 * - `interactiveMode`: Never (no stdin), IfAvailable (stdin when it is a terminal; the default for v1beta1),
 *   Always (stdin must be a terminal); v1 configs must name it;
 * - `KUBERNETES_EXEC_INFO` holds the ExecCredential spec: `interactive`, and with `provideClusterInfo` the
 *   cluster (server, tls-server-name, insecure-skip-tls-verify, certificate-authority-data, proxy-url,
 *   disable-compression and the `client.authentication.k8s.io/exec` extension as `config`);
 * - a missing command prints client-go's explanation and the config's `installHint`;
 * - credentials are cached until `expirationTimestamp` (for the whole process when there is none) and the
 *   plugin runs again after a 401; concurrent callers share one run, so a prompt appears once.
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { readTextBoundedSync } from "../base/fs/boundedread.ts";
import type { ClusterEntry, ExecPlugin } from "./kubeconfig.ts";
import { quote } from "../base/text/escape.ts";

export const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];
const MODES = ["Never", "IfAvailable", "Always"];

const DOCS =
  "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins";

/** What the credentials add to a request: a bearer token and/or a client certificate. */
export interface ExecCredentials {
  token?: string;
  cert?: string;
  key?: string;
}

/** Check a user's exec config as kubectl does before any request (usage errors, exit 2). */
export function validateExecPlugin(p: ExecPlugin, user: string): void {
  const bad = (m: string, hint?: string) => {
    throw new KodamaError(
      m,
      ExitCode.USAGE,
      hint ?? `fix users[].user.exec of ${quote(user)} in your kubeconfig`,
    );
  };
  if (!p.apiVersion) bad(`apiVersion must be specified for user "${user}" to use an exec credential plugin`);
  if (!EXEC_API_VERSIONS.includes(p.apiVersion)) {
    bad(
      `exec credential plugin of user "${user}": invalid apiVersion "${p.apiVersion}"`,
      `use one of ${EXEC_API_VERSIONS.join(", ")}`,
    );
  }
  if (!p.interactiveMode && p.apiVersion.endsWith("/v1")) {
    bad(
      `interactiveMode must be specified for user "${user}" to use an exec credential plugin (${p.apiVersion})`,
      "add interactiveMode: IfAvailable (or Never, Always) under users[].user.exec",
    );
  }
  if (p.interactiveMode && !MODES.includes(p.interactiveMode)) {
    bad(
      `invalid interactiveMode for user "${user}": "${p.interactiveMode}"`,
      `use one of ${MODES.join(", ")}`,
    );
  }
  if (!p.command) bad(`exec credential plugin of user "${user}" has no command`);
}

/** The cluster as client-go hands it to a plugin (field order and omitted zero values as client-go's JSON). */
export function execClusterInfo(c: ClusterEntry): Record<string, unknown> {
  let ca = c.caData;
  if (!ca && c.caFile) {
    try {
      const pem = readTextBoundedSync(c.caFile, { what: "certificate-authority", kind: "kubeconfig" });
      ca = btoa(String.fromCharCode(...new TextEncoder().encode(pem)));
    } catch { /* reported when the CA is used */ }
  }
  const info: Record<string, unknown> = { server: c.server };
  if (c.tlsServerName) info["tls-server-name"] = c.tlsServerName;
  if (c.skipTLSVerify) info["insecure-skip-tls-verify"] = true;
  if (ca) info["certificate-authority-data"] = ca.replace(/[\r\n]/g, "");
  if (c.proxyUrl) info["proxy-url"] = c.proxyUrl;
  if (c.disableCompression) info["disable-compression"] = true;
  // client-go always sends `config` (null without the client.authentication.k8s.io/exec extension)
  info.config = c.execConfig ?? null;
  return info;
}

export interface RunnerIO {
  /** is stdin a terminal (IfAvailable / Always) */
  stdinIsTerminal: () => boolean;
  env: () => Record<string, string>;
}

const denoIO: RunnerIO = {
  stdinIsTerminal: () => Deno.stdin.isTerminal(),
  env: () => Deno.env.toObject(),
};

/** Runs one user's plugin; caches its credentials and shares a run between concurrent callers. */
export class ExecPluginRunner {
  private cached?: { creds: ExecCredentials; until: number };
  private running?: Promise<ExecCredentials>;

  constructor(
    private readonly plugin: ExecPlugin,
    private readonly user: string,
    private readonly cluster: ClusterEntry | null,
    private readonly io: RunnerIO = denoIO,
  ) {}

  /** Forget the cached credentials (after a 401): the next `credentials()` runs the plugin again. */
  invalidate(): void {
    this.cached = undefined;
  }

  credentials(): Promise<ExecCredentials> {
    if (this.cached && Date.now() < this.cached.until) return Promise.resolve(this.cached.creds);
    if (!this.running) {
      this.running = this.run().finally(() => (this.running = undefined));
    }
    return this.running;
  }

  private interactive(): boolean {
    const mode = this.plugin.interactiveMode ?? "IfAvailable";
    if (mode === "Never") return false;
    const tty = this.io.stdinIsTerminal();
    if (mode === "Always" && !tty) {
      throw new KodamaError(
        `exec credential plugin ${this.plugin.command} needs a terminal (interactiveMode: Always), but standard input is not one`,
        ExitCode.FORBIDDEN,
        "run the command in a terminal once to log in, or ask for a non-interactive credential",
      );
    }
    return tty;
  }

  private async run(): Promise<ExecCredentials> {
    const p = this.plugin;
    const interactive = this.interactive();
    const spec: Record<string, unknown> = {};
    if (p.provideClusterInfo && this.cluster) spec.cluster = execClusterInfo(this.cluster);
    spec.interactive = interactive;
    const env: Record<string, string> = { ...this.io.env() };
    for (const e of p.env ?? []) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ kind: "ExecCredential", apiVersion: p.apiVersion, spec });
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(p.command, {
        args: p.args ?? [],
        env,
        clearEnv: true,
        stdin: interactive ? "inherit" : "null",
        stdout: "piped",
        // a device-code prompt ("open https://… and enter ABCD-1234") must reach the user
        stderr: "inherit",
      }).output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new KodamaError(
          `exec credential plugin ${p.command} (user ${quote(this.user)}) not found`,
          ExitCode.FORBIDDEN,
          p.installHint
            ? p.installHint.trim()
            : `install it, or fix users[].user.exec.command in your kubeconfig (see ${DOCS})`,
        );
      }
      throw new KodamaError(
        `exec credential plugin ${p.command} (user ${quote(this.user)}) could not run: ${
          (e as Error).message
        }`,
        ExitCode.FORBIDDEN,
      );
    }
    if (!out.success) {
      throw new KodamaError(
        `exec credential plugin ${p.command} (user ${quote(this.user)}) failed with exit code ${out.code}`,
        ExitCode.FORBIDDEN,
        "its own message is above; run it by hand to log in again",
      );
    }
    const creds = this.decode(new TextDecoder().decode(out.stdout));
    this.cached = creds;
    return creds.creds;
  }

  private decode(text: string): { creds: ExecCredentials; until: number } {
    const p = this.plugin;
    const fail = (m: string): never => {
      throw new KodamaError(
        `exec credential plugin ${p.command} (user ${quote(this.user)}): ${m}`,
        ExitCode.FORBIDDEN,
      );
    };
    let cred: { apiVersion?: string; kind?: string; status?: Record<string, unknown> };
    try {
      cred = JSON.parse(text);
    } catch {
      return fail("its output is not an ExecCredential (JSON)");
    }
    if (cred?.apiVersion !== p.apiVersion) {
      fail(`configured for ${p.apiVersion}, but the plugin returned ${cred?.apiVersion ?? "no apiVersion"}`);
    }
    const st = cred.status;
    if (!st || typeof st !== "object") return fail("no status in its output");
    const token = typeof st.token === "string" ? st.token : undefined;
    const cert = typeof st.clientCertificateData === "string" ? st.clientCertificateData : undefined;
    const key = typeof st.clientKeyData === "string" ? st.clientKeyData : undefined;
    if (!token && !cert && !key) fail("it returned neither a token nor a certificate and key");
    if (!cert !== !key) fail("it returned only one of the client certificate and key");
    const exp = typeof st.expirationTimestamp === "string" ? Date.parse(st.expirationTimestamp) : NaN;
    return { creds: { token, cert, key }, until: Number.isFinite(exp) ? exp : Infinity };
  }
}
