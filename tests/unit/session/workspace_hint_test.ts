/**
 * A non-root session (session.runAsUser) whose workspace volume ignores the pod's fsGroup (hostPath, some local
 * provisioners; seen on the real v1.24 cluster) fails its clone with a hint naming the cause and the ways out.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { unwritableVolumeHint } from "../../../src/session/git/gitrun.ts";

Deno.test("a non-root session's unwritable workspace names fsGroup and the ways out", () => {
  const why = "kodama-receive: 5: cannot create /workspace/.kodama-clone.bundle.part: Permission denied";
  assertStringIncludes(unwritableVolumeHint(why, 1000)!, "not writable by uid 1000");
  assertStringIncludes(unwritableVolumeHint(why, 1000)!, "--storage-class");
  assertEquals(unwritableVolumeHint(why, undefined), undefined);
  assertEquals(unwritableVolumeHint(why, 0), undefined);
  assertEquals(unwritableVolumeHint("No space left on device", 1000), undefined);
});
