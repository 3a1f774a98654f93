/**
 * Names a user gives (namespaces, session names) are checked once where they enter, and every value echoed
 * in an error is quoted with its control characters escaped, so an error stays one line plus its hint.
 */
import { assertEquals } from "@kodama/test-assert";
import { quote } from "../../../../src/base/text/escape.ts";
import { checkNamespace, isDnsLabel } from "../../../../src/base/text/k8sname.ts";
import {
  checkSessionName,
  sessionSelector,
  validateSessionName,
} from "../../../../src/session/spec/names.ts";
import { ExitCode, formatError, KodamaError } from "../../../../src/base/errors.ts";
import { loadKubeConfig, resolveNamespace } from "../../../../src/kube/config.ts";
import { formatReport, type Report, verdict } from "../../../../src/doctor/checks.ts";
import { exitCodeOf } from "../../../../src/doctor/run.ts";
import { renderTable } from "../../../../src/ui/table.ts";

/** The error `f` throws, as kodama prints it, and its exit code. */
function printed(f: () => unknown): [number, string] {
  try {
    f();
  } catch (e) {
    if (e instanceof KodamaError) return [e.code, formatError(e)];
    throw e;
  }
  throw new Error("did not throw");
}

Deno.test("quote: a plain name reads as before; a newline, ESC, a quote or a bidi mark cannot break the line", () => {
  assertEquals(quote("my-work"), '"my-work"');
  assertEquals(quote("bad\nname"), '"bad\\nname"');
  assertEquals(quote("a\x1b[2Kb"), '"a\\x1b[2Kb"');
  assertEquals(quote('say "hi" \\ there'), '"say \\"hi\\" \\\\ there"');
  assertEquals(quote("x\u202ey\u0085"), '"x\\u{202e}y\\x85"');
  assertEquals(quote(8080), '"8080"');
  for (const s of ["bad\nname", "a\r\nb", "\u2028", "x\x85y"]) assertEquals(quote(s).includes("\n"), false);
});

Deno.test("isDnsLabel / checkNamespace: RFC 1123 labels only, exit 2 naming where it came from", () => {
  for (const ok of ["default", "a", "dev-1", "x".repeat(63)]) assertEquals(isDnsLabel(ok), true, ok);
  for (const bad of ["", "UPPER", "UPPER_ns", "a\nb", "a\n", "../x", "-a", "a-", "a.b", "x".repeat(64)]) {
    assertEquals(isDnsLabel(bad), false, JSON.stringify(bad));
  }
  assertEquals(checkNamespace("dev", "KODAMA_NAMESPACE"), "dev");
  const [code, text] = printed(() => checkNamespace("a\nb", "-n/--namespace"));
  assertEquals(code, ExitCode.USAGE);
  assertEquals(text.split("\n").length, 2, text);
  assertEquals(text.split("\n")[0], 'invalid namespace "a\\nb" (from -n/--namespace)');
});

Deno.test("session names: looked-up names are checked before any selector is built", () => {
  assertEquals(checkSessionName("my-work"), "my-work");
  assertEquals(sessionSelector("my-work"), "app.kubernetes.io/managed-by=kodama,kodama.dev/session=my-work");
  for (const bad of ["bad\nname", "Bad", "a,b", "a=b", "x".repeat(64), ""]) {
    const [code, text] = printed(() => sessionSelector(bad));
    assertEquals(code, ExitCode.USAGE, JSON.stringify(bad));
    assertEquals(text.split("\n").length, 2, text);
  }
  const [, text] = printed(() => validateSessionName("bad\nname"));
  assertEquals(text.split("\n")[0].startsWith('invalid session name "bad\\nname":'), true, text);
});

Deno.test("resolveNamespace: the given namespace and the kubeconfig context's are checked, naming their source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-ns-" });
  try {
    const kubeconfig = `${dir}/kc`;
    await Deno.writeTextFile(
      kubeconfig,
      `apiVersion: v1
kind: Config
current-context: c1
clusters:
  - name: k
    cluster:
      server: https://127.0.0.1:1
users:
  - name: u
    user:
      token: t
contexts:
  - name: c1
    context:
      cluster: k
      user: u
      namespace: Dev_NS
  - name: c2
    context:
      cluster: k
      user: u
`,
    );
    const kc = loadKubeConfig({ kubeconfig });
    assertEquals(resolveNamespace(kc, "dev"), "dev");
    let [code, text] = printed(() => resolveNamespace(kc, "UPPER_ns", "KODAMA_NAMESPACE"));
    assertEquals([code, text.split("\n")[0]], [2, 'invalid namespace "UPPER_ns" (from KODAMA_NAMESPACE)']);
    [code, text] = printed(() => resolveNamespace(kc));
    assertEquals([code, text.split("\n")[0]], [
      2,
      'invalid namespace "Dev_NS" (from kubeconfig context "c1")',
    ]);
    assertEquals(resolveNamespace(loadKubeConfig({ kubeconfig, context: "c2" })), "default");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("doctor: an invalid namespace is a failed check (exit 2), not a passed report", () => {
  const r: Omit<Report, "ok"> = {
    kubeconfig: { ok: true, files: ["kc"], context: "dev", user: "dev" },
    server: { ok: true, url: "https://s", version: "v1.32.0", latencyMs: 3 },
    namespaceError: 'invalid namespace "UPPER" (from -n/--namespace): a namespace is …',
    permissions: [],
    tools: [],
  };
  assertEquals(verdict(r), false);
  const report = { ...r, ok: false };
  assertEquals(exitCodeOf(report), 2);
  const text = formatReport(report, renderTable);
  assertEquals(/namespace\s+FAILED\s+invalid namespace "UPPER"/.test(text), true, text);
  assertEquals(text.includes("Not ready: the namespace is not valid."), true, text);
});
