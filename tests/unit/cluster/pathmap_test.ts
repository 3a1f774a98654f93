import { assertEquals } from "@kodama/test-assert";
import { mapArg, mapArgv, mapScript, pathMapFor } from "../../cluster/runtime/pathmap.ts";

const m = pathMapFor("/S/root", {
  workingDir: "/workspace",
  volumeMounts: [{ mountPath: "/workspace" }, { mountPath: "/data/cache/" }, { mountPath: "/" }],
});

Deno.test("pathmap: only the pod's own paths are mapped", () => {
  assertEquals(m.prefixes, ["/data/cache", "/workspace"]);
  assertEquals(mapArg(m, "/workspace"), "/S/root/workspace");
  assertEquals(mapArg(m, "/workspace/a/b"), "/S/root/workspace/a/b");
  assertEquals(mapArg(m, "/workspaces"), "/workspaces");
  assertEquals(mapArg(m, "/tmp/x"), "/tmp/x");
  assertEquals(mapArg(m, "workspace"), "workspace");
});

Deno.test("pathmap: shell scripts get word-start occurrences rewritten", () => {
  assertEquals(
    mapScript(m, "cd /workspace && ls '/data/cache/x' /workspaces X=/workspace/y /tmp/workspace"),
    "cd /S/root/workspace && ls '/S/root/data/cache/x' /workspaces X=/S/root/workspace/y /tmp/workspace",
  );
  assertEquals(mapArgv(m, ["sh", "-c", "ls /workspace", "/workspace"]), [
    "sh",
    "-c",
    "ls /S/root/workspace",
    "/S/root/workspace",
  ]);
  assertEquals(mapArgv(m, ["/bin/bash", "-lc", "cat /workspace/f"]), [
    "/bin/bash",
    "-lc",
    "cat /S/root/workspace/f",
  ]);
});

Deno.test("pathmap: tar keeps member names (kubectl cp) and maps option values", () => {
  // kubectl cp pod:/workspace/f local  ->  tar cf - /workspace/f
  assertEquals(mapArgv(m, ["tar", "cf", "-", "/workspace/f"]), [
    "tar",
    "cf",
    "-",
    "-C",
    "/S/root",
    "workspace/f",
  ]);
  // kubectl cp local pod:/workspace/dir  ->  tar -xmf - -C /workspace/dir
  assertEquals(mapArgv(m, ["tar", "-xmf", "-", "-C", "/workspace/dir"]), [
    "tar",
    "-xmf",
    "-",
    "-C",
    "/S/root/workspace/dir",
  ]);
  assertEquals(mapArgv(m, ["tar", "-czf", "/workspace/o.tgz", "/etc/hosts"]), [
    "tar",
    "-czf",
    "/S/root/workspace/o.tgz",
    "/etc/hosts",
  ]);
  assertEquals(mapArgv(m, ["ls", "-la", "/workspace"]), ["ls", "-la", "/S/root/workspace"]);
  assertEquals(mapArgv(pathMapFor("/S/root", {}), ["ls", "/workspace"]), ["ls", "/workspace"]);
});
