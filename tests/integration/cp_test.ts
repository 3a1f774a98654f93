/**
 * `kodama cp`: local -> pod, pod -> local (directories, binary), --all into every matched pod. The pods
 * are the test's own, in its own namespace, and copy under their own /data (an emptyDir): never a path the
 * test server's pods share with the host (its /tmp).
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { tempNamespace } from "../cluster/harness.ts";
import { runKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { busyboxPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest("kodama cp", { seed: "none" }, async (t, c) => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-cp-" });
  const k = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, ...args]);
  const space = await tempNamespace(c, "fidelity-cp");
  const ns = space.name;
  const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
  try {
    for (const p of ["drive-0", "drive-1", "drive-2"]) {
      await kube.createObject("pods", ns, busyboxPod(p, { labels: { app: "cp" }, dir: "/data" }));
    }
    await waitForPods(kube, { namespace: ns, selector: "app=cp" }, { for: "ready", timeoutMs: 60_000 });
    const bin = new Uint8Array(3 << 20).map((_, i) => (i * 31 + (i >> 9)) & 255);
    await Deno.mkdir(`${dir}/src/nested`, { recursive: true });
    await Deno.writeFile(`${dir}/src/nested/data.bin`, bin);
    await Deno.writeTextFile(`${dir}/src/hello.txt`, "hello\n");

    await t.step("a directory into a pod and back again", async () => {
      const up = await k(["cp", `${dir}/src`, `${ns}/drive-0:/data/kodama-cp-test`]);
      assertEquals(up.code, 0, up.stderr);
      const check = await k([
        "exec",
        "-n",
        ns,
        "--pod",
        "drive-0",
        "--",
        "sh",
        "-c",
        "cat /data/kodama-cp-test/hello.txt; wc -c < /data/kodama-cp-test/nested/data.bin",
      ]);
      assertEquals(check.stdout.split("\n").map((l) => l.trim()).filter(Boolean), [
        "hello",
        String(bin.length),
      ]);
      const down = await k(["cp", "-n", ns, "drive-0:/data/kodama-cp-test", `${dir}/back`]);
      assertEquals(down.code, 0, down.stderr);
      assertEquals(await Deno.readFile(`${dir}/back/nested/data.bin`), bin);
      assertEquals(await Deno.readTextFile(`${dir}/back/hello.txt`), "hello\n");
    });

    await t.step("cp out and ws exec end with the stream, though the server keeps TCP open", async () => {
      // kube-apiserver does not close an exec connection after the kubelet's close frame until the
      // client does (the test server holds it too); npm:ws used to wait its 30 s close timeout for it
      const down = await runKodama(
        ["--kubeconfig", c.kubeconfig, "cp", "-n", ns, "drive-0:/data/kodama-cp-test", `${dir}/again`],
        { timeoutMs: 15_000 },
      );
      assertEquals(down.code, 0, down.stderr);
      assertEquals(await Deno.readFile(`${dir}/again/nested/data.bin`), bin);
      const ws = await runKodama(
        ["--kubeconfig", c.kubeconfig, "exec", "-n", ns, "--pod", "drive-0", "--", "echo", "over ws"],
        { timeoutMs: 15_000, env: { KODAMA_EXEC_TRANSPORT: "ws" } },
      );
      assertEquals(ws.stdout, "over ws\n", ws.stderr);
    });

    await t.step(
      "hard links arrive as links, both ways; a FIFO is reported, not dropped silently",
      async () => {
        const hl = `${dir}/hl`;
        await Deno.mkdir(`${hl}/sub`, { recursive: true });
        await Deno.writeTextFile(`${hl}/a`, "one file, two names\n");
        await Deno.link(`${hl}/a`, `${hl}/sub/b`);
        assertEquals((await new Deno.Command("mkfifo", { args: [`${hl}/pipe`] }).output()).code, 0);
        const remote = `/data/kodama-cp-hl-${crypto.randomUUID().slice(0, 8)}`;
        try {
          const up = await k(["cp", hl, `${ns}/drive-0:${remote}`]);
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
            "drive-0",
            "--",
            "sh",
            "-c",
            `ls -i ${remote}/a ${remote}/sub/b | awk '{print $1}'; cat ${remote}/sub/b`,
          ]);
          const [ia, ib, text] = inodes.stdout.trim().split("\n");
          assertEquals(ia, ib, inodes.stdout);
          assertEquals(text, "one file, two names");
          const down = await k(["cp", "-n", ns, `drive-0:${remote}`, `${dir}/hl-back`]);
          assertEquals(down.code, 0, down.stderr);
          const [a, b] = [await Deno.stat(`${dir}/hl-back/a`), await Deno.stat(`${dir}/hl-back/sub/b`)];
          assertEquals(a.ino, b.ino);
          assertEquals(await Deno.readTextFile(`${dir}/hl-back/sub/b`), "one file, two names\n");
        } finally {
          await k(["exec", "-n", ns, "--pod", "drive-0", "--", "rm", "-rf", remote]);
        }
      },
    );

    await t.step("links from the pod never lead out of the destination, in any shape (#50)", async () => {
      await Deno.mkdir(`${dir}/home/.ssh`, { recursive: true });
      await Deno.writeTextFile(`${dir}/home/.ssh/authorized_keys`, "mine\n");
      const made = await k([
        "exec",
        "-n",
        ns,
        "--pod",
        "drive-1",
        "--",
        "sh",
        "-c",
        [
          "mkdir -p /data/ln/d /data/ln/sub",
          "cd /data/ln",
          "ln -s .. d/a && ln -s a/.. d/b && ln -s b/.. d/c",
          "ln -s d/c/../../.ssh/authorized_keys notes.md",
          `ln -s ${dir}/home/.ssh/authorized_keys abs`,
          "ln -s .git/hooks hookslink",
          "ln -s ../.. up && ln -s d in",
          "echo kept > ok.txt",
        ].join(" && "),
      ]);
      assertEquals(made.code, 0, made.stderr);
      await Deno.mkdir(`${dir}/home/dest/ln/.git/hooks`, { recursive: true });
      const r = await k(["cp", "-n", ns, "drive-1:/data/ln", `${dir}/home/dest`]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, "entries were not written");
      for (const name of ["d/b", "d/c", "notes.md", "abs", "hookslink", "up"]) {
        // the link's target is named once: in the reason when the reason is about it
        assertMatch(r.stderr, new RegExp(`skipping symlink ln/${name.replace("/", "\\/")}(: | -> )`));
        assertEquals(await Deno.lstat(`${dir}/home/dest/ln/${name}`).catch(() => "absent"), "absent", name);
      }
      assertEquals(await Deno.readLink(`${dir}/home/dest/ln/d/a`), "..");
      assertEquals(await Deno.readLink(`${dir}/home/dest/ln/in`), "d");
      assertEquals(await Deno.readTextFile(`${dir}/home/dest/ln/ok.txt`), "kept\n");
      assertEquals(await Deno.readTextFile(`${dir}/home/.ssh/authorized_keys`), "mine\n");
    });

    await t.step(
      "a path checked as real is refused at use once a link was planted on the way (#50)",
      async () => {
        // a workflow's cp step checks its local path (sandbox/confine.ts), then copies; a step running
        // alongside replaces a directory on that path with a link in between
        const { copy } = await import("../../src/pods/cp.ts");
        await Deno.mkdir(`${dir}/race/repo/share`, { recursive: true });
        await Deno.mkdir(`${dir}/race/secret`, { recursive: true });
        await Deno.writeTextFile(`${dir}/race/secret/id_rsa`, "private\n");
        const checked = await Deno.realPath(`${dir}/race/repo/share`);
        await Deno.remove(checked);
        await Deno.symlink(`${dir}/race/secret`, checked);
        const o = { namespace: ns, resolved: true };
        const up = await copy(kube, `${checked}/id_rsa`, `${ns}/drive-2:/data/stolen`, o).catch((e) => e);
        assertStringIncludes(String(up?.message), "changed after it was checked");
        const down = await copy(kube, `${ns}/drive-2:/data/kodama-cp-test`, `${checked}/planted`, o).catch((
          e,
        ) => e);
        assertStringIncludes(String(down?.message), "changed after it was checked");
        assertEquals(await Deno.lstat(`${dir}/race/secret/planted`).catch(() => "absent"), "absent");
        const there = await k([
          "exec",
          "-n",
          ns,
          "--pod",
          "drive-2",
          "--",
          "sh",
          "-c",
          "ls /data/stolen || echo none",
        ]);
        assertStringIncludes(there.stdout, "none");
      },
    );

    await t.step("a missing remote path is exit 3; two local paths is exit 2", async () => {
      const r = await k(["cp", "-n", ns, "drive-0:/nonexistent/file", `${dir}/x`]);
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
        "/data/kodama-cp-all/",
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
        "/data/kodama-cp-all/hello.txt",
      ]);
      assertEquals(check.code, 0, check.stderr);
      assertEquals(check.stdout.split("\n").filter((l) => l.endsWith("| hello")).length, 3);
    });

    await t.step("--all with a pod-prefixed destination: exit 2, naming what to write", async () => {
      const r = await k(["cp", `${dir}/src/hello.txt`, "-n", ns, "--all", "drive-0:/data/x"]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(
        r.stderr,
        'error: with --all the destination is a path in every matched pod: "drive-0:/data/x" names pod drive-0',
      );
      assertStringIncludes(r.stderr, "\n  write /data/x ");
    });
  } finally {
    kube.close();
    await space.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
