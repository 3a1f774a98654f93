/** kubectl's generic flags applied to a kubeconfig with clientcmd's merge rules (pure: no server). */
import { assert, assertEquals, assertThrows } from "@kodama/test-assert";
import { parseKubeConfig } from "../../../src/kube/config.ts";
import {
  applyOverrides,
  connectionFlags,
  FLAGS_CONTEXT,
  identityHeaders,
  USER_AGENT,
} from "../../../src/kube/overrides.ts";
import type { KodamaError } from "../../../src/base/errors.ts";
import { loadFullYaml } from "../../../src/kube/kubeconfig.ts";

// these kubeconfigs are flow-style YAML (the yaml package's to read), and the tests call the synchronous loader
await loadFullYaml();

const KC = `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: c1
  cluster: { server: "https://one:6443", certificate-authority-data: Zm9v, tls-server-name: one.internal }
- name: c2
  cluster: { server: "https://two:6443" }
users:
- name: u1
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
    exec: { command: get-token, apiVersion: client.authentication.k8s.io/v1 }
- name: u2
  user: { token: t2, as: alice, as-groups: [ops, dev], as-uid: "42", as-user-extra: { scopes: [a, b] } }
contexts:
- name: a
  context: { cluster: c1, user: u1, namespace: team }
`;

Deno.test("--cluster/--user pick entries, and the context keeps its namespace", () => {
  const kc = parseKubeConfig(KC);
  applyOverrides(kc, { cluster: "c2", user: "u2" });
  assertEquals(kc.getCurrentCluster()?.server, "https://two:6443");
  assertEquals(kc.getCurrentUser()?.token, "t2");
  assertEquals(kc.getContextObject("a")?.namespace, "team");
});

Deno.test("--server replaces the server and clears the kubeconfig's tls-server-name (clientcmd)", () => {
  const kc = parseKubeConfig(KC);
  applyOverrides(kc, { server: "https://other:443" });
  assertEquals(kc.getCurrentCluster()?.server, "https://other:443");
  assertEquals(kc.getCurrentCluster()?.tlsServerName, undefined);
  assertEquals(kc.getCurrentCluster()?.caData, "Zm9v", "the CA stays");
  // the original entry is not changed for other contexts
  assertEquals(parseKubeConfig(KC).clusters[0].server, "https://one:6443");
});

Deno.test("--insecure-skip-tls-verify clears the CA; --certificate-authority replaces it; both refused", () => {
  const a = parseKubeConfig(KC);
  applyOverrides(a, { insecureSkipTlsVerify: true });
  assertEquals(a.getCurrentCluster()?.skipTLSVerify, true);
  assertEquals(a.getCurrentCluster()?.caData, undefined);
  const ca = Deno.makeTempFileSync();
  const b = parseKubeConfig(KC);
  applyOverrides(b, { certificateAuthority: ca });
  assertEquals(b.getCurrentCluster()?.caFile, ca);
  assertEquals(b.getCurrentCluster()?.caData, undefined);
  assertEquals(b.getCurrentCluster()?.skipTLSVerify, false);
  const e = assertThrows(
    () => applyOverrides(parseKubeConfig(KC), { insecureSkipTlsVerify: true, certificateAuthority: ca }),
  ) as KodamaError;
  assertEquals(e.message, "specifying a root certificates file with the insecure flag is not allowed");
  assertEquals(e.code, 2);
  const missing = assertThrows(
    () => applyOverrides(parseKubeConfig(KC), { certificateAuthority: "/nonexistent/ca.crt" }),
  ) as KodamaError;
  assert(
    missing.message.startsWith("unable to read certificate-authority /nonexistent/ca.crt for c1 due to"),
  );
});

Deno.test("--token wins over the exec plugin (client-go runs none), client certificates stay", () => {
  const kc = parseKubeConfig(KC);
  applyOverrides(kc, { token: "flag-token" });
  const u = kc.getCurrentUser()!;
  assertEquals(u.token, "flag-token");
  assertEquals(u.exec, undefined);
  assertEquals(u.certData, "Y2VydA==");
});

Deno.test("impersonation: the kubeconfig's as fields, flags override them; groups without a user refused", () => {
  const kc = parseKubeConfig(KC);
  applyOverrides(kc, { user: "u2" });
  const h = identityHeaders(kc.getCurrentUser());
  assertEquals(h["User-Agent"], USER_AGENT);
  assertEquals(h["Impersonate-User"], "alice");
  assertEquals(h["Impersonate-Group"], ["ops", "dev"]);
  assertEquals(h["Impersonate-Uid"], "42");
  assertEquals(h["Impersonate-Extra-scopes"], ["a", "b"]);
  const f = parseKubeConfig(KC);
  applyOverrides(f, { user: "u2", as: "bob", asGroups: ["x"] });
  assertEquals(identityHeaders(f.getCurrentUser())["Impersonate-User"], "bob");
  assertEquals(identityHeaders(f.getCurrentUser())["Impersonate-Group"], ["x"]);
  const e = assertThrows(() => applyOverrides(parseKubeConfig(KC), { asGroups: ["ops"] })) as KodamaError;
  assertEquals(e.message, "requesting uid, groups or user-extra for u1 without impersonating a user");
  // no impersonation: only the User-Agent
  assertEquals(identityHeaders(parseKubeConfig(KC).getCurrentUser()), { "User-Agent": USER_AGENT });
});

Deno.test("unknown --user / --cluster: kubectl's messages", () => {
  assertThrows(
    () => applyOverrides(parseKubeConfig(KC), { user: "nope" }),
    'auth info "nope" does not exist',
  );
  assertThrows(
    () => applyOverrides(parseKubeConfig(KC), { cluster: "nope" }),
    'no server found for cluster "nope"',
  );
  // a new cluster name with --server is fine (kubectl --cluster x --server URL)
  const kc = parseKubeConfig(KC);
  applyOverrides(kc, { cluster: "new", server: "https://new:1" });
  assertEquals(kc.getCurrentCluster()?.server, "https://new:1");
});

Deno.test("--server without a kubeconfig context makes one; connectionFlags never carry the token", () => {
  const kc = parseKubeConfig("apiVersion: v1\nkind: Config\n");
  applyOverrides(kc, { server: "https://s:1", token: "secret" });
  assertEquals(kc.getCurrentContext(), FLAGS_CONTEXT);
  assertEquals(kc.getCurrentCluster()?.server, "https://s:1");
  assertEquals(kc.getCurrentUser()?.token, "secret");
  const flags = connectionFlags({
    kubeconfig: "rel/kc",
    context: "a",
    server: "https://s:1",
    token: "secret",
    as: "bob",
    asGroups: ["x", "y"],
    requestTimeoutMs: 1500,
  });
  assert(!flags.includes("secret") && !flags.includes("--token"));
  assertEquals(flags.slice(flags.indexOf("--as")), [
    "--as",
    "bob",
    "--as-group",
    "x",
    "--as-group",
    "y",
    "--request-timeout",
    "1500ms",
  ]);
  assert(flags[1].startsWith("/"), "the kubeconfig path is made absolute");
});
