/**
 * Differential tests with kubectl as the oracle: for a corpus of kubeconfig fixtures, what kodama
 * resolves (server, CA, client auth, namespace, proxy, booleans, merging of several files, relative
 * paths) must equal what `kubectl config view --minify --raw` shows, a file kubectl refuses to load
 * kodama refuses too (exit 2, naming the key), and against the test server both succeed or both fail
 * (`kubectl get pods` / `kodama pods`), kodama with a one-line message naming what is wrong.
 *
 * Fixture placeholders: {{SERVER}} the test server, {{CA}} {{CERT}} {{KEY}} base64 of its CA and the admin
 * client certificate/key, {{TOKEN}} the dev user's token, {{OTHERKEY}} an unrelated private key,
 * {{GARBAGE}} base64 of "garbage". Every case dir also holds pki/{ca.crt,admin.crt,admin.key,dev.token}.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { dirname, isAbsolute, resolve } from "node:path";
import YAML from "yaml";
import { KODAMA_TEST_IMAGE, KUBECTL, kubectl, onRealCluster, type TestCluster } from "../cluster/harness.ts";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { type KubeConfigLite, loadKubeConfig } from "../../src/kube/config.ts";
import { KodamaError } from "../../src/base/errors.ts";
import { loadFullYaml } from "../../src/kube/kubeconfig.ts";
import { clusterTest } from "../cluster/fixture.ts";

// the odd YAML below is the yaml package's to read (src/kube/kubeyaml.ts reads only the plain subset); loaded up front
// because these tests call the synchronous loader directly
await loadFullYaml();

interface Case {
  name: string;
  /** files (path relative to the case dir -> templated text) */
  files: Record<string, string>;
  /** `--kubeconfig` (relative to the case dir) … */
  kubeconfig?: string;
  /** … or the KUBECONFIG list (relative entries, resolved by both tools against the case dir) */
  list?: string[];
  context?: string;
  /** kubectl refuses to load it: kodama must refuse too, exit 2, with a message matching this */
  loadError?: RegExp;
  /** against the test server: "ok", or kodama's message when both must fail */
  live?: "ok" | RegExp;
  /** the scheme kodama puts before a server given without one, as client-go does when it connects */
  scheme?: string;
}

const doc = (o: { cluster: string; user: string; context?: string; current?: string; extra?: string }) =>
  `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { ${o.cluster} } }]
users: [{ name: u, user: { ${o.user} } }]
contexts: [{ name: x, context: { cluster: c, user: u${o.context ? `, ${o.context}` : ""} } }]
current-context: ${o.current ?? "x"}
${o.extra ?? ""}`;

const CA = `server: "{{SERVER}}", certificate-authority-data: {{CA}}`;
const ADMIN = "client-certificate-data: {{CERT}}, client-key-data: {{KEY}}";
const DEV = "token: {{TOKEN}}";

const CASES: Case[] = [
  { name: "inline CA and client certificate", files: { kc: doc({ cluster: CA, user: ADMIN }) }, live: "ok" },
  {
    name: "insecure-skip-tls-verify: no is false (no CA: verification fails)",
    files: { kc: doc({ cluster: `server: "{{SERVER}}", insecure-skip-tls-verify: no`, user: DEV }) },
    live: /certificate/,
  },
  {
    name: "insecure-skip-tls-verify: yes skips verification",
    files: { kc: doc({ cluster: `server: "{{SERVER}}", insecure-skip-tls-verify: yes`, user: DEV }) },
    live: "ok",
  },
  ...["on", "Off", "TRUE", "n", "false", "~"].map((v): Case => ({
    name: `insecure-skip-tls-verify: ${v}`,
    files: { kc: doc({ cluster: `server: "{{SERVER}}", insecure-skip-tls-verify: ${v}`, user: DEV }) },
  })),
  ...[`"true"`, "maybe", "1", "tRue"].map((v): Case => ({
    name: `insecure-skip-tls-verify: ${v} is refused`,
    files: { kc: doc({ cluster: `server: "{{SERVER}}", insecure-skip-tls-verify: ${v}`, user: DEV }) },
    loadError: /insecure-skip-tls-verify: .* is not a boolean/,
  })),
  {
    name: "a YAML 1.1 boolean where a string belongs is refused (namespace: no)",
    files: { kc: doc({ cluster: CA, user: DEV, context: "namespace: no" }) },
    loadError: /contexts\[0\]\.context\.namespace: the boolean false is not a string/,
  },
  {
    name: "a number where a string belongs is refused (token: 0755)",
    files: { kc: doc({ cluster: CA, user: "token: 0755" }) },
    loadError: /users\[0\]\.user\.token: the number 0755 is not a string/,
  },
  {
    name: "a context named y is refused (y is a YAML 1.1 boolean)",
    files: { kc: doc({ cluster: CA, user: DEV }).replace("name: x, context", "name: y, context") },
    loadError: /contexts\[0\]\.name: the boolean true is not a string/,
  },
  {
    name: "timestamps and 1:30 stay text",
    files: { kc: doc({ cluster: CA, user: "token: 2020-01-01", context: "namespace: 1:30" }) },
  },
  {
    name: "a name defined twice in one file is refused",
    files: {
      kc: doc({ cluster: CA, user: DEV }).replace(
        "contexts: [{ name: x, context: { cluster: c, user: u } }]",
        "contexts: [{ name: x, context: { cluster: c, user: u } }, { name: x, context: { cluster: c, user: u } }]",
      ),
    },
    loadError: /the name "x" is defined twice/,
  },
  {
    name: "invalid base64 is refused",
    files: {
      kc: doc({ cluster: `server: "{{SERVER}}", certificate-authority-data: "!!notb64"`, user: DEV }),
    },
    loadError: /certificate-authority-data: is not valid base64/,
  },
  {
    name: "base64 split over lines is read (Go skips line breaks)",
    files: {
      kc: doc({ cluster: `server: "{{SERVER}}", certificate-authority-data: "{{CA_FOLDED}}"`, user: DEV }),
    },
    live: "ok",
  },
  {
    name:
      "relative certificate-authority, client-certificate, client-key and tokenFile resolve against the file",
    files: {
      "sub/kc": doc({
        cluster: `server: "{{SERVER}}", certificate-authority: ../pki/ca.crt`,
        user: "client-certificate: ../pki/admin.crt, client-key: ../pki/admin.key",
      }),
    },
    kubeconfig: "sub/kc",
    live: "ok",
  },
  {
    name: "tokenFile relative to the kubeconfig",
    files: { "sub/kc": doc({ cluster: CA, user: "tokenFile: ../pki/dev.token" }) },
    kubeconfig: "sub/kc",
    live: "ok",
  },
  {
    name: "a missing certificate-authority file is named with its key",
    files: { kc: doc({ cluster: `server: "{{SERVER}}", certificate-authority: nope.crt`, user: DEV }) },
    live: /cannot read certificate-authority .*nope\.crt of cluster "c".*: no such file/,
  },
  // kubectl 1.32 reads HOST:PORT as http://, a CA or a client certificate beside it or not (the test
  // server speaks TLS only, so both fail against it)
  ...[`certificate-authority-data: {{CA}}`, "insecure-skip-tls-verify: true"].map((tls): Case => ({
    name: `a server without a scheme is http:// (${tls.replace(/: .*/, "")} beside it)`,
    files: { kc: doc({ cluster: `server: "{{HOSTPORT}}", ${tls}`, user: ADMIN }) },
    scheme: "http://",
    live: /did not answer in HTTP/,
  })),
  {
    name: "tls-server-name that the certificate carries",
    files: { kc: doc({ cluster: `${CA}, tls-server-name: localhost`, user: DEV }) },
    live: "ok",
  },
  {
    name: "tls-server-name that the certificate does not carry",
    files: { kc: doc({ cluster: `${CA}, tls-server-name: wrong.example`, user: DEV }) },
    live: /TLS|certificate|altnames/i,
  },
  {
    name: "a CA together with insecure-skip-tls-verify: true is refused",
    files: { kc: doc({ cluster: `${CA}, insecure-skip-tls-verify: true`, user: DEV }) },
    live: /both a certificate-authority and insecure-skip-tls-verify/,
  },
  {
    name: "garbage client-certificate-data names the certificate",
    files: {
      kc: doc({ cluster: CA, user: "client-certificate-data: {{GARBAGE}}, client-key-data: {{KEY}}" }),
    },
    live: /client-certificate-data of user "u" .*is not a PEM certificate/,
  },
  {
    name: "a key that does not belong to the certificate",
    files: {
      kc: doc({ cluster: CA, user: "client-certificate-data: {{CERT}}, client-key-data: {{OTHERKEY}}" }),
    },
    live: /client-key-data of user "u" .*does not match its client-certificate-data/,
  },
  {
    name: "garbage CA data",
    files: {
      kc: doc({ cluster: `server: "{{SERVER}}", certificate-authority-data: {{GARBAGE}}`, user: DEV }),
    },
    live: /certificate-authority-data of cluster "c" .*holds no PEM certificate/,
  },
  {
    name: "current-context that does not exist is named",
    files: { kc: doc({ cluster: CA, user: DEV, current: "nosuch" }) },
    live: /current-context "nosuch" is not a context/,
  },
  {
    name: "a context whose cluster does not exist",
    files: { kc: doc({ cluster: CA, user: DEV }).replace("cluster: c, user: u", "cluster: gone, user: u") },
    live: /context "x" uses cluster "gone", which is not in/,
  },
  {
    name: "--context picks another context and its namespace",
    files: {
      kc: doc({
        cluster: CA,
        user: DEV,
        extra: "",
      }).replace(
        "contexts: [{ name: x, context: { cluster: c, user: u } }]",
        "contexts: [{ name: x, context: { cluster: c, user: u } }, { name: ctx2, context: { cluster: c, user: u, namespace: dev } }]",
      ),
    },
    context: "ctx2",
    live: "ok",
  },
  {
    name: "proxy-url and disable-compression",
    files: {
      kc: doc({
        cluster: `${CA}, proxy-url: "http://proxy.example:3128", disable-compression: yes`,
        user: DEV,
      }),
    },
  },
  {
    name: "JSON kubeconfig",
    files: {
      kc: JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "{{SERVER}}", "certificate-authority-data": "{{CA}}" } }],
        users: [{ name: "u", user: { token: "{{TOKEN}}" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u", namespace: "dev" } }],
        "current-context": "x",
      }),
    },
    live: "ok",
  },
  {
    name: "YAML anchors and merge keys",
    files: {
      kc: `base: &b { server: "{{SERVER}}", certificate-authority-data: {{CA}} }
clusters: [{ name: c, cluster: { <<: *b, tls-server-name: localhost } }]
users: [{ name: u, user: { token: {{TOKEN}} } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
    },
    live: "ok",
  },
  {
    name: "KUBECONFIG merge: first definition and first current-context win, missing and empty files skipped",
    files: {
      "a/kc": `current-context: x
contexts: [{ name: x, context: { cluster: c, user: u, namespace: dev } }]
clusters: [{ name: c, cluster: { server: "{{SERVER}}", certificate-authority: ../pki/ca.crt } }]
`,
      "b/kc": `current-context: other
clusters: [{ name: c, cluster: { server: "https://shadowed.example:1" } }]
users: [{ name: u, user: { client-certificate: ../pki/admin.crt, client-key: ../pki/admin.key } }]
contexts: [{ name: x, context: { cluster: nope, user: nope } }]
`,
      "empty/kc": "",
    },
    list: ["a/kc", "missing/kc", "empty/kc", "b/kc"],
    live: "ok",
  },
  {
    name: "KUBECONFIG merge: current-context from a later file when the first sets none",
    files: {
      "a/kc":
        `clusters: [{ name: c, cluster: { server: "{{SERVER}}", certificate-authority-data: {{CA}} } }]\n`,
      "b/kc": doc({ cluster: `server: "https://shadowed.example:1"`, user: DEV }),
    },
    list: ["a/kc", "b/kc"],
    live: "ok",
  },
  {
    name: "KUBECONFIG merge: a bad boolean in any file is refused, used or not",
    files: {
      "a/kc": doc({ cluster: CA, user: DEV }),
      "b/kc":
        `clusters: [{ name: other, cluster: { server: "https://o:1", insecure-skip-tls-verify: nope } }]\n`,
    },
    list: ["a/kc", "b/kc"],
    loadError: /b\/kc: clusters\[0\]\.cluster\.insecure-skip-tls-verify: "nope" is not a boolean/,
  },
  {
    name: "exec plugin config (view only)",
    files: {
      kc: doc({
        cluster: CA,
        user:
          `exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: ./bin/plugin, args: [get-token, --x], env: [{ name: A, value: b }], installHint: "brew install it", provideClusterInfo: on }`,
      }),
    },
  },
];

// ------------------------------------------------------------------------------------------- helpers

// deno-lint-ignore no-explicit-any
type Raw = any;

interface Projection {
  context: string;
  namespace?: string;
  cluster: Record<string, unknown>;
  user: Record<string, unknown>;
}

const clean = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "" && v !== false));

/** Which file (in load order) defines `name` in `list` — relative paths resolve against its directory. */
function definingDir(files: string[], list: "clusters" | "users", name: string): string {
  for (const f of files) {
    let d: Raw;
    try {
      d = YAML.parse(Deno.readTextFileSync(f), { version: "1.1" });
    } catch {
      continue;
    }
    if (d?.[list]?.some((e: Raw) => e?.name === name)) return dirname(f);
  }
  return ".";
}

function fromKubectl(view: Raw, files: string[]): Projection {
  const ctx = view.contexts?.[0] ?? {};
  const cl = view.clusters?.[0] ?? {};
  const us = view.users?.[0] ?? {};
  const cdir = definingDir(files, "clusters", cl.name);
  const udir = definingDir(files, "users", us.name);
  const abs = (dir: string, p?: string) => (p ? (isAbsolute(p) ? p : resolve(dir, p)) : undefined);
  const c = cl.cluster ?? {};
  const u = us.user ?? {};
  const e = u.exec;
  return {
    context: view["current-context"],
    namespace: ctx.context?.namespace,
    cluster: clean({
      server: c.server,
      caData: c["certificate-authority-data"],
      caFile: abs(cdir, c["certificate-authority"]),
      skipTLSVerify: c["insecure-skip-tls-verify"],
      proxyUrl: c["proxy-url"],
      tlsServerName: c["tls-server-name"],
      disableCompression: c["disable-compression"],
    }),
    user: clean({
      certData: u["client-certificate-data"],
      certFile: abs(udir, u["client-certificate"]),
      keyData: u["client-key-data"],
      keyFile: abs(udir, u["client-key"]),
      token: u.token,
      tokenFile: abs(udir, u.tokenFile),
      username: u.username,
      password: u.password,
      exec: e && clean({
        apiVersion: e.apiVersion,
        command: e.command?.includes("/") ? abs(udir, e.command) : e.command,
        args: e.args ?? undefined,
        env: e.env ?? undefined,
        installHint: e.installHint,
        provideClusterInfo: e.provideClusterInfo,
        interactiveMode: e.interactiveMode,
      }),
    }),
  };
}

function fromKodama(kc: KubeConfigLite): Projection {
  const c = kc.getCurrentCluster()!;
  const u = kc.getCurrentUser() ?? { name: "" };
  const e = u.exec;
  return {
    context: kc.getCurrentContext(),
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    cluster: clean({
      server: c.server,
      caData: c.caData,
      caFile: c.caFile,
      skipTLSVerify: c.skipTLSVerify,
      proxyUrl: c.proxyUrl,
      tlsServerName: c.tlsServerName,
      disableCompression: c.disableCompression,
    }),
    user: clean({
      certData: u.certData,
      certFile: u.certFile,
      keyData: u.keyData,
      keyFile: u.keyFile,
      token: u.token,
      tokenFile: u.tokenFile,
      username: u.username,
      password: u.password,
      exec: e && clean({
        ...e,
        // kubectl shows client-go's default
        interactiveMode: e.interactiveMode ?? "IfAvailable",
      }),
    }),
  };
}

interface Env {
  c: TestCluster;
  root: string;
  vars: Record<string, string>;
  pki: Record<string, string>;
}

async function setup(c: TestCluster): Promise<Env> {
  const root = await Deno.makeTempDir({ prefix: "kodama-kcdiff-" });
  const pkiDir = `${c.testServer!.stateDir}/pki`;
  const otherKey = await new Deno.Command("openssl", {
    args: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const pki = {
    "ca.crt": await Deno.readTextFile(`${pkiDir}/ca.crt`),
    "admin.crt": await Deno.readTextFile(`${pkiDir}/user-admin.crt`),
    "admin.key": await Deno.readTextFile(`${pkiDir}/user-admin.key`),
    "dev.token": c.testServer!.devToken + "\n",
  };
  const b64 = (s: string) => btoa(s);
  const ca = b64(pki["ca.crt"]);
  return {
    c,
    root,
    pki,
    vars: {
      SERVER: c.server,
      HOSTPORT: c.server.replace(/^https:\/\//, ""),
      CA: ca,
      CA_FOLDED: ca.match(/.{1,64}/g)!.join("\\n"),
      CERT: b64(pki["admin.crt"]),
      KEY: b64(pki["admin.key"]),
      TOKEN: c.testServer!.devToken,
      OTHERKEY: b64(new TextDecoder().decode(otherKey.stdout)),
      GARBAGE: b64("garbage\n"),
    },
  };
}

async function writeCase(env: Env, k: Case, i: number): Promise<{ dir: string; files: string[] }> {
  const dir = `${env.root}/case${i}`;
  await Deno.mkdir(`${dir}/pki`, { recursive: true });
  for (const [n, t] of Object.entries(env.pki)) await Deno.writeTextFile(`${dir}/pki/${n}`, t);
  for (const [n, t] of Object.entries(k.files)) {
    await Deno.mkdir(dirname(`${dir}/${n}`), { recursive: true });
    await Deno.writeTextFile(`${dir}/${n}`, t.replace(/\{\{(\w+)\}\}/g, (_m, v) => env.vars[v]));
  }
  const files = (k.list ?? [k.kubeconfig ?? "kc"]).map((f) => resolve(dir, f));
  return { dir, files };
}

/** The flags and env both tools get for a case (relative KUBECONFIG entries, run in the case dir). */
function invocation(k: Case): { args: string[]; env: Record<string, string> } {
  const args = k.list ? [] : ["--kubeconfig", k.kubeconfig ?? "kc"];
  if (k.context) args.push("--context", k.context);
  return { args, env: k.list ? { KUBECONFIG: k.list.join(":") } : {} };
}

async function kubectlIn(dir: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(KUBECTL, {
    args: [...args, "--cache-dir", `${dir}/.kube-cache`],
    cwd: dir,
    env: { KUBECONFIG: "", HOME: dir, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

// --------------------------------------------------------------------------------------------- tests

clusterTest(
  "kubeconfig fixtures resolve as kubectl resolves them (kubectl is the oracle)",
  { seed: "sessions", ignore: onRealCluster },
  async (t, c) => {
    const env = await setup(c);
    try {
      const made = await kubectl(c, [
        "run",
        "diff-probe",
        "-n",
        "dev",
        `--image=${KODAMA_TEST_IMAGE}`,
        "--",
        "sleep",
        "3600",
      ]);
      assertEquals(made.code, 0, made.stderr);
      for (const [i, k] of CASES.entries()) {
        await t.step(k.name, async () => {
          const { dir, files } = await writeCase(env, k, i);
          const inv = invocation(k);
          const view = await kubectlIn(
            dir,
            ["config", "view", "--minify", "--raw", "-o", "json", ...inv.args],
            inv.env,
          );
          // kodama, in-process: the same files (absolute), the same context flag
          let ours: KubeConfigLite | undefined;
          let loadErr: unknown;
          try {
            ours = loadKubeConfig(
              { kubeconfig: k.list ? undefined : files[0], context: k.context },
              { env: (n) => (n === "KUBECONFIG" ? (k.list ? files.join(":") : undefined) : undefined) },
            );
          } catch (e) {
            loadErr = e;
          }
          if (k.loadError) {
            assert(view.code !== 0, `kubectl loaded a file the case says it refuses: ${view.stdout}`);
            assert(loadErr instanceof KodamaError, `kodama loaded it: ${loadErr}`);
            assertEquals(loadErr.code, 2);
            assertMatch(loadErr.message, k.loadError);
            return;
          }
          if (view.code === 0 && !loadErr) {
            // kubectl resolved a context: kodama must resolve the same one, to the same values
            const theirs = fromKubectl(JSON.parse(view.stdout), files);
            if (k.scheme) theirs.cluster.server = k.scheme + theirs.cluster.server;
            assertEquals(fromKodama(ours!), theirs);
          } else {
            // kubectl cannot resolve the context (it names a missing cluster), or refuses it on use (a CA
            // with insecure-skip-tls-verify): kodama refuses it up front; the live run below must agree
            assert(k.live instanceof RegExp, `kubectl: ${view.stderr}; kodama: ${loadErr}`);
            if (loadErr) assert(loadErr instanceof KodamaError && loadErr.code === 2, String(loadErr));
            else throw new Error(`kodama resolved a context kubectl cannot: ${view.stderr}`);
          }
          if (!k.live) {
            if (loadErr) throw loadErr;
            return;
          }
          // both against the test server
          const kctl = await kubectlIn(
            dir,
            ["get", "pods", "-n", "dev", "-o", "name", "--request-timeout", "10s", ...inv.args],
            inv.env,
          );
          const kod = await runKodama(["pods", "-n", "dev", "-o", "name", ...inv.args], {
            cwd: dir,
            env: { KUBECONFIG: inv.env.KUBECONFIG ?? "", KODAMA_HOME: `${dir}/.kodama` },
          });
          assert(!hasStackTrace(kod.stderr), kod.stderr);
          if (k.live === "ok") {
            assertEquals(kctl.code, 0, `kubectl: ${kctl.stderr}`);
            assertEquals(kctl.stdout.trim(), "pod/diff-probe");
            assertEquals(kod.code, 0, `kodama: ${kod.stderr}`);
            assertEquals(kod.stdout.trim(), "pod/diff-probe");
          } else {
            assert(kctl.code !== 0, `kubectl succeeded where the case expects a failure: ${kctl.stdout}`);
            assert(kod.code !== 0, `kodama succeeded where kubectl fails: ${kod.stdout}`);
            assertMatch(kod.stderr, k.live);
            assert(kod.stderr.trim().split("\n").length <= 2, `more than two lines: ${kod.stderr}`);
          }
        });
      }
    } finally {
      await Deno.remove(env.root, { recursive: true }).catch(() => {});
    }
  },
);
