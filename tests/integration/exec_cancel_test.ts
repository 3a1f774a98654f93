/**
 * A command cut off — `--timeout`, `--fail-fast`, Ctrl-C, a reader that stops early (`| head`) — is
 * ended in its pod, and the summary says so: closing an exec stream leaves the process running on a
 * real cluster (and on the test server, which behaves the same; see exec-close semantics below).
 * Every check looks at `ps` in the pods, through exec, for a command line unique to this run.
 * Also: the exec-close semantics themselves — no kill without a TTY; a TTY hangs up (SIGHUP only).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { needsTestServer, tempNamespace, waitUntil } from "../cluster/harness.ts";
import { firstChunkThenClose, runKodama, spawnKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { execInPod } from "../../src/kube/exec.ts";
import { waitForPods } from "../../src/pods/wait.ts";
import { busyboxPod } from "./_helpers.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** The command lines in `pod` that contain `token` (the ps process itself excluded). */
async function running(kube: Kube, ns: string, pod: string, token: string): Promise<string[]> {
  let out = "";
  const r = await execInPod(kube, ns, pod, "main", ["ps", "-o", "args"], {
    stdout: (b) => {
      out += new TextDecoder().decode(b);
    },
  });
  assertEquals(r.exitCode, 0, r.error);
  return out.split("\n").filter((l) => l.includes(token) && !l.includes("ps -o"));
}

async function noneLeft(kube: Kube, ns: string, pods: string[], token: string, what: string) {
  // the kill is over when kodama returns; a process may take a moment to disappear from ps
  await waitUntil(
    async () => {
      for (const p of pods) if ((await running(kube, ns, p, token)).length) return false;
      return true;
    },
    10_000,
    `no "${token}" left in the pods after ${what}`,
  );
}

clusterTest(
  "cut-off commands are ended in their pods, and the summary says so",
  { seed: "none" },
  async (t, c) => {
    const ns = await tempNamespace(c, "fidelity-cancel");
    const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
    const pods = ["cut-a", "cut-b", "cut-c"];
    const run = (args: string[]) => runKodama(["--kubeconfig", c.kubeconfig, "-n", ns.name, ...args]);
    // a command line nobody else has, so ps in a pod (the test server's shows every host process) finds only ours
    const token = (n: number) => `${1000 + n}.${Math.floor(Math.random() * 1e6)}`;
    try {
      for (const p of pods) {
        await kube.createObject("pods", ns.name, busyboxPod(p, { labels: { app: "cut" }, dir: "/data" }));
      }
      await waitForPods(kube, { namespace: ns.name, selector: "app=cut" }, {
        for: "ready",
        timeoutMs: 60_000,
      });

      await t.step("--timeout in a fan-out: timed out, ended in the pod", async () => {
        const tk = token(1);
        const r = await run(["exec", "-l", "app=cut", "--all", "--timeout", "1s", "--", "sleep", tk]);
        assertEquals(r.code, 5, r.stderr);
        for (const p of pods) assertStringIncludes(r.stderr, `${p}: timed out after 1s; ended in the pod`);
        await noneLeft(kube, ns.name, pods, `sleep ${tk}`, "--timeout");
      });

      await t.step("--fail-fast: the others are cancelled and ended in their pods", async () => {
        const tk = token(2);
        // cut-a fails only once the others' commands run (it waits for /data/go, made when both said go):
        // failing first, on a loaded machine, it cancelled them before they started, with nothing to end
        const child = spawnKodama([
          "--kubeconfig",
          c.kubeconfig,
          "-n",
          ns.name,
          "exec",
          "-l",
          "app=cut",
          "--all",
          "--fail-fast",
          "--",
          "sh",
          "-c",
          `if [ "$(hostname)" = cut-a ]; then until [ -e /data/go ]; do sleep 0.1; done; exit 3; fi; ` +
          `echo go; exec sleep ${tk}`,
        ]);
        const errP = new Response(child.stderr).text();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let out = "";
        while ((out.match(/\| go\n/g) ?? []).length < 2) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
        }
        const go = await execInPod(kube, ns.name, "cut-a", "main", ["touch", "/data/go"]);
        assertEquals(go.exitCode, 0, go.error);
        while (!(await reader.read()).done) { /* drain */ }
        const { code } = await child.status;
        const stderr = await errP;
        assertEquals(code, 1, stderr);
        assertStringIncludes(stderr, "cut-a: exit code 3");
        for (const p of ["cut-b", "cut-c"]) {
          assertStringIncludes(stderr, `${p}: cancelled (--fail-fast); ended in the pod`);
        }
        await noneLeft(kube, ns.name, pods, `sleep ${tk}`, "--fail-fast");
      });

      await t.step("Ctrl-C during a fan-out: exit 130, every command ended", async () => {
        const tk = token(3);
        const child = spawnKodama([
          "--kubeconfig",
          c.kubeconfig,
          "-n",
          ns.name,
          "exec",
          "-l",
          "app=cut",
          "--all",
          "--",
          "sh",
          "-c",
          `echo go; exec sleep ${tk}`,
        ]);
        const errP = new Response(child.stderr).text();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let out = "";
        while ((out.match(/\| go\n/g) ?? []).length < pods.length) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
        }
        child.kill("SIGINT");
        while (!(await reader.read()).done) { /* drain */ }
        const { code } = await child.status;
        const stderr = await errP;
        assertEquals(code, 130, stderr);
        assertStringIncludes(stderr, "interrupted");
        assertStringIncludes(stderr, "cancelled; ended in the pod");
        await noneLeft(kube, ns.name, pods, `sleep ${tk}`, "Ctrl-C");
      });

      await t.step("a reader that stops early (| head): quiet exit 0, the commands ended", async () => {
        const tk = token(4);
        const fan = await firstChunkThenClose([
          "--kubeconfig",
          c.kubeconfig,
          "-n",
          ns.name,
          "exec",
          "-l",
          "app=cut",
          "--all",
          "--",
          "sh",
          "-c",
          `while :; do echo ${tk}; done`,
        ]);
        assertEquals(fan.code, 0, fan.stderr);
        assertEquals(fan.stderr, "");
        const one = await firstChunkThenClose([
          "--kubeconfig",
          c.kubeconfig,
          "-n",
          ns.name,
          "exec",
          "--pod",
          "cut-a",
          "--",
          "seq",
          "1",
          tk.replace(".", ""),
        ]);
        assertEquals(one.code, 0, one.stderr);
        await noneLeft(kube, ns.name, pods, `echo ${tk}`, "| head (fan-out)");
        await noneLeft(kube, ns.name, ["cut-a"], `seq 1 ${tk.replace(".", "")}`, "| head (one pod)");
      });

      await t.step("exec --timeout in one pod: exit 5, and it says the command was ended", async () => {
        const tk = token(5);
        const r = await run(["exec", "--pod", "cut-b", "--timeout", "1s", "--", "sleep", tk]);
        assertEquals(r.code, 5, r.stderr);
        assertStringIncludes(r.stderr, "timed out after 1s in pod cut-b; the command was ended in the pod");
        await noneLeft(kube, ns.name, ["cut-b"], `sleep ${tk}`, "exec --timeout");
      });

      await t.step(
        "exec -i --timeout: the command, a child of the shell that holds its output, is ended",
        async () => {
          const tk = token(7);
          const r = await run(["exec", "-i", "--pod", "cut-b", "--timeout", "1s", "--", "sleep", tk]);
          assertEquals(r.code, 5, r.stderr);
          assertStringIncludes(r.stderr, "timed out after 1s in pod cut-b; the command was ended in the pod");
          await noneLeft(kube, ns.name, ["cut-b"], `sleep ${tk}`, "exec -i --timeout");
        },
      );

      await t.step(
        "closing a stream without a TTY does not kill the command (as on a real cluster)",
        async () => {
          const tk = token(6);
          const ac = new AbortController();
          const started = execInPod(kube, ns.name, "cut-c", "main", ["sleep", tk], {
            signal: ac.signal,
            endOnAbort: false, // the raw protocol: just close the stream
            onOpen: () => setTimeout(() => ac.abort(), 300),
          });
          const r = await started;
          assertEquals(r.errorKind, "aborted");
          // still there a moment later: closing the stream is no kill
          await new Promise((res) => setTimeout(res, 500));
          const left = await running(kube, ns.name, "cut-c", `sleep ${tk}`);
          assertEquals(left.length, 1, "the process outlives its stream");
          // ([s]: the pattern must not match this shell's own command line)
          const k = await run(["exec", "--pod", "cut-c", "--", "sh", "-c", `pkill -f "[s]leep ${tk}"; true`]);
          assertEquals(k.code, 0, k.stderr);
        },
      );

      await t.step("closing a TTY session hangs it up: SIGHUP, and no other signal", async () => {
        // test server only: a v1.24 kubelet with containerd 1.6 keeps the pty open when the stream closes,
        // so nothing is hung up there (the shell stays, as after kubectl exec -it); see tests/cluster/README.md
        if (!needsTestServer(c)) return;
        const tk = token(7);
        const ac = new AbortController();
        const script =
          `trap 'echo hup > /data/hup-${tk}' HUP; echo trapped; while :; do sleep 1; done # ${tk}`;
        let out = "";
        const r = await execInPod(kube, ns.name, "cut-c", "main", ["sh", "-c", script], {
          tty: true,
          stdin: new ReadableStream({ start() {} }),
          signal: ac.signal,
          // hang up once the trap is set
          stdout: (b) => {
            out += new TextDecoder().decode(b);
            if (out.includes("trapped")) ac.abort();
          },
        });
        assertEquals(r.errorKind, "aborted");
        let seen = "";
        await waitUntil(
          async () => {
            seen = "";
            await execInPod(kube, ns.name, "cut-c", "main", ["cat", `/data/hup-${tk}`], {
              stdout: (b) => {
                seen += new TextDecoder().decode(b);
              },
            });
            return seen === "hup\n";
          },
          10_000,
          "the hang-up trap to run",
        );
        // the trap caught SIGHUP, so the shell is still there: nothing else killed it
        const left = await running(kube, ns.name, "cut-c", `# ${tk}`);
        assert(left.length >= 1, "only SIGHUP was sent");
        await run(["exec", "--pod", "cut-c", "--", "sh", "-c", `pkill -9 -f "[#] ${tk}"; true`]);
      });
    } finally {
      kube.close();
      await ns.remove();
    }
  },
);
