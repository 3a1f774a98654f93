/** Local file-system errors in kodama's words and exit codes (src/base/fs/localfs.ts). */
import { assertEquals } from "@kodama/test-assert";
import { localFsError } from "../../../../src/base/fs/localfs.ts";
import { detachedSecretArgs } from "../../../../src/pods/pf_cmd.ts";
import { serverProblem } from "../../../../src/kube/config.ts";
import { KodamaError } from "../../../../src/base/errors.ts";

const err = (cls: new (m: string) => Error, m: string) => new cls(m);

Deno.test("Deno's file errors: one line, the path, exit 3 / 4 / 2", () => {
  const cases: [Error, string, number][] = [
    [
      err(Deno.errors.NotFound, "No such file or directory (os error 2): open '/x/y'"),
      "cannot open /x/y: no such file or directory",
      3,
    ],
    [
      err(Deno.errors.PermissionDenied, "Permission denied (os error 13): open '/root/f'"),
      "cannot open /root/f: permission denied",
      4,
    ],
    [
      err(Deno.errors.IsADirectory, "Is a directory (os error 21): rename '/t/a' -> '/t/b'"),
      "cannot rename /t/a to /t/b: it is a directory",
      2,
    ],
    [
      err(Deno.errors.NotADirectory, "Not a directory (os error 20): stat '/dev/null/config.yaml'"),
      "cannot access /dev/null/config.yaml: /dev/null is not a directory",
      2,
    ],
    [
      err(Deno.errors.AlreadyExists, "File exists (os error 17): mkdir '/t'"),
      "cannot create the directory /t: it already exists",
      2,
    ],
  ];
  for (const [e, message, code] of cases) {
    const k = localFsError(e)!;
    assertEquals([k.message, k.code], [message, code], e.message);
  }
  assertEquals(localFsError(new Error("other")), undefined);
  assertEquals(localFsError(new KodamaError("x")), undefined);
});

Deno.test("KODAMA_DETACHED_ARGS: only a JSON list of credential flags", () => {
  assertEquals(detachedSecretArgs('["--token","t"]'), ["--token", "t"]);
  assertEquals(detachedSecretArgs('["--token=t"]'), ["--token=t"]);
  for (const bad of ["garbage", "[1]", '["pod-x"]', '{"a":1}', '["--token"]']) {
    let code = 0;
    try {
      detachedSecretArgs(bad);
    } catch (e) {
      code = (e as KodamaError).code;
    }
    assertEquals(code, 2, bad);
  }
});

Deno.test("a server URL is http(s) with a host", () => {
  assertEquals(serverProblem("https://10.0.0.1:6443"), undefined);
  assertEquals(serverProblem("http://localhost:8080/prefix"), undefined);
  for (const bad of ["not a url", "ftp://x", "localhost:6443", "https://", "unix:///var/run/k.sock"]) {
    assertEquals(typeof serverProblem(bad), "string", bad);
  }
});
