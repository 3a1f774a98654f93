import { assertEquals } from "@kodama/test-assert";
import { fstab } from "../../cluster/runtime/podns.ts";

Deno.test("a container view's mounts as one fstab: order kept, read-only binds, blanks escaped", () => {
  assertEquals(
    fstab([
      { source: "/usr", target: "/usr", readOnly: true },
      { source: "/dev", target: "/dev", recursive: true },
      { source: "/sys", target: "/sys", recursive: true, readOnly: true },
      { source: "/v/my vol\\x", target: "/workspace/a\tb" },
    ], "/p/rootfs/main"),
    "/usr /p/rootfs/main/usr none bind,ro 0 0\n" +
      "/dev /p/rootfs/main/dev none rbind 0 0\n" +
      // a recursive read-only bind is remounted read-only by its own command (which may fail)
      "/sys /p/rootfs/main/sys none rbind 0 0\n" +
      "/v/my\\040vol\\134x /p/rootfs/main/workspace/a\\011b none bind 0 0\n",
  );
});
