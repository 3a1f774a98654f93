/** `kodama cp`: local -> pod, pod -> local (directories, binary), --all into every matched pod. */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { DEMO, startCluster } from "../cluster/harness.ts";
import { runKodama } from "../cli/_run.ts";

Deno.test({
  name: "kodama cp",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const c = await startCluster({ seed: "demo" });
    const dir = await Deno.makeTempDir({ prefix: "kodama-cp-" });
    const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args]);
    const ns = DEMO.wekaNamespace;
    try {
      const bin = new Uint8Array(3 << 20).map((_, i) => (i * 31 + (i >> 9)) & 255);
      await Deno.mkdir(`${dir}/src/nested`, { recursive: true });
      await Deno.writeFile(`${dir}/src/nested/data.bin`, bin);
      await Deno.writeTextFile(`${dir}/src/hello.txt`, "hello\n");

      await t.step("a directory into a pod and back again", async () => {
        const up = await k(["cp", `${dir}/src`, `${ns}/weka-drive-0:/tmp/kodama-cp-test`]);
        assertEquals(up.code, 0, up.stderr);
        const check = await k([
          "exec",
          "-n",
          ns,
          "--pod",
          "weka-drive-0",
          "--",
          "sh",
          "-c",
          "cat /tmp/kodama-cp-test/hello.txt; wc -c < /tmp/kodama-cp-test/nested/data.bin",
        ]);
        assertEquals(check.stdout.split("\n").map((l) => l.trim()).filter(Boolean), [
          "hello",
          String(bin.length),
        ]);
        const down = await k(["cp", "-n", ns, "weka-drive-0:/tmp/kodama-cp-test", `${dir}/back`]);
        assertEquals(down.code, 0, down.stderr);
        assertEquals(await Deno.readFile(`${dir}/back/nested/data.bin`), bin);
        assertEquals(await Deno.readTextFile(`${dir}/back/hello.txt`), "hello\n");
      });

      await t.step(
        "hard links arrive as links, both ways; a FIFO is reported, not dropped silently",
        async () => {
          const hl = `${dir}/hl`;
          await Deno.mkdir(`${hl}/sub`, { recursive: true });
          await Deno.writeTextFile(`${hl}/a`, "one file, two names\n");
          await Deno.link(`${hl}/a`, `${hl}/sub/b`);
          assertEquals((await new Deno.Command("mkfifo", { args: [`${hl}/pipe`] }).output()).code, 0);
          const remote = `/tmp/kodama-cp-hl-${crypto.randomUUID().slice(0, 8)}`;
          try {
            const up = await k(["cp", hl, `${ns}/weka-drive-0:${remote}`]);
            assertEquals(up.code, 0, up.stderr);
            assertStringIncludes(
              up.stderr,
              `warning: skipping ${hl}/pipe: it is a FIFO, which is not copied`,
            );
            // in the pod: one inode with two names (ls -i prints the inode first)
            const inodes = await k([
              "exec",
              "-n",
              ns,
              "--pod",
              "weka-drive-0",
              "--",
              "sh",
              "-c",
              `ls -i ${remote}/a ${remote}/sub/b | awk '{print $1}'; cat ${remote}/sub/b`,
            ]);
            const [ia, ib, text] = inodes.stdout.trim().split("\n");
            assertEquals(ia, ib, inodes.stdout);
            assertEquals(text, "one file, two names");
            const down = await k(["cp", "-n", ns, `weka-drive-0:${remote}`, `${dir}/hl-back`]);
            assertEquals(down.code, 0, down.stderr);
            const [a, b] = [await Deno.stat(`${dir}/hl-back/a`), await Deno.stat(`${dir}/hl-back/sub/b`)];
            assertEquals(a.ino, b.ino);
            assertEquals(await Deno.readTextFile(`${dir}/hl-back/sub/b`), "one file, two names\n");
          } finally {
            await k(["exec", "-n", ns, "--pod", "weka-drive-0", "--", "rm", "-rf", remote]);
          }
        },
      );

      await t.step("a missing remote path is exit 3; two local paths is exit 2", async () => {
        const r = await k(["cp", "-n", ns, "weka-drive-0:/nonexistent/file", `${dir}/x`]);
        assertEquals(r.code, 3, r.stderr);
        const u = await k(["cp", `${dir}/a`, `${dir}/b`]);
        assertEquals(u.code, 2);
      });

      await t.step("--all copies a local file into every matched pod", async () => {
        const r = await k([
          "cp",
          "-n",
          ns,
          "-m",
          "drive",
          "--all",
          `${dir}/src/hello.txt`,
          // relative: lands in each pod's own working directory (the test server's pods share the host /tmp)
          "kodama-cp-all/",
        ]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "3 pods: 3 ok");
        const check = await k([
          "exec",
          "-n",
          ns,
          "-m",
          "drive",
          "--all",
          "--",
          "cat",
          "kodama-cp-all/hello.txt",
        ]);
        assertEquals(check.code, 0, check.stderr);
        assertEquals(check.stdout.split("\n").filter((l) => l.endsWith("| hello")).length, 3);
      });
    } finally {
      await c.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
