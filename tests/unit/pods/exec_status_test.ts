import { assertEquals } from "@kodama/test-assert";
import { parseStatus } from "../../../src/kube/exec.ts";
import { ambiguousError } from "../../../src/pods/choose.ts";
import type { V1Pod } from "@kubernetes/client-node";

Deno.test("status channel: success, non-zero exit code, other failures", () => {
  assertEquals(parseStatus(`{"metadata":{},"status":"Success"}`), { exitCode: 0 });
  assertEquals(
    parseStatus(JSON.stringify({
      status: "Failure",
      reason: "NonZeroExitCode",
      message: "command terminated with non-zero exit code: exit status 7",
      details: { causes: [{ reason: "ExitCode", message: "7" }] },
    })),
    { exitCode: 7 },
  );
  assertEquals(
    parseStatus(JSON.stringify({ status: "Failure", reason: "InternalError", message: "exec: not found" })),
    {
      exitCode: 1,
      error: "exec: not found",
    },
  );
  assertEquals(parseStatus("garbage").exitCode, 1);
});

Deno.test("several matches without a TTY: exit 2, up to 10 candidates, names the flags", () => {
  const pods = Array.from(
    { length: 12 },
    (_, i) => ({ metadata: { namespace: "load", name: `load-${i}` } }) as V1Pod,
  );
  const e = ambiguousError(pods, { namespace: "load" });
  assertEquals(e.code, 2);
  assertEquals(
    e.message,
    `12 pods match and a choice is needed: ${
      pods.slice(0, 10).map((p) => p.metadata!.name).join(", ")
    }, … (2 more)`,
  );
  for (const f of ["--all", "--first", "--pick"]) assertEquals(e.hint!.includes(f), true);
});
