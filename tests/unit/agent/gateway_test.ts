/**
 * The gateway's pure parts: its objects (a restricted, non-root pod with no token; the Service and the
 * ingress policy of the contract), config.json from the user's variables, the session token's claims
 * (providers, a host list a repository can only narrow), the env rewrite (no real key survives), the
 * session's egress policy through the gateway, and the log read as rows and sums.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  buildGatewayPod,
  buildGatewayPolicy,
  buildGatewayService,
  programDigest,
} from "../../../src/agent/gateway/manifests.ts";
import { buildGatewayConfig, keyRows, upstreamOf } from "../../../src/agent/gateway/config.ts";
import { allowedHosts, gatewayEnv, sessionClaims } from "../../../src/agent/gateway/claims.ts";
import { lastDenied, logRows, usageRows } from "../../../src/agent/gateway/usage.ts";
import { mintToken, newSigningKey, verifyToken } from "../../../src/agent/gateway/gatewaytoken.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { buildNetworkPolicy } from "../../../src/session/spec/manifests.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import { isHostPattern } from "../../../src/base/hostpattern.ts";

const assertNot = (v: boolean, msg?: string) => assert(!v, msg);

Deno.test("gateway pod: restricted, non-root, read-only, no token, ready on /healthz, listens on its IP", () => {
  const pod = buildGatewayPod("dev", "node:22-bookworm", "abc");
  const s = pod.spec!;
  const c = s.containers[0];
  assertEquals(c.command, ["node", "/opt/kodama-gateway/gateway.js"]);
  assertEquals(c.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
  });
  assertEquals(s.securityContext?.seccompProfile, { type: "RuntimeDefault" });
  assertEquals(s.automountServiceAccountToken, false);
  assertEquals(c.readinessProbe?.httpGet, { path: "/healthz", port: 8080 });
  assertEquals(pod.metadata?.labels?.["kodama.dev/component"], "gateway");
  const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
  assertEquals(env, {
    KODAMA_GATEWAY_CONFIG: "/etc/kodama-gateway/config.json",
    KODAMA_GATEWAY_PORT: "8080",
    KODAMA_GATEWAY_STATE: "/var/lib/kodama-gateway",
    KODAMA_GATEWAY_HOST: "status.podIP",
    KODAMA_GATEWAY_POD_UID: "metadata.uid",
  });
  // its one writable place: the state claim (a refreshed login survives a restart), else memory
  assertEquals(c.volumeMounts!.find((m) => m.name === "state")?.mountPath, "/var/lib/kodama-gateway");
  assertEquals(s.volumes!.find((v) => v.name === "state")?.persistentVolumeClaim, {
    claimName: "kodama-gateway-state",
  });
  const memory = buildGatewayPod("dev", "node:22-bookworm", "abc", "memory").spec!;
  assertEquals(memory.volumes!.find((v) => v.name === "state")?.emptyDir, { sizeLimit: "16Mi" });
  // the config Secret is not world-readable; it is mounted only here
  assertEquals(s.volumes!.find((v) => v.name === "config")?.secret, {
    secretName: "kodama-gateway",
    defaultMode: 0o440,
  });
});

Deno.test("gateway Service and ingress policy: 8080, only session pods in", async () => {
  const svc = buildGatewayService("dev");
  assertEquals(svc.spec?.selector, { "kodama.dev/component": "gateway" });
  assertEquals(svc.spec?.ports?.[0].port, 8080);
  const np = buildGatewayPolicy("dev") as unknown as { spec: Record<string, unknown> };
  assertEquals(np.spec.policyTypes, ["Ingress"]);
  assertEquals(np.spec.ingress, [{
    from: [{ podSelector: { matchExpressions: [{ key: "kodama.dev/session", operator: "Exists" }] } }],
    ports: [{ protocol: "TCP", port: 8080 }],
  }]);
  // another program or image makes another pod
  const a = await programDigest("x", "node:22"), b = await programDigest("y", "node:22");
  assert(a !== b && a === await programDigest("x", "node:22"));
});

Deno.test("gateway config: each variable's header, upstreams from base URLs, one entry per distinct key", () => {
  const c = buildGatewayConfig({
    ANTHROPIC_API_KEY: "sk-ant-aaaa1111",
    CLAUDE_CODE_OAUTH_TOKEN: "oauth-2222",
    OPENAI_API_KEY: "sk-oooo3333",
    CODEX_API_KEY: "sk-oooo3333",
    GITHUB_TOKEN: "ghp_4444",
    ANTHROPIC_BASE_URL: "http://127.0.0.1:9999/",
    OPENAI_BASE_URL: "http://127.0.0.1:9998/v1",
  }, { signingKey: "K", revoked: ["old"] });
  assertEquals(c.signingKey, "K");
  assertEquals(c.revoked, ["old"]);
  assertEquals(c.providers.anthropic, {
    upstream: "http://127.0.0.1:9999",
    keys: [
      { id: "a1", header: "x-api-key", value: "sk-ant-aaaa1111" },
      { id: "a2", header: "authorization", value: "Bearer oauth-2222" },
    ],
  });
  assertEquals(c.providers.openai?.upstream, "http://127.0.0.1:9998");
  assertEquals(c.providers.openai?.keys.length, 1);
  assertEquals(c.providers.gemini, undefined);
  assertEquals(c.providers.git?.keys[0].header, "authorization");
  assertEquals(atob(c.providers.git!.keys[0].value.slice(6)), "x-access-token:ghp_4444");
  assertEquals(upstreamOf("anthropic", "https://api.anthropic.com/"), "https://api.anthropic.com");
  // status shows no key
  const shown = JSON.stringify(keyRows(c));
  for (const secret of ["aaaa1111", "oauth-2222", "oooo3333", "ghp_4444"]) assertNot(shown.includes(secret));
});

Deno.test("egress hosts: a narrowing list keeps only what the user's covers, never widens", () => {
  const user = ["registry.npmjs.org", "*.pypi.org"];
  assertEquals(allowedHosts(user), user);
  assertEquals(allowedHosts(user, ["files.pypi.org", "evil.example.com", "pypi.org", "registry.npmjs.org"]), [
    "files.pypi.org",
    "registry.npmjs.org",
  ]);
  assertEquals(allowedHosts(user, ["*.pypi.org", "*.org"]), ["*.pypi.org"]);
  assertEquals(allowedHosts([], ["registry.npmjs.org"]), []);
  assert(isHostPattern("*.pypi.org") && isHostPattern("registry.npmjs.org"));
  assertNot(
    isHostPattern("*") || isHostPattern("a b") || isHostPattern("http://x") || isHostPattern("*.*.x"),
  );
});

Deno.test("claims and token: only the providers the agent uses and the gateway holds; verified by its key", () => {
  const claims = sessionClaims({
    session: "s1",
    group: "g",
    namespace: "dev",
    forwardEnv: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_BASE_URL"],
    gatewayProviders: ["anthropic", "openai", "git"],
    gitHosts: ["github.com"],
    hosts: ["registry.npmjs.org"],
    budgetUsd: 2.5,
    now: new Date(1_700_000_000_000),
  });
  assertEquals(claims, {
    s: "s1",
    g: "g",
    ns: "dev",
    p: ["anthropic"],
    allow: ["registry.npmjs.org"],
    git: ["github.com"],
    budgetUsd: 2.5,
    iat: 1_700_000_000,
    exp: 1_700_000_000 + 7 * 86400,
  });
  const key = newSigningKey();
  const token = mintToken(key, claims);
  assertEquals(verifyToken(key, token), claims);
  assertEquals(verifyToken(newSigningKey(), token), undefined);
});

Deno.test("env through the gateway: no real key or proxy survives; token, base URLs, proxy, git config", () => {
  const claims = {
    s: "s1",
    g: null,
    ns: "dev",
    p: ["anthropic", "openai"],
    allow: [],
    git: ["github.com"],
    budgetUsd: null,
    iat: 1,
    exp: 2,
  };
  const env = gatewayEnv({
    ANTHROPIC_API_KEY: "sk-ant-REAL",
    CLAUDE_CODE_OAUTH_TOKEN: "REAL-oauth",
    OPENAI_API_KEY: "sk-REAL",
    GEMINI_API_KEY: "AIzaREAL",
    GITHUB_TOKEN: "ghp_REAL",
    MY_GIT: "ghp_REAL2",
    HTTPS_PROXY: "http://corp:3128",
    GIT_CONFIG_COUNT: "1",
    ANTHROPIC_BASE_URL: "http://127.0.0.1:1/",
    FOO: "bar",
  }, { url: "http://10.96.0.7:8080", token: "kgw1.T.M", claims, gitTokenEnv: "MY_GIT" });
  assertNot(Object.values(env).some((v) => v.includes("REAL")), JSON.stringify(env));
  assertEquals(env.FOO, "bar");
  assertEquals(env.ANTHROPIC_API_KEY, "kgw1.T.M");
  assertEquals(env.ANTHROPIC_BASE_URL, "http://10.96.0.7:8080/p/anthropic");
  assertEquals(env.OPENAI_BASE_URL, "http://10.96.0.7:8080/p/openai/v1");
  assertEquals(env.OPENAI_API_KEY, "kgw1.T.M");
  assertEquals(env.GEMINI_API_KEY, undefined);
  assertEquals(env.CLAUDE_CODE_OAUTH_TOKEN, undefined);
  assertEquals(env.HTTPS_PROXY, "http://kodama:kgw1.T.M@10.96.0.7:8080");
  assertEquals(env.https_proxy, env.HTTPS_PROXY);
  assert(env.NO_PROXY.split(",").includes("10.96.0.7"));
  assertEquals(env.GIT_CONFIG_COUNT, "2");
  assertEquals(env.GIT_CONFIG_KEY_0, "url.http://10.96.0.7:8080/git/github.com/.insteadOf");
  assertEquals(env.GIT_CONFIG_VALUE_0, "https://github.com/");
  assertEquals(env.GIT_CONFIG_KEY_1, "http.http://10.96.0.7:8080/git/.extraHeader");
  assertEquals(env.GIT_CONFIG_VALUE_1, "X-Kodama-Gateway-Token: kgw1.T.M");
});

Deno.test("session egress through the gateway: the gateway pod on 8080 and DNS in kube-system, no address", () => {
  const spec = resolveSpec({ name: "demo", namespace: "dev" }, configSchema.parse({}), {
    envVars: [],
    editorFiles: [],
  });
  const plain = buildNetworkPolicy(spec)!;
  assert(JSON.stringify(plain.spec).includes("ipBlock"));
  const np = buildNetworkPolicy({
    ...spec,
    gateway: { service: "kodama-gateway", url: "http://10.96.0.7:8080", tokenSuffix: "…abcd" },
  })! as unknown as { spec: { egress: unknown[]; podSelector: unknown } };
  assertNot(JSON.stringify(np.spec).includes("ipBlock"));
  assertEquals(np.spec.podSelector, plain.spec!.podSelector);
  assertEquals(np.spec.egress, [
    {
      to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
      ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
    },
    {
      to: [{ podSelector: { matchLabels: { "kodama.dev/component": "gateway" } } }],
      ports: [{ protocol: "TCP", port: 8080 }],
    },
  ]);
  // session.egress.enabled: false stays without a policy, gateway or not
  const off = resolveSpec(
    { name: "demo", namespace: "dev" },
    configSchema.parse({ session: { egress: { enabled: false } } }),
    { envVars: [], editorFiles: [] },
  );
  assertEquals(
    buildNetworkPolicy({ ...off, gateway: { service: "g", url: "u", tokenSuffix: "t" } }),
    undefined,
  );
});

Deno.test("gateway log: a session's lines with their verdict, sums per session/group/day, last denied host", () => {
  const lines = [
    { t: "2026-11-26T10:00:00Z", ev: "config", status: "loaded" },
    {
      t: "2026-11-26T10:00:01Z",
      ev: "req",
      s: "a",
      g: "grp",
      host: "api.anthropic.com",
      status: 200,
      bytesIn: 10,
    },
    {
      t: "2026-11-26T10:00:02Z",
      ev: "usage",
      s: "a",
      g: "grp",
      usage: { input: 100, output: 20, cacheRead: 5 },
      costUsd: 0.001,
    },
    { t: "2026-11-27T10:00:03Z", ev: "deny", s: "a", g: "grp", host: "evil.example.com:443" },
    { t: "2026-11-27T10:00:04Z", ev: "conn", s: "b", host: "registry.npmjs.org:443", status: 200 },
    { t: "2026-11-27T10:00:05Z", ev: "usage", s: "b", usage: { input: 1, output: 1 }, costUsd: null },
  ];
  const rows = logRows(lines, "a");
  assertEquals(rows.map((r) => `${r.ev}:${r.verdict}`), ["req:allowed", "usage:-", "deny:denied"]);
  const bySession = usageRows(lines, "session");
  assertEquals(bySession.map((r) => [r.key, r.requests, r.denied, r.input, r.output, r.costKnown]), [
    ["a", 1, 1, 100, 20, true],
    ["b", 1, 0, 1, 1, false],
  ]);
  assertEquals(usageRows(lines, "day").map((r) => r.key), ["2026-11-26", "2026-11-27"]);
  assertEquals(usageRows(lines, "group").map((r) => r.key), ["-", "grp"]);
  assertEquals(lastDenied(lines, "a"), "evil.example.com:443");
  assertEquals(lastDenied(lines, "b"), undefined);
});

Deno.test("doctor's gateway row: none without one; failed when its pod or Service is missing or not ready", async () => {
  const { gatewayCheck, verdict } = await import("../../../src/doctor/checks.ts");
  assertEquals(gatewayCheck(undefined, undefined), undefined);
  assertEquals(gatewayCheck({ ready: true, image: "node:22" }, "10.96.0.7"), {
    ok: true,
    detail: "kodama-gateway ready at 10.96.0.7:8080 (node:22): new sessions go through it",
  });
  assertEquals(gatewayCheck({ ready: false, phase: "Pending" }, "10.96.0.7")?.ok, false);
  assertEquals(gatewayCheck(undefined, "10.96.0.7")?.ok, false);
  assertEquals(gatewayCheck({ ready: true }, undefined)?.ok, false);
  const base = {
    kubeconfig: { ok: true, files: [] },
    server: { ok: true },
    permissions: [],
    tools: [],
  };
  assert(verdict(base));
  assert(!verdict({ ...base, gateway: { ok: false, detail: "x" } }));
});

Deno.test("the clone through the gateway: its init container takes git's config from the env Secret", async () => {
  const { buildPod } = await import("../../../src/session/spec/manifests.ts");
  const base = resolveSpec({ name: "demo", namespace: "dev" }, configSchema.parse({}), {
    envVars: [],
    editorFiles: [],
  });
  const git = {
    repo: "https://github.com/a/b.git",
    source: "remote",
    image: base.image,
    authMethod: "none",
    autoBranch: false,
  } as unknown as NonNullable<typeof base.git>;
  const plain = buildPod({ ...base, git }).spec!.initContainers![0];
  assertEquals(plain.envFrom, undefined);
  const via = buildPod({
    ...base,
    git,
    gateway: { service: "kodama-gateway", url: "http://10.96.0.7:8080", tokenSuffix: "…abcd" },
  }).spec!.initContainers![0];
  assertEquals(via.envFrom, [{ secretRef: { name: "kodama-env-demo", optional: true } }]);
});

Deno.test("config: session.egress.hosts takes host names only; gateway.image and session.gateway parse", () => {
  const ok = configSchema.parse({
    session: { gateway: false, egress: { hosts: ["registry.npmjs.org", "*.pypi.org"] } },
    gateway: { image: "node:22-alpine" },
  });
  assertEquals(ok.session.egress.hosts, ["registry.npmjs.org", "*.pypi.org"]);
  assertEquals([ok.session.gateway, ok.gateway.image], [false, "node:22-alpine"]);
  assertEquals(configSchema.parse({}).gateway.image, "node:22-bookworm");
  for (const bad of ["10.0.0.0/8", "https://x.org", "*", "a b"]) {
    const r = configSchema.safeParse({ session: { egress: { hosts: [bad] } } });
    assert(!r.success && r.error.message.includes("is not a host name"), bad);
  }
});

Deno.test("gateway program: every file gateway.js requires from its directory ships in its ConfigMap", async () => {
  const { GATEWAY_PROGRAM } = await import("../../../src/agent/gateway/program.ts");
  const { buildGatewayConfigMap } = await import("../../../src/agent/gateway/manifests.ts");
  const data = buildGatewayConfigMap("dev", GATEWAY_PROGRAM).data!;
  assert("gateway.js" in data);
  for (const [name, text] of Object.entries(data)) {
    for (const m of text.matchAll(/require\("\.\/([^"]+)"\)/g)) {
      assert(m[1] in data, `${name} requires ${m[1]}`);
    }
  }
  assert(Object.keys(data).includes("gatewaymeter.js"));
});

Deno.test("gateway config: the user's gateway.prices go into config.json as they are; none, no key", () => {
  const prices = { "gpt-6*": { input: 2, output: 12 }, "*": { input: 5, output: 25 } };
  const c = buildGatewayConfig({ ANTHROPIC_API_KEY: "k" }, { signingKey: "s" }, undefined, prices);
  assertEquals(c.prices, prices);
  assertEquals("prices" in buildGatewayConfig({ ANTHROPIC_API_KEY: "k" }, { signingKey: "s" }), false);
});
