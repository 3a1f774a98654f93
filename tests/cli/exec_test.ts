/**
 * Black-box `kodama exec` / `kpod` against the demo test cluster: exit codes, choosing, stdin and
 * large binary-safe output.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { DEMO } from "../cluster/harness.ts";
import { CONFIG, firstChunkThenClose, hasStackTrace, MAIN, runKodama, spawnKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

clusterTest(
  "kodama exec (kpod): exit codes, choosing, stdin, large output",
  { seed: "demo" },
  async (t, c) => {
    const k = (args: string[], opts: { stdin?: string | Uint8Array } = {}) =>
      runKodama(["--kubeconfig", c.kubeconfig, ...args], opts);
    /** `kodama exec [flags] --pod weka-drive-0 -- cmd...` */
    const onDrive0 = (flags: string[], ...cmd: string[]) => [
      "--kubeconfig",
      c.kubeconfig,
      "exec",
      ...flags,
      "-n",
      DEMO.wekaNamespace,
      "--pod",
      "weka-drive-0",
      "--",
      ...cmd,
    ];
    await t.step("kpod -m drive-1 -- weka version prints the version, exit 0", async () => {
      const r = await k(["exec", "-n", DEMO.wekaNamespace, "-m", "drive-1", "--", "weka", "version"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim(), DEMO.wekaVersion);
    });

    await t.step("the remote exit code is kodama's", async () => {
      const r = await k([
        "exec",
        "-n",
        DEMO.wekaNamespace,
        "-m",
        "drive-1",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
      ]);
      assertEquals(r.code, 7);
      assertEquals(r.stdout, "out\n");
      assertEquals(r.stderr, "err\n");
    });

    await t.step("nothing matched: exit 3 naming namespace and filters", async () => {
      const r = await k(["exec", "-n", DEMO.wekaNamespace, "-m", "nomatch", "--", "true"]);
      assertEquals(r.code, 3);
      assertStringIncludes(r.stderr, `namespace ${DEMO.wekaNamespace}`);
      assertStringIncludes(r.stderr, `"nomatch"`);
      assert(!hasStackTrace(r.stderr));
    });

    await t.step(
      "several matches without a TTY: exit 2 listing candidates and the deciding flags",
      async () => {
        const r = await k(["exec", "-n", DEMO.wekaNamespace, "-m", "drive", "--", "true"]);
        assertEquals(r.code, 2);
        for (const p of ["weka-drive-0", "weka-drive-1", "weka-drive-2"]) assertStringIncludes(r.stderr, p);
        for (const f of ["--all", "--first", "--pick"]) assertStringIncludes(r.stderr, f);
      },
    );

    await t.step("--first runs in the first pod by name", async () => {
      const r = await k(["exec", "-n", DEMO.wekaNamespace, "-m", "drive", "--first", "--", "hostname"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim(), "weka-drive-0");
    });

    await t.step("the restricted user in prod: exit 4", async () => {
      const r = await k(["--context", "dev", "exec", "-n", "prod", "-m", "api", "--", "true"]);
      assertEquals(r.code, 4);
      assertStringIncludes(r.stderr, "forbidden");
      assertStringIncludes(r.stderr, "prod");
    });

    await t.step("unknown container lists the real ones (exit 3)", async () => {
      const r = await k(["exec", "-n", "prod", "--pod", DEMO.webPod, "-c", "nope", "--", "true"]);
      assertEquals(r.code, 3);
      assertStringIncludes(r.stderr, "web, sidecar");
    });

    await t.step("default-container annotation picks the container", async () => {
      const r = await k(["exec", "-n", "prod", "--pod", DEMO.webPod, "-o", "json", "--", "true"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(JSON.parse(r.stdout.trim()).container, "web");
    });

    await t.step("-i: stdin round-trips binary bytes (NUL) and EOF reaches the remote", async () => {
      const r = await runKodama(onDrive0(["-i"], "cat"), { stdin: new Uint8Array([0x61, 0x00, 0x62]) });
      assertEquals(r.code, 0, r.stderr);
      assertEquals([...new TextEncoder().encode(r.stdout)], [0x61, 0x00, 0x62]);
    });

    await t.step("-i < a regular file: every byte, from where the shell left the file's offset", async () => {
      // a file is read synchronously (src/pods/exec.ts): it must be the same descriptor, not the file again
      const dir = await Deno.makeTempDir({ prefix: "kodama-exec-file-" });
      try {
        const file = `${dir}/in.bin`;
        const data = new Uint8Array(3 << 20).map((_, i) => (i * 131 + (i >> 12)) & 255);
        await Deno.writeFile(file, data);
        const kodama = [
          Deno.execPath(),
          "run",
          "-A",
          "--no-prompt",
          "--config",
          CONFIG,
          MAIN,
          ...onDrive0(["-i"], "cat"),
        ]
          .map((a) => `'${a}'`).join(" ");
        const whole = await new Deno.Command("sh", {
          args: ["-c", `${kodama} < '${file}'`],
          stdout: "piped",
          stderr: "piped",
        })
          .output();
        assertEquals(whole.code, 0, new TextDecoder().decode(whole.stderr));
        assertEquals(whole.stdout.length, data.length);
        assert(whole.stdout.every((b, i) => b === data[i]), "the bytes came back unchanged");
        // the first 5 bytes already read by the shell: kodama sends the rest
        const rest = await new Deno.Command("sh", {
          args: ["-c", `{ head -c 5 >/dev/null; ${kodama}; } < '${file}'`],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assertEquals(rest.code, 0, new TextDecoder().decode(rest.stderr));
        assertEquals(rest.stdout.length, data.length - 5);
        assertEquals(rest.stdout.subarray(0, 16), data.subarray(5, 21));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("-i: 4 MB of random bytes through cat arrive identical", async () => {
      const data = new Uint8Array(4 << 20);
      for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
      const child = spawnKodama(onDrive0(["-i"], "cat"), { stdin: "piped" });
      // read while writing: a pipe reader that waits for EOF before reading would deadlock any `cat`
      const outP = child.output();
      const w = child.stdin.getWriter();
      await w.write(data);
      await w.close();
      const out = await outP;
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertEquals(out.stdout.length, data.length);
      assertEquals(await sha256(out.stdout), await sha256(data));
    });

    await t.step("20 MB of stdout arrives byte-identical", async () => {
      const script = "seq 1 2900000";
      const r = await spawnKodama(onDrive0([], "sh", "-c", script)).output();
      assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
      const local = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).output();
      assert(local.stdout.length > 20e6, `only ${local.stdout.length} bytes`);
      assertEquals(r.stdout.length, local.stdout.length);
      assertEquals(await sha256(r.stdout), await sha256(local.stdout));
    });

    await t.step("--tmux without tmux installed: a clear error, exit 2", async () => {
      const r = await runKodama(
        ["--kubeconfig", c.kubeconfig, "exec", "-n", DEMO.wekaNamespace, "-m", "drive", "--tmux"],
        { env: { PATH: "/nonexistent" } },
      );
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, "tmux is not installed");
    });

    await t.step("usage: no command -> exit 2", async () => {
      const r = await k(["exec", "-n", DEMO.wekaNamespace, "-m", "drive-1"]);
      assertEquals(r.code, 2);
      assertMatch(r.stderr, /no command given/);
    });

    await t.step("a reader that stops early (| head) ends kodama quietly with 0", async () => {
      for (
        const args of [
          ["exec", "-n", DEMO.wekaNamespace, "--all", "--", "sh", "-c", "seq 1 200000"],
          ["pods", "-A", "-o", "yaml"],
        ]
      ) {
        const r = await firstChunkThenClose(["--kubeconfig", c.kubeconfig, ...args]);
        assertEquals(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assert(r.firstChunk.length > 0, "some output arrived before the pipe closed");
        assertEquals(r.stderr, "", args.join(" "));
      }
    });
  },
);

async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}
