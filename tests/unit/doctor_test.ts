import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  atLeast,
  formatReport,
  permissions,
  type Report,
  streamVerb,
  verdict,
} from "../../src/doctor/checks.ts";
import { renderTable } from "../../src/ui/table.ts";

Deno.test("streams are 'get' before kube-apiserver 1.30, 'create' from 1.30 on", () => {
  assertEquals(streamVerb(24), "get");
  assertEquals(streamVerb(29), "get");
  assertEquals(streamVerb(30), "create");
  assertEquals(streamVerb(undefined), "create");
  const exec = permissions(24).find((p) => p.subresource === "exec")!;
  assertEquals(exec.verbs, ["get"]);
});

Deno.test("verdict: required items decide; optional ones only warn", () => {
  const base = (): Omit<Report, "ok"> => ({
    kubeconfig: { ok: true, files: ["kc"], context: "dev", user: "dev" },
    server: { ok: true, url: "https://s", version: "v1.24.0", latencyMs: 3 },
    namespace: "dev",
    permissions: permissions(24).map((p) => ({
      ...p,
      results: p.verbs.map((verb) => ({ verb, allowed: !p.cluster })),
      allowed: !p.cluster,
    })),
    tools: [{ name: "tmux", found: false, neededBy: "--tmux", required: false }],
  });
  assert(verdict(base()), "optional cluster-wide denials and a missing tmux do not fail");
  const denied = base();
  const pvc = denied.permissions.find((p) => p.resource === "persistentvolumeclaims")!;
  pvc.results = pvc.results.map((v) => ({ ...v, allowed: v.verb !== "patch" }));
  pvc.allowed = false;
  assert(!verdict(denied));
  const text = formatReport({ ...denied, ok: false }, renderTable);
  assertStringIncludes(text, "DENIED: patch");
  assertStringIncludes(text, "Not ready: 1 required permission is denied.");
  assertStringIncludes(text, "missing (optional)");
  assert(!verdict({ ...base(), server: { ok: false, error: "refused" } }));
});

Deno.test("atLeast compares dotted versions", () => {
  assert(atLeast("2.9.6", "2.9.0"));
  assert(atLeast("v2.10.0", "2.9.0"));
  assert(!atLeast("2.8.9", "2.9.0"));
  assert(atLeast("3.0", "2.9.0"));
});
