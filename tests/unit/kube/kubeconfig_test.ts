import { assertEquals, assertThrows } from "@kodama/test-assert";
import { decodeKubeconfig } from "../../../src/kube/kubeconfig.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { loadFullYaml } from "../../../src/kube/kubeconfig.ts";

// YAML 1.1 words, numbers and the like are the yaml package's to read; these tests call the synchronous decoder directly
await loadFullYaml();

const withSkip = (v: string) =>
  `clusters: [{ name: c, cluster: { server: "https://a:1", insecure-skip-tls-verify: ${v} } }]\n`;

Deno.test("booleans are read as kubectl reads them (YAML 1.1 words, unquoted)", () => {
  const table: [string, boolean | undefined][] = [
    ["true", true],
    ["True", true],
    ["yes", true],
    ["Y", true],
    ["on", true],
    ["false", false],
    ["no", false],
    ["NO", false],
    ["n", false],
    ["Off", false],
    ["~", undefined],
    ["", undefined],
  ];
  for (const [v, want] of table) {
    assertEquals(decodeKubeconfig(withSkip(v), "kc", "/d").clusters[0].skipTLSVerify, want, v);
  }
});

Deno.test("a non-boolean where a boolean belongs is a usage error naming the file and key", () => {
  for (const v of [`"true"`, "maybe", "1", "tRue", "[yes]"]) {
    const e = assertThrows(() => decodeKubeconfig(withSkip(v), "/home/me/kc", "/d")) as KodamaError;
    assertEquals(e instanceof KodamaError, true);
    assertEquals(e.code, 2);
    assertEquals(
      e.message.startsWith("kubeconfig /home/me/kc: clusters[0].cluster.insecure-skip-tls-verify: "),
      true,
      e.message,
    );
    assertEquals(e.message.endsWith("is not a boolean"), true, e.message);
  }
});

Deno.test("strings stay strings; numbers and booleans where a string belongs are refused", () => {
  const ns = (v: string) => `contexts: [{ name: x, context: { cluster: c, user: u, namespace: ${v} } }]\n`;
  assertEquals(decodeKubeconfig(ns("2024-01-01"), "kc", "/d").contexts[0].namespace, "2024-01-01");
  assertEquals(decodeKubeconfig(ns("'123'"), "kc", "/d").contexts[0].namespace, "123");
  assertThrows(() => decodeKubeconfig(ns("123"), "kc", "/d"), "the number 123 is not a string");
  assertThrows(
    () => decodeKubeconfig(ns("off"), "kc", "/d"),
    "the boolean false is not a string",
  );
});

Deno.test("relative paths and exec commands resolve against the kubeconfig's directory", () => {
  const d = decodeKubeconfig(
    `clusters: [{ name: c, cluster: { server: "https://a:1", certificate-authority: ca.crt } }]
users:
- { name: a, user: { tokenFile: ../tok, exec: { apiVersion: client.authentication.k8s.io/v1, command: ./bin/login } } }
- { name: b, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: aws } } }
`,
    "/home/me/.kube/config",
    "/home/me/.kube",
  );
  assertEquals(d.clusters[0].caFile, "/home/me/.kube/ca.crt");
  assertEquals(d.users[0].tokenFile, "/home/me/tok");
  assertEquals(d.users[0].exec?.command, "/home/me/.kube/bin/login");
  assertEquals(d.users[1].exec?.command, "aws"); // looked up in PATH, as client-go does
});

Deno.test("base64 fields: line breaks allowed, anything else refused; duplicate names refused", () => {
  const ca = (v: string) =>
    `clusters: [{ name: c, cluster: { server: "https://a:1", certificate-authority-data: ${v} } }]\n`;
  assertEquals(decodeKubeconfig(ca(`"QUJD\\nREVG"`), "kc", "/d").clusters[0].caData, "QUJDREVG");
  assertThrows(() => decodeKubeconfig(ca(`"QUJD REVG"`), "kc", "/d"), "is not valid base64");
  assertThrows(
    () => decodeKubeconfig(`users: [{ name: u, user: {} }, { name: u, user: {} }]\n`, "kc", "/d"),
    `the name "u" is defined twice`,
  );
  // an empty file or one with only comments is an empty config
  assertEquals(decodeKubeconfig("# nothing here\n", "kc", "/d").clusters, []);
});
