/**
 * The streaming half of the test cluster, proven with the real kubectl: exec (exit codes, stdin,
 * TTY in tmux, 20 MB output, binary stdin), logs/logs -f, port-forward, cp both ways.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { createHash, randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import {
  deleteObjects,
  DEMO,
  KODAMA_TEST_IMAGE,
  KUBECTL,
  kubectl,
  needsTestServer,
  startCluster,
  type TestCluster,
} from "../cluster/harness.ts";
import { tmux } from "./_helpers.ts";

const API_POD = DEMO.apiPods[0];
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** kubectl with raw bytes in and out. */
async function kubectlBytes(c: TestCluster, args: string[], stdin?: Uint8Array) {
  const child = new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", c.kubeconfig, ...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** Spawn a long-running kubectl and read its stdout until `pattern` shows up. */
/**
 * Run kubectl until its output matches `pattern`. `cue`: once the output matches `cue.seen`, `cue.then` runs
 * (once) while the output is still being read, to make what `pattern` waits for happen.
 */
async function kubectlUntil(
  c: TestCluster,
  args: string[],
  pattern: RegExp,
  timeoutMs = 15_000,
  cue?: { seen: RegExp; then: () => Promise<unknown> },
) {
  const child = new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", c.kubeconfig, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const dec = new TextDecoder();
  const deadline = setTimeout(() => reader.cancel(), timeoutMs);
  let cued = !cue;
  try {
    while (!pattern.test(text)) {
      if (!cued && cue!.seen.test(text)) {
        cued = true;
        await cue!.then();
      }
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
  } finally {
    clearTimeout(deadline);
  }
  const match = pattern.exec(text);
  return {
    text,
    match,
    async stop() {
      await reader.cancel().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
    },
  };
}

async function waitFor(
  pred: () => Promise<boolean>,
  what: string,
  detail: () => Promise<string> = () => Promise.resolve(""),
  timeoutMs = 15_000,
) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}\n${await detail()}`);
}

Deno.test({
  name: "cluster streams: kubectl exec/logs/port-forward/cp against the test server",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const c = await startCluster({ seed: "demo" });
    try {
      const ready = await kubectl(c, [
        "wait",
        "--for=condition=Ready",
        "pod",
        "-l",
        "app=api",
        "-n",
        "prod",
        "--timeout=30s",
      ]);
      assertEquals(ready.code, 0, ready.stderr);

      await t.step("exec: stdout and stderr stay apart, exit code 7 reaches kubectl", async () => {
        const r = await kubectl(c, [
          "exec",
          "-n",
          "prod",
          API_POD,
          "--",
          "sh",
          "-c",
          "echo out; echo err >&2; exit 7",
        ]);
        assertEquals(r.code, 7);
        assertEquals(r.stdout, "out\n");
        assertStringIncludes(r.stderr, "err\n");
        assertStringIncludes(r.stderr, "command terminated with exit code 7");
        const h = await kubectl(c, ["exec", "-n", "prod", API_POD, "--", "hostname"]);
        assertEquals(h.stdout, `${API_POD}\n`);
      });

      await t.step("exec -i: piped stdin; binary stdin round trip; 20 MB stdout intact", async () => {
        const r = await kubectl(c, [
          "exec",
          "-i",
          "-n",
          "prod",
          API_POD,
          "--",
          "sh",
          "-c",
          "tr a-z A-Z; echo done",
        ], {
          stdin: "hello stdin\n",
        });
        assertEquals([r.code, r.stdout], [0, "HELLO STDIN\ndone\n"]);
        const bin = randomBytes(2_000_000);
        const echo = await kubectlBytes(c, ["exec", "-i", "-n", "prod", API_POD, "--", "cat"], bin);
        assertEquals(echo.code, 0, echo.stderr);
        assertEquals(sha(echo.stdout), sha(bin));
        const big = await kubectlBytes(c, [
          "exec",
          "-n",
          "prod",
          API_POD,
          "--",
          "sh",
          "-c",
          "head -c 20000000 /dev/zero | tr '\\0' 'k'",
        ]);
        assertEquals(big.stdout.length, 20_000_000);
        assertEquals(sha(big.stdout), sha(Buffer.alloc(20_000_000, "k")));
      });

      await t.step("exec -it in tmux: the terminal size reaches the pod, exit 3 comes back", async () => {
        const sock = `kodama-streams-${Deno.pid}-${Date.now()}`;
        try {
          await tmux(
            sock,
            "new-session",
            "-d",
            "-x",
            "101",
            "-y",
            "31",
            `${KUBECTL} --kubeconfig ${c.kubeconfig} exec -it -n prod ${API_POD} -- sh; echo "EXIT=$?"; sleep 60`,
          );
          await waitFor(async () =>
            (await tmux(sock, "capture-pane", "-p")).includes("#") ||
            (await tmux(sock, "capture-pane", "-p")).includes("$"), "a shell prompt");
          await tmux(sock, "send-keys", "stty size", "Enter");
          await waitFor(
            async () => (await tmux(sock, "capture-pane", "-p")).includes("31 101"),
            "stty size 31 101",
          );
          await tmux(sock, "send-keys", "exit 3", "Enter");
          await waitFor(async () => (await tmux(sock, "capture-pane", "-p")).includes("EXIT=3"), "EXIT=3");
        } finally {
          await tmux(sock, "kill-server");
        }
      });

      await t.step("attach: kubectl run -it --rm gets a TTY shell, its size, and its exit code", async () => {
        const sock = `kodama-attach-${Deno.pid}-${Date.now()}`;
        const pane = () => tmux(sock, "capture-pane", "-p");
        try {
          await tmux(
            sock,
            "new-session",
            "-d",
            "-x",
            "97",
            "-y",
            "29",
            `${KUBECTL} --kubeconfig ${c.kubeconfig} run -n dev -it --rm --restart=Never --image=${KODAMA_TEST_IMAGE} attacher -- sh; echo "EXIT=$?"; sleep 60`,
          );
          await waitFor(
            async () => (await pane()).includes("If you don't see a command prompt"),
            "attach",
            pane,
          );
          // the terminal size travels on its own channel and may land after the first keystrokes
          // (as with a real kubelet): ask until the shell reports it
          await waitFor(
            async () => {
              await tmux(sock, "send-keys", "echo hi-$((6*7)); stty size", "Enter");
              // the shell's answer to these keys, for a moment; without the size yet, the next round asks again
              const shown = (p: string) => p.includes("hi-42") && p.includes("29 97");
              let p = await pane();
              for (const end = Date.now() + 2_000; !shown(p) && Date.now() < end; p = await pane()) {
                await new Promise((r) => setTimeout(r, 100));
              }
              return shown(p);
            },
            "output with the terminal size",
            pane,
          );
          await tmux(sock, "send-keys", "exit 4", "Enter");
          await waitFor(async () => (await pane()).includes("EXIT=4"), "EXIT=4", pane);
        } finally {
          await tmux(sock, "kill-server");
        }
      });

      await t.step("logs and logs -f (sees a line printed later)", async () => {
        // the later line is printed once the follow has seen the first (not after a fixed time, which a
        // loaded machine's follow might start after)
        const go = `/tmp/k-ticker-go-${crypto.randomUUID().slice(0, 8)}`;
        const manifest = JSON.stringify({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "k-ticker", namespace: "dev" },
          spec: {
            containers: [{
              name: "main",
              image: KODAMA_TEST_IMAGE,
              command: [
                "sh",
                "-c",
                `echo started; until [ -e ${go} ]; do sleep 0.1; done; echo later; sleep 600`,
              ],
            }],
          },
        });
        const applied = await kubectl(c, ["apply", "-f", "-"], { stdin: manifest });
        assertEquals(applied.code, 0, applied.stderr);
        await kubectl(c, ["wait", "--for=condition=Ready", "pod/k-ticker", "-n", "dev", "--timeout=20s"]);
        const f = await kubectlUntil(c, ["logs", "-f", "-n", "dev", "k-ticker"], /later\n/, 15_000, {
          seen: /started\n/,
          then: () => kubectl(c, ["exec", "-n", "dev", "k-ticker", "--", "touch", go]),
        });
        await f.stop();
        assertEquals(f.text, "started\nlater\n");
        const tail = await kubectl(c, ["logs", "-n", "dev", "k-ticker", "--tail=1", "--timestamps"]);
        assert(/^\d{4}-\d\d-\d\dT[\d:.]+Z later\n$/.test(tail.stdout), tail.stdout);
        const none = await kubectl(c, ["logs", "-n", "dev", "k-ticker", "--previous"]);
        assertEquals(none.code, 1);
        assertStringIncludes(none.stderr, 'previous terminated container "main" in pod "k-ticker" not found');
      });

      await t.step("port-forward, then an HTTP GET through it answers with the pod name", async () => {
        const pf = await kubectlUntil(
          c,
          ["port-forward", "-n", "prod", `pod/${API_POD}`, ":8080"],
          /Forwarding from 127\.0\.0\.1:(\d+)/,
        );
        try {
          assert(pf.match, pf.text);
          for (let i = 0; i < 2; i++) { // two connections over the same forward
            const res = await fetch(`http://127.0.0.1:${pf.match![1]}/`);
            assertEquals(await res.text(), `${API_POD}\n`);
          }
        } finally {
          await pf.stop();
        }
      });

      await t.step("cp both ways (tar over exec)", async () => {
        const dir = await Deno.makeTempDir();
        try {
          const content = `cp test ${crypto.randomUUID()}\n`;
          await Deno.writeTextFile(`${dir}/in.txt`, content);
          const up = await kubectl(c, ["cp", `${dir}/in.txt`, `prod/${API_POD}:in.txt`]);
          assertEquals(up.code, 0, up.stderr);
          const cat = await kubectl(c, ["exec", "-n", "prod", API_POD, "--", "cat", "in.txt"]);
          assertEquals(cat.stdout, content);
          const down = await kubectl(c, ["cp", `prod/${API_POD}:in.txt`, `${dir}/out.txt`]);
          assertEquals(down.code, 0, down.stderr);
          assertEquals(await Deno.readTextFile(`${dir}/out.txt`), content);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });

      await t.step("a PVC mounted at /workspace: exec and kubectl cp see the pod's path", async () => {
        const manifest = [
          {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: "ws", namespace: "dev" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
          {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "session", namespace: "dev" },
            spec: {
              containers: [{
                name: "main",
                image: KODAMA_TEST_IMAGE,
                command: ["sleep", "1d"],
                workingDir: "/workspace",
                volumeMounts: [{ name: "ws", mountPath: "/workspace" }],
              }],
              volumes: [{ name: "ws", persistentVolumeClaim: { claimName: "ws" } }],
            },
          },
        ].map((o) => JSON.stringify(o)).join("\n");
        const applied = await kubectl(c, ["apply", "-f", "-"], { stdin: manifest });
        assertEquals(applied.code, 0, applied.stderr);
        await kubectl(c, ["wait", "--for=condition=Ready", "pod/session", "-n", "dev", "--timeout=20s"]);
        const dir = await Deno.makeTempDir();
        try {
          await Deno.writeTextFile(`${dir}/notes.md`, "# notes\n");
          const up = await kubectl(c, ["cp", `${dir}/notes.md`, "dev/session:/workspace/notes.md"]);
          assertEquals(up.code, 0, up.stderr);
          const ls = await kubectl(c, [
            "exec",
            "-n",
            "dev",
            "session",
            "--",
            "sh",
            "-c",
            "pwd; cat /workspace/notes.md",
          ]);
          assertStringIncludes(ls.stdout, "# notes\n");
          const down = await kubectl(c, ["cp", "dev/session:/workspace/notes.md", `${dir}/back.md`]);
          assertEquals(down.code, 0, down.stderr);
          assertEquals(await Deno.readTextFile(`${dir}/back.md`), "# notes\n");
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });

      // on a real cluster nothing stays behind (the test server is stopped next anyway)
      await deleteObjects(c, "dev", "pod/k-ticker", "pod/session", "pvc/ws");

      if (needsTestServer(c)) {
        await t.step("stopping the server leaves no pod process behind", async () => {
          const pids = c.runtimePids();
          assert(pids.length >= 8, `pod processes: ${pids.length}`);
          await c.stop();
          const alive = pids.filter((p) => {
            try {
              Deno.kill(p, "SIGCONT");
              return !Deno.readTextFileSync(`/proc/${p}/stat`).includes(") Z ");
            } catch {
              return false;
            }
          });
          assertEquals(alive, []);
        });
      }
    } finally {
      await deleteObjects(c, "dev", "pod/k-ticker", "pod/session", "pvc/ws");
      await c.stop();
    }
  },
});
