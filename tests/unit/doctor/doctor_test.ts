import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import {
  atLeast,
  formatReport,
  permissions,
  type Report,
  streamVerb,
  verdict,
} from "../../../src/doctor/checks.ts";
import { renderTable } from "../../../src/ui/table.ts";

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

Deno.test("a failed server check: the verdict and the exit code follow its kind (unreachable 1, refused 4, slow 5)", async () => {
  const { exitCodeOf } = await import("../../../src/doctor/run.ts");
  const r = (code?: number): Report => ({
    ok: false,
    kubeconfig: { ok: true, files: ["kc"], context: "dev", user: "dev" },
    server: { ok: false, url: "https://s", error: "boom", ...(code === undefined ? {} : { code }) },
    permissions: [],
    tools: [],
  });
  for (
    const [code, exit, words] of [
      [undefined, 1, "the server cannot be reached"],
      [1, 1, "the server cannot be reached"],
      [4, 4, "the server was reached and refused the credentials"],
      [5, 5, "the server did not answer in time"],
    ] as const
  ) {
    assertEquals(exitCodeOf(r(code)), exit);
    assertStringIncludes(formatReport(r(code), renderTable), `Not ready: ${words}`);
  }
});
