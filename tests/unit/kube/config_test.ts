import { assertEquals, assertThrows } from "@std/assert";
import { loadKubeConfig, resolveNamespace } from "../../../src/kube/config.ts";
import { loadFullYaml } from "../../../src/kube/kubeconfig.ts";

// these kubeconfigs are flow-style YAML (js-yaml's to read), and the tests call the synchronous loader
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
  const old: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    old[k] = Deno.env.get(k);
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
  try {
    fn();
  } finally {
    for (const [k, v] of Object.entries(old)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
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
