import { assertEquals, assertThrows } from "@kodama/test-assert";
import { loadKubeConfig, parseKubeConfig, resolveNamespace } from "../../../src/kube/config.ts";
import { loadFullYaml } from "../../../src/kube/kubeconfig.ts";
import { lockEnvSync } from "../../_env_lock.ts";

// these kubeconfigs are flow-style YAML (the yaml package's to read), and the tests call the synchronous loader
await loadFullYaml();

function kc(name: string, ns: string | undefined, current: string | undefined, server: string): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: ${name}, cluster: { server: "${server}" } }]
users: [{ name: ${name}, user: { token: t } }]
contexts: [{ name: ${name}, context: { cluster: ${name}, user: ${name}${ns ? `, namespace: ${ns}` : ""} } }]
${current ? `current-context: ${current}` : ""}
`;
}

function withEnv(vars: Record<string, string | undefined>, fn: () => void) {
  // under the environment lock: files run on threads of one process and share its environment
  const restore = lockEnvSync(Object.keys(vars));
  try {
    for (const [k, v] of Object.entries(vars)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    fn();
  } finally {
    restore();
  }
}

Deno.test("KUBECONFIG merges files: first current-context and first definition win (like kubectl)", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/a`, kc("a", "team-a", "a", "https://a:1"));
  Deno.writeTextFileSync(`${dir}/b`, kc("b", undefined, "b", "https://b:2"));
  Deno.writeTextFileSync(`${dir}/c`, kc("a", "other", undefined, "https://shadowed:3"));
  withEnv({ KUBECONFIG: `${dir}/a:${dir}/missing:${dir}/b:${dir}/c` }, () => {
    const k = loadKubeConfig({});
    assertEquals(k.getCurrentContext(), "a");
    assertEquals(k.getCurrentCluster()?.server, "https://a:1");
    assertEquals(resolveNamespace(k), "team-a");
    assertEquals(k.getContexts().map((c) => c.name).sort(), ["a", "b"]);
    const kb = loadKubeConfig({ context: "b" });
    assertEquals(kb.getCurrentCluster()?.server, "https://b:2");
    assertEquals(resolveNamespace(kb), "default");
    assertEquals(resolveNamespace(kb, "flag-ns"), "flag-ns");
  });
});

Deno.test("unknown context and missing kubeconfig are usage errors with a hint", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/a`, kc("a", undefined, "a", "https://a:1"));
  const e = assertThrows(() => loadKubeConfig({ kubeconfig: `${dir}/a`, context: "zzz" })) as unknown as {
    code: number;
  };
  assertEquals(e.code, 2);
  withEnv({ KUBECONFIG: `${dir}/none`, KUBERNETES_SERVICE_HOST: undefined }, () => {
    const e2 = assertThrows(() => loadKubeConfig({}), "no kubeconfig found") as unknown as { code: number };
    assertEquals(e2.code, 2);
  });
});

Deno.test("*-data fields are base64 of the PEM text: ASCII as it is, other bytes as UTF-8, line breaks ignored", async () => {
  const pem = (type: string, extra = "") =>
    `${extra}-----BEGIN ${type}-----\nMIIBszCCAVmgAwIBAgIU\n-----END ${type}-----\n`;
  const b64 = (text: string) => {
    const bin = Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join("");
    return btoa(bin);
  };
  const ca = pem("CERTIFICATE", "# CA of café (été)\n");
  const wrapped = b64(pem("CERTIFICATE")).replace(/(.{20})/g, "$1\n");
  const conf = (caData: string) => ({
    apiVersion: "v1",
    "current-context": "c",
    clusters: [{ name: "c", cluster: { server: "https://k:6443", "certificate-authority-data": caData } }],
    users: [{
      name: "c",
      user: { "client-certificate-data": wrapped, "client-key-data": b64(pem("EC PRIVATE KEY")) },
    }],
    contexts: [{ name: "c", context: { cluster: "c", user: "c" } }],
  });
  const opts: Record<string, unknown> = {};
  await parseKubeConfig(JSON.stringify(conf(b64(ca)))).applyToHTTPSOptions(opts);
  assertEquals(opts.ca, ca, "non-ASCII bytes are UTF-8");
  assertEquals(opts.cert, pem("CERTIFICATE"), "line breaks in the base64 are dropped");
  assertEquals(opts.key, pem("EC PRIVATE KEY"));
});
