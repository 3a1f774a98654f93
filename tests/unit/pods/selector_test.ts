import { assert, assertEquals } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { parseLabelSelector, podSelector } from "../../../src/pods/selector.ts";

const pod = (name: string, labels: Record<string, string>, phase = "Running", node = "n1"): V1Pod => ({
  metadata: { name, namespace: "ns", labels },
  spec: { containers: [], nodeName: node },
  status: { phase },
});

Deno.test("label selectors as the API server reads them: =, ==, !=, in, notin, exists, !", () => {
  const pods = [
    pod("a", { app: "api", tier: "web" }),
    pod("b", { app: "api" }),
    pod("c", { app: "db", tier: "cache" }),
  ];
  const names = (l?: string, f?: string) => pods.filter(podSelector(l, f)!).map((p) => p.metadata!.name);
  assertEquals(names("app=api"), ["a", "b"]);
  assertEquals(names("app==api,tier=web"), ["a"]);
  assertEquals(names("tier!=web"), ["b", "c"]);
  assertEquals(names("app in (db, x)"), ["c"]);
  assertEquals(names("app notin (db)"), ["a", "b"]);
  assertEquals(names("tier"), ["a", "c"]);
  assertEquals(names("!tier"), ["b"]);
  assertEquals(names(""), ["a", "b", "c"]);
  assertEquals(names(undefined, "metadata.name=b"), ["b"]);
  assertEquals(names("app=api", "metadata.name!=a,status.phase=Running"), ["b"]);
});

Deno.test("what cannot be read here is left to the API server (undefined), never guessed", () => {
  for (const bad of ["app=(", "a b", "app in (x", "x=y=z", "=v", "app gt 3"]) {
    assertEquals(parseLabelSelector(bad), undefined, bad);
  }
  assertEquals(podSelector(undefined, "spec.unknownField=x"), undefined);
  assertEquals(podSelector(undefined, "metadata.name"), undefined);
  assert(podSelector("a.b/c-d=e_f.g", "spec.nodeName=n1"));
});
